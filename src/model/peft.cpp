#include "model/peft.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "model/safetensors.h"

namespace svln::model {
namespace {

using nlohmann::json;

constexpr const char* kPrefix = "base_model.model.";

void writeTextAtomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot open for writing");
    out << text;
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename temp file into place");
}

bool isUnset(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() || (it->is_object() && it->empty()) ||
         (it->is_array() && it->empty()) || (it->is_boolean() && !it->get<bool>());
}

// named_modules() of root, LoraLinear ones only.
std::map<std::string, LoraLinearImpl*> loraModules(torch::nn::Module& root) {
  std::map<std::string, LoraLinearImpl*> out;
  for (const auto& item : root.named_modules("", false))
    if (auto* lin = dynamic_cast<LoraLinearImpl*>(item.value().get())) out[item.key()] = lin;
  return out;
}

}  // namespace

std::string peftKey(const std::string& module_name, const std::string& matrix) {
  return kPrefix + module_name + "." + matrix + ".weight";
}

LoraConfig loadLoraConfig(const std::string& dir) {
  const std::string path = dir + "/adapter_config.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open adapter config");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  auto fail = [&](const std::string& key, const std::string& msg) {
    return std::runtime_error(path + ": " + key + ": " + msg);
  };
  if (j.value("peft_type", std::string()) != "LORA")
    throw fail("peft_type", "only LORA adapters are supported");
  for (const char* key : {"use_dora", "rank_pattern", "alpha_pattern", "layers_to_transform",
                          "modules_to_save", "fan_in_fan_out", "exclude_modules",
                          "trainable_token_indices", "lora_bias", "target_parameters"})
    if (!isUnset(j, key)) throw fail(key, "unsupported PEFT option");
  if (j.value("bias", std::string("none")) != "none") throw fail("bias", "only 'none' is supported");
  LoraConfig c;
  try {
    c.r = j.at("r").get<int64_t>();
    c.alpha = j.at("lora_alpha").get<double>();
    c.dropout = j.value("lora_dropout", 0.0);
    c.use_rslora = j.value("use_rslora", false);
    const json& t = j.at("target_modules");
    if (t.is_string()) {
      c.target_regex = t.get<std::string>();
      c.target_modules.clear();
    } else {
      c.target_modules = t.get<std::vector<std::string>>();
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": missing or malformed r / lora_alpha / target_modules (" +
                             std::string(e.what()) + ")");
  }
  if (c.r <= 0) throw fail("r", "must be positive");
  return c;
}

void saveLoraConfig(const LoraConfig& c, const std::string& dir,
                    const std::string& base_model_name_or_path) {
  json targets = c.target_regex.empty() ? json(c.target_modules) : json(c.target_regex);
  json alpha = std::floor(c.alpha) == c.alpha ? json(static_cast<int64_t>(c.alpha)) : json(c.alpha);
  json j = {{"alpha_pattern", json::object()},
            {"auto_mapping", nullptr},
            {"base_model_name_or_path", base_model_name_or_path},
            {"bias", "none"},
            {"fan_in_fan_out", false},
            {"inference_mode", true},
            {"init_lora_weights", true},
            {"layers_pattern", nullptr},
            {"layers_to_transform", nullptr},
            {"lora_alpha", alpha},
            {"lora_dropout", c.dropout},
            {"modules_to_save", nullptr},
            {"peft_type", "LORA"},
            {"r", c.r},
            {"rank_pattern", json::object()},
            {"revision", nullptr},
            {"target_modules", targets},
            {"task_type", "CAUSAL_LM"},
            {"use_dora", false},
            {"use_rslora", c.use_rslora}};
  writeTextAtomic(dir + "/adapter_config.json", j.dump(2) + "\n");
}

void saveLoraAdapter(torch::nn::Module& root, const LoraConfig& config, const std::string& dir,
                     const std::string& base_model_name_or_path) {
  ::mkdir(dir.c_str(), 0755);
  NamedTensors tensors;
  for (const auto& [name, lin] : loraModules(root)) {
    if (!lin->hasAdapter()) continue;
    tensors.emplace_back(peftKey(name, "lora_A"), lin->lora_A->weight.detach().to(at::kFloat));
    tensors.emplace_back(peftKey(name, "lora_B"), lin->lora_B->weight.detach().to(at::kFloat));
  }
  if (tensors.empty()) throw std::runtime_error(dir + ": the model has no LoRA adapters to save");
  saveSafetensors(dir + "/adapter_model.safetensors", tensors);
  saveLoraConfig(config, dir, base_model_name_or_path);
}

std::vector<std::string> loadLoraAdapter(torch::nn::Module& root, const std::string& dir) {
  LoraConfig config = loadLoraConfig(dir);
  const std::string path = dir + "/adapter_model.safetensors";
  SafetensorsFile file(path);
  std::vector<std::string> names = applyLora(root, config);
  std::set<std::string> expected;
  auto modules = loraModules(root);
  at::NoGradGuard no_grad;
  for (const auto& name : names) {
    LoraLinearImpl* lin = modules.at(name);
    for (const char* m : {"lora_A", "lora_B"}) {
      std::string key = peftKey(name, m);
      expected.insert(key);
      if (!file.contains(key)) throw std::runtime_error(path + ": missing tensor '" + key + "'");
      at::Tensor& w = (std::string(m) == "lora_A" ? lin->lora_A : lin->lora_B)->weight;
      at::Tensor value = file.load(key, w.scalar_type(), w.device());
      if (value.sizes() != w.sizes())
        throw std::runtime_error(path + ": tensor '" + key + "': shape does not match r=" +
                                 std::to_string(config.r) + " and the layer");
      w.copy_(value);
    }
  }
  for (const auto& key : file.names())
    if (!expected.count(key))
      throw std::runtime_error(path + ": unexpected tensor '" + key +
                               "' (no targeted module has that name)");
  spdlog::debug("{}: LoRA r={} alpha={} on {} modules", dir, config.r, config.alpha, names.size());
  return names;
}

int64_t loraTrainableCount(const ModelConfig& model, const LoraConfig& config) {
  struct Linear {
    std::string name;
    int64_t in, out;
  };
  std::vector<Linear> linears;
  const Qwen2Config& t = model.text;
  const int64_t kv = t.num_key_value_heads * t.headDim();
  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    linears.push_back({p + "self_attn.q_proj", t.hidden_size, t.hidden_size});
    linears.push_back({p + "self_attn.k_proj", t.hidden_size, kv});
    linears.push_back({p + "self_attn.v_proj", t.hidden_size, kv});
    linears.push_back({p + "self_attn.o_proj", t.hidden_size, t.hidden_size});
    linears.push_back({p + "mlp.gate_proj", t.hidden_size, t.intermediate_size});
    linears.push_back({p + "mlp.up_proj", t.hidden_size, t.intermediate_size});
    linears.push_back({p + "mlp.down_proj", t.intermediate_size, t.hidden_size});
  }
  if (!t.tie_word_embeddings) linears.push_back({"lm_head", t.hidden_size, t.vocab_size});
  if (model.mm.present) {
    const VisionTowerConfig& v = model.mm.vision;
    // LLaVA keeps the layers up to mm_vision_select_layer (-2: all but the last).
    int64_t sel = model.mm.mm_vision_select_layer;
    int64_t kept = sel < 0 ? v.num_hidden_layers + sel + 1 : sel;
    for (int64_t i = 0; i < kept; ++i) {
      std::string p = "model.vision_tower.vision_tower.vision_model.encoder.layers." +
                      std::to_string(i) + ".";
      for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
        linears.push_back({p + "self_attn." + proj, v.hidden_size, v.hidden_size});
      linears.push_back({p + "mlp.fc1", v.hidden_size, v.intermediate_size});
      linears.push_back({p + "mlp.fc2", v.intermediate_size, v.hidden_size});
    }
    linears.push_back({"model.mm_projector.0", model.mm.mm_hidden_size, t.hidden_size});
    linears.push_back({"model.mm_projector.2", t.hidden_size, t.hidden_size});
  }
  int64_t total = 0;
  for (const auto& l : linears)
    if (loraNameMatches(l.name, config)) total += loraParamsPerLinear(config.r, l.in, l.out);
  return total;
}

}  // namespace svln::model
