// SigLIP vision tower as Hugging Face's SiglipVisionModel, cut the way LLaVA uses it: the
// encoder keeps `num_layers_used` layers (26 of so400m's 27) and the output is that
// layer's hidden state, without post_layernorm (registered only so checkpoints load).
//
//   pixels [B,3,384,384] ─conv 14x14/14─► [B,729,C] + pos ─► N x { x += attn(LN1 x);
//   x += fc2(gelu_tanh(fc1(LN2 x))) } ─► [B,729,C]
//
// Parameter names match transformers under "vision_model." (e.g.
// vision_model.encoder.layers.3.self_attn.q_proj.weight), so a checkpoint's
// model.vision_tower.vision_tower.* maps one to one.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "model/lora.h"

namespace svln::model {

struct SiglipVisionConfig {
  int64_t hidden_size = 1152;
  int64_t intermediate_size = 4304;
  int64_t num_hidden_layers = 27;  // of the pretrained tower
  int64_t num_layers_used = 26;    // LLaVA: mm_vision_select_layer -2 drops the last
  int64_t num_attention_heads = 16;
  int64_t num_channels = 3;
  int64_t image_size = 384;
  int64_t patch_size = 14;
  double layer_norm_eps = 1e-6;
  std::string hidden_act = "gelu_pytorch_tanh";  // or "gelu" (exact erf)

  int64_t headDim() const { return hidden_size / num_attention_heads; }
  int64_t patchesPerSide() const { return image_size / patch_size; }  // 27: 6 px unused
  int64_t numPatches() const { return patchesPerSide() * patchesPerSide(); }
};

// Reads a transformers SiglipVisionConfig object (keys as in its config.json; absent keys
// keep so400m's values). `select_layer` follows LLaVA's mm_vision_select_layer: -2 means
// all but the last layer. Throws std::runtime_error("<source>: ...") for bad values.
SiglipVisionConfig siglipVisionConfigFromJson(const nlohmann::json& vision_config,
                                              int64_t select_layer, const std::string& source);

class SiglipAttentionImpl : public torch::nn::Module {
 public:
  explicit SiglipAttentionImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // [B, N, C] -> [B, N, C]

  // LoraLinear (weight/bias named as in nn.Linear): PEFT-style adapters attach by name.
  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t heads_, head_dim_;
};
TORCH_MODULE(SiglipAttention);

class SiglipMlpImpl : public torch::nn::Module {
 public:
  explicit SiglipMlpImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  LoraLinear fc1{nullptr}, fc2{nullptr};

 private:
  bool tanh_gelu_;
};
TORCH_MODULE(SiglipMlp);

class SiglipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit SiglipEncoderLayerImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  SiglipAttention self_attn{nullptr};
  SiglipMlp mlp{nullptr};
};
TORCH_MODULE(SiglipEncoderLayer);

class SiglipEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit SiglipEmbeddingsImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixel_values);  // [B,3,H,W] -> [B, 729, C]

  torch::nn::Conv2d patch_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
};
TORCH_MODULE(SiglipEmbeddings);

class SiglipEncoderImpl : public torch::nn::Module {
 public:
  explicit SiglipEncoderImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(SiglipEncoder);

class SiglipVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit SiglipVisionTransformerImpl(const SiglipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixel_values);

  SiglipEmbeddings embeddings{nullptr};
  SiglipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};  // in checkpoints, not applied
};
TORCH_MODULE(SiglipVisionTransformer);

class SiglipVisionModelImpl : public torch::nn::Module {
 public:
  explicit SiglipVisionModelImpl(const SiglipVisionConfig& config = {});
  // pixel_values [B, 3, image_size, image_size] (any float dtype; cast to the weights')
  // -> hidden state of layer num_layers_used, [B, num_patches, hidden_size].
  torch::Tensor forward(const torch::Tensor& pixel_values);

  const SiglipVisionConfig& config() const { return config_; }
  SiglipVisionTransformer vision_model{nullptr};

 private:
  SiglipVisionConfig config_;
};
TORCH_MODULE(SiglipVisionModel);

}  // namespace svln::model
