#include "model/model_config.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace svln::model {
namespace {

using nlohmann::json;

std::runtime_error configError(const std::string& source, const std::string& key,
                               const std::string& problem) {
  return std::runtime_error(source + ": " + key + ": " + problem);
}

template <typename T>
T required(const json& j, const std::string& key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) throw configError(source, key, "missing required key");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw configError(source, key, "wrong type (" + std::string(it->type_name()) + ")");
  }
}

template <typename T>
T optional(const json& j, const std::string& key, T fallback, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw configError(source, key, "wrong type (" + std::string(it->type_name()) + ")");
  }
}

// eos_token_id may be an int or a list of ints (the first one is used).
int64_t tokenId(const json& j, const std::string& key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return -1;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_array() && !it->empty() && (*it)[0].is_number_integer())
    return (*it)[0].get<int64_t>();
  throw configError(source, key, "expected an integer or a list of integers");
}

// transformers 4.x: rope_theta at top level (+ rope_scaling); 5.x: rope_parameters.
double ropeTheta(const json& j, const std::string& source) {
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) throw configError(source, key, "expected an object");
    std::string type = it->value("rope_type", it->value("type", std::string("default")));
    if (type != "default")
      throw configError(source, std::string(key) + ".rope_type",
                        "unsupported rope type '" + type + "' (only 'default')");
    if (it->contains("rope_theta"))
      return required<double>(*it, "rope_theta", source + ": " + key);
  }
  return optional<double>(j, "rope_theta", 10000.0, source);
}

void checkArchitecture(const json& j, const std::string& source, ModelConfig& config) {
  std::string model_type = optional<std::string>(j, "model_type", "", source);
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() &&
      !j["architectures"].empty())
    arch = j["architectures"][0].get<std::string>();
  bool qwen_type = model_type == "qwen2" || model_type.rfind("llava_qwen", 0) == 0 ||
                   model_type == "streamvln";
  bool qwen_arch = arch.find("Qwen") != std::string::npos ||
                   arch.find("StreamVLN") != std::string::npos;
  if (!qwen_type && !(model_type.empty() && qwen_arch))
    throw configError(source, "model_type",
                      "unsupported architecture '" + (model_type.empty() ? arch : model_type) +
                          "' (expected qwen2 / llava_qwen)");
  config.architecture = arch.empty() ? "Qwen2ForCausalLM" : arch;
}

void parseMultimodal(const json& j, const std::string& source, MultimodalConfig& mm) {
  mm.present = j.contains("mm_vision_tower") || j.contains("mm_projector_type");
  if (!mm.present) return;
  mm.mm_vision_tower = optional<std::string>(j, "mm_vision_tower", mm.mm_vision_tower, source);
  mm.mm_hidden_size = optional<int64_t>(j, "mm_hidden_size", mm.mm_hidden_size, source);
  mm.mm_projector_type =
      optional<std::string>(j, "mm_projector_type", mm.mm_projector_type, source);
  mm.mm_spatial_pool_mode =
      optional<std::string>(j, "mm_spatial_pool_mode", mm.mm_spatial_pool_mode, source);
  mm.mm_vision_select_layer =
      optional<int64_t>(j, "mm_vision_select_layer", mm.mm_vision_select_layer, source);
  mm.num_frames = optional<int64_t>(j, "num_frames", mm.num_frames, source);
  mm.num_history = optional<int64_t>(j, "num_history", mm.num_history, source);
  mm.num_future_steps = optional<int64_t>(j, "num_future_steps", mm.num_future_steps, source);
  auto it = j.find("vision_config");
  if (it == j.end() || it->is_null()) return;
  if (!it->is_object()) throw configError(source, "vision_config", "expected an object");
  std::string vsrc = source + ": vision_config";
  VisionTowerConfig& v = mm.vision;
  mm.has_vision_config = true;
  v.hidden_size = optional<int64_t>(*it, "hidden_size", v.hidden_size, vsrc);
  v.intermediate_size = optional<int64_t>(*it, "intermediate_size", v.intermediate_size, vsrc);
  v.num_hidden_layers = optional<int64_t>(*it, "num_hidden_layers", v.num_hidden_layers, vsrc);
  v.num_attention_heads =
      optional<int64_t>(*it, "num_attention_heads", v.num_attention_heads, vsrc);
  v.image_size = optional<int64_t>(*it, "image_size", v.image_size, vsrc);
  v.patch_size = optional<int64_t>(*it, "patch_size", v.patch_size, vsrc);
  v.layer_norm_eps = optional<double>(*it, "layer_norm_eps", v.layer_norm_eps, vsrc);
}

void requirePositive(const std::string& source, const std::string& key, int64_t v) {
  if (v <= 0) throw configError(source, key, "must be positive, got " + std::to_string(v));
}

// The sizes every transformer stack divides by or allocates from (`prefix` names the
// sub-config in errors, e.g. "vision_config.").
void requireTransformerShape(const std::string& source, const std::string& prefix,
                             int64_t hidden, int64_t intermediate, int64_t layers, int64_t heads) {
  requirePositive(source, prefix + "hidden_size", hidden);
  requirePositive(source, prefix + "intermediate_size", intermediate);
  requirePositive(source, prefix + "num_hidden_layers", layers);
  requirePositive(source, prefix + "num_attention_heads", heads);
  if (hidden % heads != 0)
    throw configError(source, prefix + "num_attention_heads", "does not divide hidden_size");
}

void validate(const Qwen2Config& c, const std::string& source) {
  requirePositive(source, "vocab_size", c.vocab_size);
  requireTransformerShape(source, "", c.hidden_size, c.intermediate_size, c.num_hidden_layers,
                          c.num_attention_heads);
  requirePositive(source, "num_key_value_heads", c.num_key_value_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw configError(source, "num_key_value_heads", "does not divide num_attention_heads");
  if (c.headDim() % 2 != 0) throw configError(source, "hidden_size", "head dim must be even");
  requirePositive(source, "max_position_embeddings", c.max_position_embeddings);
  if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta))
    throw configError(source, "rope_theta", "must be a positive finite number");
  if (!(c.rms_norm_eps > 0) || !std::isfinite(c.rms_norm_eps))
    throw configError(source, "rms_norm_eps", "must be a positive finite number");
}

// The multimodal fields a model would divide by, index with or allocate from.
void validate(const MultimodalConfig& mm, const std::string& source) {
  requirePositive(source, "num_frames", mm.num_frames);
  if (mm.num_history < 0)
    throw configError(source, "num_history", "must be >= 0, got " + std::to_string(mm.num_history));
  if (mm.num_future_steps < 0)
    throw configError(source, "num_future_steps", "must be >= 0");
  if (!mm.has_vision_config) return;
  const VisionTowerConfig& v = mm.vision;
  requireTransformerShape(source, "vision_config.", v.hidden_size, v.intermediate_size,
                          v.num_hidden_layers, v.num_attention_heads);
  requirePositive(source, "vision_config.patch_size", v.patch_size);
  if (v.image_size < v.patch_size)
    throw configError(source, "vision_config.image_size", "must be at least patch_size");
  if (!(v.layer_norm_eps > 0) || !std::isfinite(v.layer_norm_eps))
    throw configError(source, "vision_config.layer_norm_eps", "must be a positive finite number");
}

}  // namespace

ModelConfig parseModelConfig(const std::string& json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw std::runtime_error(source + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw std::runtime_error(source + ": expected a JSON object");
  ModelConfig config;
  config.raw_json = json_text;
  checkArchitecture(j, source, config);
  Qwen2Config& t = config.text;
  t.vocab_size = required<int64_t>(j, "vocab_size", source);
  t.hidden_size = required<int64_t>(j, "hidden_size", source);
  t.intermediate_size = required<int64_t>(j, "intermediate_size", source);
  t.num_hidden_layers = required<int64_t>(j, "num_hidden_layers", source);
  t.num_attention_heads = required<int64_t>(j, "num_attention_heads", source);
  t.num_key_value_heads =
      optional<int64_t>(j, "num_key_value_heads", t.num_attention_heads, source);
  t.max_position_embeddings =
      optional<int64_t>(j, "max_position_embeddings", t.max_position_embeddings, source);
  t.rms_norm_eps = optional<double>(j, "rms_norm_eps", t.rms_norm_eps, source);
  t.rope_theta = ropeTheta(j, source);
  t.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, source);
  t.bos_token_id = tokenId(j, "bos_token_id", source);
  t.eos_token_id = tokenId(j, "eos_token_id", source);
  t.torch_dtype = optional<std::string>(
      j, "torch_dtype", optional<std::string>(j, "dtype", "float32", source), source);
  if (optional<std::string>(j, "hidden_act", "silu", source) != "silu")
    throw configError(source, "hidden_act", "only 'silu' is supported");
  if (optional<bool>(j, "use_sliding_window", false, source))
    throw configError(source, "use_sliding_window", "sliding-window attention is not supported");
  validate(t, source);
  parseMultimodal(j, source, config.mm);
  validate(config.mm, source);
  return config;
}

ModelConfig loadModelConfig(const std::string& path) {
  std::string file = path;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file = path + "/config.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file + ": cannot open config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseModelConfig(ss.str(), file);
}

std::string modelConfigToJson(const ModelConfig& config) {
  json j = json::object();
  if (!config.raw_json.empty()) j = json::parse(config.raw_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) j = json::object();
  const Qwen2Config& t = config.text;
  j.erase("rope_parameters");
  j.erase("dtype");
  j.erase("layer_types");
  j["architectures"] = {config.architecture};
  if (!j.contains("model_type")) j["model_type"] = config.mm.present ? "llava_qwen" : "qwen2";
  j["vocab_size"] = t.vocab_size;
  j["hidden_size"] = t.hidden_size;
  j["intermediate_size"] = t.intermediate_size;
  j["num_hidden_layers"] = t.num_hidden_layers;
  j["num_attention_heads"] = t.num_attention_heads;
  j["num_key_value_heads"] = t.num_key_value_heads;
  j["max_position_embeddings"] = t.max_position_embeddings;
  j["rms_norm_eps"] = t.rms_norm_eps;
  j["rope_theta"] = t.rope_theta;
  j["rope_scaling"] = nullptr;
  j["tie_word_embeddings"] = t.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["use_sliding_window"] = false;
  j["torch_dtype"] = t.torch_dtype;
  if (t.bos_token_id >= 0) j["bos_token_id"] = t.bos_token_id;
  if (t.eos_token_id >= 0) j["eos_token_id"] = t.eos_token_id;
  const MultimodalConfig& mm = config.mm;
  if (mm.present) {
    j["mm_vision_tower"] = mm.mm_vision_tower;
    j["mm_hidden_size"] = mm.mm_hidden_size;
    j["mm_projector_type"] = mm.mm_projector_type;
    j["mm_spatial_pool_mode"] = mm.mm_spatial_pool_mode;
    j["mm_vision_select_layer"] = mm.mm_vision_select_layer;
    j["num_frames"] = mm.num_frames;
    j["num_history"] = mm.num_history;
    j["num_future_steps"] = mm.num_future_steps;
    if (mm.has_vision_config) {
      json v = j.value("vision_config", json::object());
      v["hidden_size"] = mm.vision.hidden_size;
      v["intermediate_size"] = mm.vision.intermediate_size;
      v["num_hidden_layers"] = mm.vision.num_hidden_layers;
      v["num_attention_heads"] = mm.vision.num_attention_heads;
      v["image_size"] = mm.vision.image_size;
      v["patch_size"] = mm.vision.patch_size;
      v["layer_norm_eps"] = mm.vision.layer_norm_eps;
      j["vision_config"] = v;
    }
  }
  return j.dump(2) + "\n";
}

void saveModelConfig(const ModelConfig& config, const std::string& path) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot write config");
    out << modelConfigToJson(config);
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename temp file into place");
}

Qwen2Config namedQwen2Config(const std::string& name) {
  Qwen2Config c;
  if (name == "7b") return c;
  c.max_position_embeddings = 4096;
  c.torch_dtype = "float32";
  if (name == "tiny") {
    c.vocab_size = 512;
    c.hidden_size = 64;
    c.intermediate_size = 128;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = true;
    return c;
  }
  if (name == "small") {
    c.vocab_size = 8192;
    c.hidden_size = 512;
    c.intermediate_size = 1408;
    c.num_hidden_layers = 6;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 2;
    return c;
  }
  throw std::runtime_error("--config: unknown model config name '" + name +
                           "' (tiny, small, 7b or a config.json path)");
}

}  // namespace svln::model
