#include "model/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace svln::model {
namespace {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cudaEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void setCudaEnabled(bool on) { at::autocast::set_autocast_enabled(at::kCUDA, on); }
at::ScalarType cudaDtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
void setCudaDtype(at::ScalarType t) { at::autocast::set_autocast_dtype(at::kCUDA, t); }
#else
bool cudaEnabled() { return at::autocast::is_enabled(); }
void setCudaEnabled(bool on) { at::autocast::set_enabled(on); }
at::ScalarType cudaDtype() { return at::autocast::get_autocast_gpu_dtype(); }
void setCudaDtype(at::ScalarType t) { at::autocast::set_autocast_gpu_dtype(t); }
#endif
}  // namespace

AutocastBf16Guard::AutocastBf16Guard(bool enabled) : active_(enabled) {
  if (!active_) return;
  prev_enabled_ = cudaEnabled();
  prev_dtype_ = static_cast<int>(cudaDtype());
  setCudaDtype(at::kBFloat16);
  setCudaEnabled(true);
}

AutocastBf16Guard::~AutocastBf16Guard() {
  if (!active_) return;
  setCudaEnabled(prev_enabled_);
  setCudaDtype(static_cast<at::ScalarType>(prev_dtype_));
  if (!prev_enabled_) at::autocast::clear_cache();  // cached casts of weights
}

}  // namespace svln::model
