// bf16 autocast on CUDA for a scope (matmuls in bf16, reductions in fp32), hiding the
// API change between libtorch 1.13 (set_enabled / set_autocast_gpu_dtype) and >= 2.4
// (set_autocast_enabled / set_autocast_dtype per device type). A no-op when disabled.
#pragma once

namespace svln::model {

class AutocastBf16Guard {
 public:
  explicit AutocastBf16Guard(bool enabled = true);
  ~AutocastBf16Guard();
  AutocastBf16Guard(const AutocastBf16Guard&) = delete;
  AutocastBf16Guard& operator=(const AutocastBf16Guard&) = delete;

 private:
  bool active_ = false;
  bool prev_enabled_ = false;
  int prev_dtype_ = 0;
};

}  // namespace svln::model
