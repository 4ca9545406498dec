#include "model/checkpoint.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <map>
#include <sstream>
#include <stdexcept>

namespace svln::model {
namespace {

bool isAdapterName(const std::string& name) {
  return name.find("lora_A.") != std::string::npos || name.find("lora_B.") != std::string::npos;
}

std::string shapeString(at::IntArrayRef s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

std::string joinNames(const std::vector<std::string>& names, size_t max_shown = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max_shown) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// Full checkpoint name -> the module's tensor (parameters and buffers).
template <typename Route>
std::map<std::string, at::Tensor> routedTensors(const std::vector<Route>& routes) {
  std::map<std::string, at::Tensor> out;
  for (const auto& r : routes) {
    for (const auto& p : r.module->named_parameters(true)) out[r.prefix + p.key()] = p.value();
    for (const auto& b : r.module->named_buffers(true)) out[r.prefix + b.key()] = b.value();
  }
  return out;
}

// The route a checkpoint name belongs to: the longest prefix that matches.
const CheckpointRoute* routeOf(const std::string& name, const std::vector<CheckpointRoute>& routes) {
  const CheckpointRoute* best = nullptr;
  for (const auto& r : routes)
    if (name.compare(0, r.prefix.size(), r.prefix) == 0 &&
        (!best || r.prefix.size() > best->prefix.size()))
      best = &r;
  return best;
}

}  // namespace

LoadReport loadCheckpointInto(const SafetensorsCheckpoint& checkpoint, const std::string& source,
                              const std::vector<CheckpointRoute>& routes,
                              const LoadOptions& options) {
  for (const auto& r : routes) r.module->to(options.device, options.dtype);
  std::map<std::string, at::Tensor> targets = routedTensors(routes);
  // Adapter weights come from adapter files (peft.h), never from the base checkpoint.
  for (auto it = targets.begin(); it != targets.end();) {
    it = isAdapterName(it->first) ? targets.erase(it) : std::next(it);
  }
  LoadReport report;
  at::NoGradGuard no_grad;
  for (const auto& name : checkpoint.names()) {
    const CheckpointRoute* route = routeOf(name, routes);
    auto it = route ? targets.find(name) : targets.end();
    if (it == targets.end()) {
      report.unexpected.push_back(name);
      continue;
    }
    at::Tensor& target = it->second;
    const TensorInfo& info = checkpoint.info(name);
    if (at::IntArrayRef(info.shape) != target.sizes())
      throw std::runtime_error(source + ": tensor '" + name + "': checkpoint shape " +
                               shapeString(info.shape) + " but the model expects " +
                               shapeString(target.sizes()));
    // Buffers keep their own dtype (e.g. integer ids); parameters take options.dtype.
    at::Tensor value = checkpoint.load(name, target.scalar_type(), target.device());
    target.set_data(value);
    report.loaded.push_back(name);
    targets.erase(it);
  }
  if (!targets.empty()) {
    std::vector<std::string> missing;
    for (const auto& kv : targets) missing.push_back(kv.first);
    throw std::runtime_error(source + ": missing tensors: " + joinNames(missing));
  }
  if (!report.unexpected.empty())
    spdlog::warn("{}: {} unexpected tensors ignored: {}", source, report.unexpected.size(),
                 joinNames(report.unexpected));
  return report;
}

NamedTensors checkpointTensors(const std::vector<SaveRoute>& routes, c10::ScalarType dtype) {
  NamedTensors out;
  for (const auto& [name, t] : routedTensors(routes)) {
    if (isAdapterName(name)) continue;
    out.emplace_back(name, at::isFloatingType(t.scalar_type()) ? t.detach().to(dtype) : t.detach());
  }
  return out;
}

void saveCheckpoint(const std::string& dir, const ModelConfig& config,
                    const std::vector<SaveRoute>& routes, c10::ScalarType dtype,
                    uint64_t max_shard_bytes) {
  ::mkdir(dir.c_str(), 0755);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(dir + ": cannot create checkpoint directory");
  ModelConfig c = config;
  c.text.torch_dtype = scalarTypeName(dtype);
  saveSafetensorsCheckpoint(dir, checkpointTensors(routes, dtype), max_shard_bytes);
  saveModelConfig(c, dir + "/config.json");
}

Qwen2ForCausalLM loadQwen2(const std::string& dir, const LoadOptions& options,
                           ModelConfig* config_out, LoadReport* report_out) {
  ModelConfig config = loadModelConfig(dir);
  Qwen2ForCausalLM lm(config.text);
  SafetensorsCheckpoint checkpoint(dir);
  std::vector<CheckpointRoute> routes{{"", lm.get()}};
  LoadReport report = loadCheckpointInto(checkpoint, dir, routes, options);
  lm->eval();
  ParamCount n = countParameters(*lm);
  spdlog::info("{}: Qwen2 {} layers, {:.1f} M parameters, {} tensors loaded", dir,
               config.text.num_hidden_layers, n.total / 1e6, report.loaded.size());
  if (config_out) *config_out = config;
  if (report_out) *report_out = report;
  return lm;
}

ParamCount countParameters(const torch::nn::Module& module) {
  ParamCount c;
  for (const auto& p : module.parameters(true)) {
    c.total += p.numel();
    if (p.requires_grad()) c.trainable += p.numel();
  }
  return c;
}

}  // namespace svln::model
