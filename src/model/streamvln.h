// The StreamVLN model: Qwen2 decoder + SigLIP tower + mlp2x_gelu projector + frame pooling.
//
//   frames [F,H,W,3] u8 ─preprocess─► SigLIP ─► projector ─► pool ─► [F, tokens, hidden]
//   ids with <image>/<memory> placeholders ─embed─► splice frame tokens ─► Qwen2 ─► logits
//
// The module tree mirrors the checkpoint: the vision tower and projector are registered
// inside the decoder's `model` module, so every parameter's name is its Hugging Face name
// (model.layers.0..., model.mm_projector.0.weight,
// model.vision_tower.vision_tower.vision_model...), and LoRA/PEFT names come out right.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/image_preprocess.h"
#include "model/model_config.h"
#include "model/projector.h"
#include "model/qwen2.h"
#include "model/siglip.h"

namespace svln::model {

// One contiguous stretch of a window's token ids to embed: `ids[begin, end)`; every
// <image> id takes the next entry of `images` ([tokens_per_frame, hidden] each), every
// <memory> id takes `memory` ([num_history * tokens_per_frame, hidden]).
struct SegmentInputs {
  const std::vector<int>* ids = nullptr;
  size_t begin = 0, end = 0;
  std::vector<torch::Tensor> images;
  torch::Tensor memory;
};

class StreamVLN {
 public:
  // Random weights for a configuration (config.mm.present must be true).
  explicit StreamVLN(const ModelConfig& config);

  // Reads config.json + safetensors (sharded or not) from a checkpoint directory.
  static StreamVLN load(const std::string& dir, const LoadOptions& options = {});
  // Random weights (randomInit(seed)) in `dtype` on `device`: the modules are built
  // uninitialised in that dtype and drawn where they live, so a 7B model on the GPU never
  // exists in fp32 or waits minutes for host draws.
  static StreamVLN random(const ModelConfig& config, const c10::Device& device,
                          c10::ScalarType dtype, uint64_t seed);
  // Writes config.json + model.safetensors (LoRA adapters are not included: merge first or
  // save them with saveLoraAdapter).
  void save(const std::string& dir, c10::ScalarType dtype = c10::kFloat);

  // Random weights as transformers initialises them: matrices normal(0, 0.02), biases 0,
  // norm weights 1; drawn from a generator seeded with `seed` (on the host, the same on any
  // device; a model on the GPU draws there instead, from the device generator seeded with it).
  void randomInit(uint64_t seed);

  // The root module (parameters under Hugging Face names).
  torch::nn::Module& root() { return *lm; }
  torch::Device device() const;
  c10::ScalarType dtype() const;

  // RGB frames uint8 [F, H, W, 3] (any size) -> [F, tokensPerFrame(), hidden].
  torch::Tensor encodeFrames(const torch::Tensor& rgb_u8);
  int64_t tokensPerFrame() const { return tokens_per_frame_; }
  int64_t imageTokenId() const { return image_token_id_; }
  int64_t memoryTokenId() const { return memory_token_id_; }
  void setPlaceholderIds(int64_t image_id, int64_t memory_id);

  // Embeddings [1, L, hidden] of a segment, placeholders replaced by frame tokens.
  torch::Tensor embedSegment(const SegmentInputs& seg);
  // Number of embedding rows a segment expands to.
  int64_t expandedLength(const std::vector<int>& ids, size_t begin, size_t end) const;

  ModelConfig config;
  Qwen2ForCausalLM lm{nullptr};
  SiglipVisionModel vision_tower{nullptr};
  MultimodalProjector mm_projector{nullptr};
  SpatialPoolMode pool_mode = SpatialPoolMode::kBilinear;
  ImagePreprocessConfig image;

 private:
  int64_t tokens_per_frame_ = 0;
  int64_t image_token_id_ = -1;
  int64_t memory_token_id_ = -1;
};

// SigLIP hyper-parameters as the checkpoint's vision_config states them.
SiglipVisionConfig visionConfigOf(const ModelConfig& config);
// Built-in StreamVLN configurations for `model init`: the named Qwen2 decoder ("tiny",
// "small", "7b") with a SigLIP tower scaled to match ("7b": so400m at 384 px).
ModelConfig namedStreamVLNConfig(const std::string& name);

}  // namespace svln::model
