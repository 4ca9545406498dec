// LoRA (Hu et al. 2021) as PEFT implements it, on the project's Linear layer:
//   y = x W^T + b + scaling * B(A(dropout(x))),  scaling = alpha / r  (alpha / sqrt(r) with
//   rsLoRA), A [r, in] kaiming-uniform, B [out, r] zero, so a fresh adapter is a no-op.
//
//   x ──► W,b ─────────────────┐
//   └──► dropout ─► A ─► B ─► ×scaling ─► + ─► y
//
// Adapters keep fp32 weights. On an fp32 input the adapter runs in fp32 (PEFT's arithmetic);
// on a bf16/fp16 input (the 7B on the GPU) it runs in the input's dtype with its weights
// cast per call, which is what autocast does to PEFT's fp32 adapter: no fp32 copy of the
// activations is made or kept for backward, and B's product, the scaling and the residual
// add are one addmm. Outside autograd the cast weights are cached until the optimizer
// changes the parameter (its version counter), so a decoding step launches two kernels
// per adapter.
//
// Every learnable linear layer of the model is a LoraLinear (parameter names "weight",
// "bias" like torch::nn::Linear, adapters "lora_A.weight" / "lora_B.weight" like PEFT), so
// adapters attach by module-name matching exactly as PEFT's target_modules does.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace svln::model {

struct LoraConfig {
  int64_t r = 32;
  double alpha = 64.0;
  double dropout = 0.05;
  // PEFT semantics: a module matches when its name equals an entry or ends with "." + entry.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  // When non-empty, a regex that must match the whole module name (PEFT's string form).
  std::string target_regex;
  bool use_rslora = false;
  uint64_t seed = 0;  // A's initialisation

  double scaling() const;
};

class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias);
  at::Tensor forward(const at::Tensor& x);

  // Adds an adapter; A drawn from `gen` (kaiming-uniform, a = sqrt(5)), B zero.
  void addAdapter(int64_t r, double scaling, double dropout, at::Generator& gen);
  bool hasAdapter() const { return !lora_A.is_empty(); }
  // Switch used for the reference policy: with false, forward is the base layer.
  void setAdapterEnabled(bool on) { adapter_enabled_ = on; }
  bool adapterEnabled() const { return adapter_enabled_; }
  // W += scaling * B A, then the adapter is removed (export as a plain checkpoint).
  void merge();
  void removeAdapter();

  int64_t in_features, out_features;
  double scaling = 1.0, dropout = 0.0;
  // A reduced-precision copy of an adapter weight for calls without autograd.
  struct CastCache {
    at::Tensor tensor;
    const void* source = nullptr;
    int64_t version = -1;
  };
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
  torch::nn::Linear lora_A{nullptr};  // [r, in]
  torch::nn::Linear lora_B{nullptr};  // [out, r]

 private:
  at::Tensor adapterWeight(const at::Tensor& w, c10::ScalarType dtype, CastCache& cache);
  bool adapter_enabled_ = true;
  CastCache cast_a_, cast_b_;
};
TORCH_MODULE(LoraLinear);

// RAII: LoraLinear layers built in this scope leave their weight and bias uninitialised
// (torch.nn.utils.skip_init), for a large model whose weights are loaded or drawn on the
// device right after: drawing 7 B numbers on the host costs minutes.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;
  static bool active();

 private:
  bool previous_;
};

// PEFT's target matching for one module name (see LoraConfig::target_modules).
bool loraNameMatches(const std::string& name, const LoraConfig& config);
// Names (as in root.named_modules()) of the LoraLinear modules `config` targets.
std::vector<std::string> loraTargets(torch::nn::Module& root, const LoraConfig& config);
// Adds adapters to the targeted modules, freezes every other parameter; returns the
// names adapted. Throws when nothing matches.
std::vector<std::string> applyLora(torch::nn::Module& root, const LoraConfig& config);
// Enables/disables all adapters under root (disabled = the frozen base model).
void setLoraEnabled(torch::nn::Module& root, bool enabled);
// Merges all adapters into their base weights and removes them.
void mergeLora(torch::nn::Module& root);

// RAII: adapters off for a scope (reference-policy forward for the KL term).
class LoraDisabledGuard {
 public:
  explicit LoraDisabledGuard(torch::nn::Module& root);
  ~LoraDisabledGuard();
  LoraDisabledGuard(const LoraDisabledGuard&) = delete;
  LoraDisabledGuard& operator=(const LoraDisabledGuard&) = delete;

 private:
  torch::nn::Module& root_;
};

// LoRA parameters added to one [out, in] linear: r * (in + out).
inline int64_t loraParamsPerLinear(int64_t r, int64_t in, int64_t out) { return r * (in + out); }

}  // namespace svln::model
