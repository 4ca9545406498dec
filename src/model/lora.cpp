#include "model/lora.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/linear.h>

#include <cmath>
#include <regex>
#include <stdexcept>

namespace svln::model {

double LoraConfig::scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

namespace {
thread_local bool skip_init = false;
}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skip_init) { skip_init = true; }
SkipInitGuard::~SkipInitGuard() { skip_init = previous_; }
bool SkipInitGuard::active() { return skip_init; }

LoraLinearImpl::LoraLinearImpl(int64_t in, int64_t out, bool with_bias)
    : in_features(in), out_features(out) {
  // torch::nn::Linear's default initialisation: U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = at::empty({out, in});
  if (!skip_init) weight.uniform_(-bound, bound);
  weight = register_parameter("weight", weight);
  if (with_bias) {
    bias = at::empty({out});
    if (!skip_init) bias.uniform_(-bound, bound);
    bias = register_parameter("bias", bias);
  }
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = torch::nn::functional::linear(x, weight, bias);
  if (!hasAdapter() || !adapter_enabled_) return y;
  const c10::ScalarType adapter_t = lora_A->weight.scalar_type();
  const c10::ScalarType x_t = x.scalar_type();
  const bool reduced = x_t != adapter_t && y.scalar_type() == x_t &&
                       (x_t == at::kBFloat16 || x_t == at::kHalf);
  if (!reduced) {
    at::Tensor h = x.to(adapter_t);
    if (dropout > 0.0 && is_training()) h = at::dropout(h, dropout, true);
    return y + (lora_B(lora_A(h)) * scaling).to(y.scalar_type());
  }
  at::Tensor h = x;
  if (dropout > 0.0 && is_training()) h = at::dropout(h, dropout, true);
  const at::Tensor low = at::linear(h, adapterWeight(lora_A->weight, x_t, cast_a_));  // [.., r]
  const at::Tensor b_t = adapterWeight(lora_B->weight, x_t, cast_b_).t();               // [r, out]
  // y + scaling * low B^T as one GEMM with accumulate.
  return at::addmm(y.reshape({-1, out_features}), low.reshape({-1, low.size(-1)}), b_t, 1.0,
                   scaling)
      .view(y.sizes());
}

at::Tensor LoraLinearImpl::adapterWeight(const at::Tensor& w, c10::ScalarType dtype,
                                         CastCache& cache) {
  if (at::GradMode::is_enabled() && w.requires_grad()) return w.to(dtype);  // in the graph
  const int64_t version = static_cast<int64_t>(w._version());
  if (!cache.tensor.defined() || cache.source != w.data_ptr() || cache.version != version ||
      cache.tensor.scalar_type() != dtype || cache.tensor.device() != w.device()) {
    at::NoGradGuard no_grad;
    cache.tensor = w.to(dtype);
    cache.source = w.data_ptr();
    cache.version = version;
  }
  return cache.tensor;
}

void LoraLinearImpl::addAdapter(int64_t r, double scale, double p, at::Generator& gen) {
  if (hasAdapter()) throw std::logic_error("LoraLinear: adapter already present");
  if (r <= 0) throw std::invalid_argument("LoRA rank must be positive");
  auto fp32 = at::TensorOptions().dtype(at::kFloat);
  lora_A = register_module("lora_A", torch::nn::Linear(
      torch::nn::LinearOptions(in_features, r).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(
      torch::nn::LinearOptions(r, out_features).bias(false)));
  // kaiming_uniform_(a=sqrt(5)): bound = sqrt(6 / ((1 + a^2) fan_in)) = 1 / sqrt(fan_in).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  at::NoGradGuard no_grad;
  lora_A->weight.set_data(at::empty({r, in_features}, fp32).uniform_(-bound, bound, gen)
                              .to(weight.device()));
  lora_B->weight.set_data(at::zeros({out_features, r}, fp32.device(weight.device())));
  lora_A->train(is_training());
  lora_B->train(is_training());
  scaling = scale;
  dropout = p;
}

void LoraLinearImpl::merge() {
  if (!hasAdapter()) return;
  at::NoGradGuard no_grad;
  at::Tensor delta = at::matmul(lora_B->weight, lora_A->weight) * scaling;  // [out, in]
  weight.add_(delta.to(weight.scalar_type()));
  removeAdapter();
}

void LoraLinearImpl::removeAdapter() {
  if (!hasAdapter()) return;
  unregister_module("lora_A");
  unregister_module("lora_B");
  cast_a_ = cast_b_ = CastCache{};
  lora_A = torch::nn::Linear(nullptr);
  lora_B = torch::nn::Linear(nullptr);
}

bool loraNameMatches(const std::string& name, const LoraConfig& config) {
  if (!config.target_regex.empty()) return std::regex_match(name, std::regex(config.target_regex));
  for (const auto& t : config.target_modules) {
    if (name == t) return true;
    if (name.size() > t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0 &&
        name[name.size() - t.size() - 1] == '.')
      return true;
  }
  return false;
}

namespace {

template <typename Fn>
void forEachLora(torch::nn::Module& root, Fn fn) {
  for (const auto& item : root.named_modules("", /*include_self=*/false))
    if (auto* lin = dynamic_cast<LoraLinearImpl*>(item.value().get())) fn(item.key(), *lin);
}

}  // namespace

std::vector<std::string> loraTargets(torch::nn::Module& root, const LoraConfig& config) {
  std::vector<std::string> names;
  forEachLora(root, [&](const std::string& name, LoraLinearImpl&) {
    if (loraNameMatches(name, config)) names.push_back(name);
  });
  return names;
}

std::vector<std::string> applyLora(torch::nn::Module& root, const LoraConfig& config) {
  std::vector<std::string> names = loraTargets(root, config);
  if (names.empty()) throw std::runtime_error("LoRA: no module matches the target modules");
  for (auto& p : root.parameters()) p.set_requires_grad(false);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  forEachLora(root, [&](const std::string& name, LoraLinearImpl& lin) {
    if (!loraNameMatches(name, config)) return;
    lin.addAdapter(config.r, config.scaling(), config.dropout, gen);
  });
  spdlog::debug("LoRA r={} alpha={} on {} modules", config.r, config.alpha, names.size());
  return names;
}

void setLoraEnabled(torch::nn::Module& root, bool enabled) {
  forEachLora(root, [&](const std::string&, LoraLinearImpl& lin) { lin.setAdapterEnabled(enabled); });
}

void mergeLora(torch::nn::Module& root) {
  forEachLora(root, [&](const std::string&, LoraLinearImpl& lin) { lin.merge(); });
}

LoraDisabledGuard::LoraDisabledGuard(torch::nn::Module& root) : root_(root) {
  setLoraEnabled(root_, false);
}

LoraDisabledGuard::~LoraDisabledGuard() { setLoraEnabled(root_, true); }

}  // namespace svln::model
