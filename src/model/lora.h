// LoRA (Hu et al. 2021) as PEFT implements it, on the project's Linear layer:
//   y = x W^T + b + scaling * B(A(dropout(x))),  scaling = alpha / r  (alpha / sqrt(r) with
//   rsLoRA), A [r, in] kaiming-uniform, B [out, r] zero, so a fresh adapter is a no-op.
//
//   x ──► W,b ─────────────────┐
//   └──► dropout ─► A ─► B ─► ×scaling ─► + ─► y
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
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
  torch::nn::Linear lora_A{nullptr};  // [r, in]
  torch::nn::Linear lora_B{nullptr};  // [out, r]

 private:
  bool adapter_enabled_ = true;
};
TORCH_MODULE(LoraLinear);

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
