// Hyper-parameters of the Qwen2 language model and the LLaVA/StreamVLN fields of a
// checkpoint's config.json. Plain structs, defaults in one place; parsing and writing
// keep unknown keys so a config round-trips.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace svln::model {

struct Qwen2Config {
  int64_t vocab_size = 152064;
  int64_t hidden_size = 3584;
  int64_t intermediate_size = 18944;
  int64_t num_hidden_layers = 28;
  int64_t num_attention_heads = 28;
  int64_t num_key_value_heads = 4;
  int64_t max_position_embeddings = 32768;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1e6;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = -1;  // -1: absent
  int64_t eos_token_id = -1;
  std::string torch_dtype = "bfloat16";  // dtype the weights are stored in

  int64_t headDim() const { return hidden_size / num_attention_heads; }
};

// SigLIP `vision_config` sub-object (so400m-patch14-384 defaults).
struct VisionTowerConfig {
  int64_t hidden_size = 1152;
  int64_t intermediate_size = 4304;
  int64_t num_hidden_layers = 27;
  int64_t num_attention_heads = 16;
  int64_t image_size = 384;
  int64_t patch_size = 14;
  double layer_norm_eps = 1e-6;
};

// LLaVA / StreamVLN fields; `present` is false for a plain Qwen2ForCausalLM checkpoint.
struct MultimodalConfig {
  bool present = false;
  std::string mm_vision_tower = "google/siglip-so400m-patch14-384";
  int64_t mm_hidden_size = 1152;
  std::string mm_projector_type = "mlp2x_gelu";
  std::string mm_spatial_pool_mode = "bilinear";
  int64_t mm_vision_select_layer = -2;  // LLaVA: drop the last encoder layer
  int64_t num_frames = 32;
  int64_t num_history = 8;
  int64_t num_future_steps = 4;
  bool has_vision_config = false;
  VisionTowerConfig vision;
};

struct ModelConfig {
  std::string architecture = "Qwen2ForCausalLM";
  Qwen2Config text;
  MultimodalConfig mm;
  std::string raw_json;  // the file as read (unknown keys are written back from here)
};

// Parses config.json text; `source` names the file in errors ("<source>: <key>: ...").
ModelConfig parseModelConfig(const std::string& json_text, const std::string& source);
// Reads `path`, a config.json or a directory holding one.
ModelConfig loadModelConfig(const std::string& path);
// config.json text in transformers 4.x style (rope_theta at top level, torch_dtype).
std::string modelConfigToJson(const ModelConfig& config);
// Atomic write (temp file + rename).
void saveModelConfig(const ModelConfig& config, const std::string& path);

// Built-in configurations for `model init`: "tiny" (tests, ~0.1 M parameters), "small"
// (CPU demo, ~25 M), "7b" (the released StreamVLN language model). Unknown name throws.
Qwen2Config namedQwen2Config(const std::string& name);

}  // namespace svln::model
