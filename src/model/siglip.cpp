#include "model/siglip.h"

#include <nlohmann/json.hpp>
#include <torch/nn/functional/activation.h>
#include <torch/version.h>

#include <cmath>
#include <stdexcept>

namespace svln::model {

SiglipVisionConfig siglipVisionConfigFromJson(const nlohmann::json& j, int64_t select_layer,
                                              const std::string& source) {
  SiglipVisionConfig c;
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key) || j[key].is_null()) return;
    try {
      field = j[key].get<std::decay_t<decltype(field)>>();
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(source + ": vision_config." + key + " has the wrong type");
    }
  };
  get("hidden_size", c.hidden_size);
  get("intermediate_size", c.intermediate_size);
  get("num_hidden_layers", c.num_hidden_layers);
  get("num_attention_heads", c.num_attention_heads);
  get("num_channels", c.num_channels);
  get("image_size", c.image_size);
  get("patch_size", c.patch_size);
  get("layer_norm_eps", c.layer_norm_eps);
  get("hidden_act", c.hidden_act);
  // LLaVA indexes hidden_states (embeddings first), so -1 is the last layer's output.
  c.num_layers_used = select_layer < 0 ? c.num_hidden_layers + 1 + select_layer : select_layer;
  if (c.num_layers_used < 1 || c.num_layers_used > c.num_hidden_layers) {
    throw std::runtime_error(source + ": mm_vision_select_layer " + std::to_string(select_layer) +
                             " is outside the " + std::to_string(c.num_hidden_layers) +
                             " SigLIP layers");
  }
  if (c.hidden_size % c.num_attention_heads != 0 || c.patch_size <= 0 ||
      c.image_size < c.patch_size) {
    throw std::runtime_error(source + ": inconsistent SigLIP vision_config sizes");
  }
  if (c.hidden_act != "gelu_pytorch_tanh" && c.hidden_act != "gelu") {
    throw std::runtime_error(source + ": vision_config.hidden_act '" + c.hidden_act +
                             "' is not supported");
  }
  return c;
}

SiglipAttentionImpl::SiglipAttentionImpl(const SiglipVisionConfig& c)
    : heads_(c.num_attention_heads), head_dim_(c.headDim()) {
  q_proj = register_module("q_proj", LoraLinear(c.hidden_size, c.hidden_size, true));
  k_proj = register_module("k_proj", LoraLinear(c.hidden_size, c.hidden_size, true));
  v_proj = register_module("v_proj", LoraLinear(c.hidden_size, c.hidden_size, true));
  out_proj = register_module("out_proj", LoraLinear(c.hidden_size, c.hidden_size, true));
}

torch::Tensor SiglipAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1);
  // [B, N, C] -> [B, H, N, D]
  auto heads = [&](const torch::Tensor& t) { return t.view({b, n, heads_, head_dim_}).transpose(1, 2); };
  const torch::Tensor q = heads(q_proj(x)), k = heads(k_proj(x)), v = heads(v_proj(x));
#if TORCH_VERSION_MAJOR >= 2
  torch::Tensor o = at::scaled_dot_product_attention(q, k, v);
#else
  // softmax(q k^T / sqrt(D)) v, softmax in fp32 as transformers' eager attention.
  const torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(head_dim_));
  torch::Tensor o = torch::matmul(torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type()), v);
#endif
  return out_proj(o.transpose(1, 2).reshape({b, n, heads_ * head_dim_}));  // [B, N, C]
}

SiglipMlpImpl::SiglipMlpImpl(const SiglipVisionConfig& c)
    : tanh_gelu_(c.hidden_act == "gelu_pytorch_tanh") {
  fc1 = register_module("fc1", LoraLinear(c.hidden_size, c.intermediate_size, true));
  fc2 = register_module("fc2", LoraLinear(c.intermediate_size, c.hidden_size, true));
}

torch::Tensor SiglipMlpImpl::forward(const torch::Tensor& x) {
  return fc2(torch::gelu(fc1(x), tanh_gelu_ ? "tanh" : "none"));
}

SiglipEncoderLayerImpl::SiglipEncoderLayerImpl(const SiglipVisionConfig& c) {
  const auto ln = torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps);
  layer_norm1 = register_module("layer_norm1", torch::nn::LayerNorm(ln));
  self_attn = register_module("self_attn", SiglipAttention(c));
  layer_norm2 = register_module("layer_norm2", torch::nn::LayerNorm(ln));
  mlp = register_module("mlp", SiglipMlp(c));
}

torch::Tensor SiglipEncoderLayerImpl::forward(const torch::Tensor& x) {
  const torch::Tensor h = x + self_attn(layer_norm1(x));
  return h + mlp(layer_norm2(h));
}

SiglipEmbeddingsImpl::SiglipEmbeddingsImpl(const SiglipVisionConfig& c) {
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size)
                            .stride(c.patch_size)));
  position_embedding =
      register_module("position_embedding", torch::nn::Embedding(c.numPatches(), c.hidden_size));
}

torch::Tensor SiglipEmbeddingsImpl::forward(const torch::Tensor& pixel_values) {
  const torch::Tensor w = patch_embedding->weight;
  // [B, C, 27, 27] -> [B, 729, C]; the conv drops the last 384 - 27*14 = 6 rows/columns.
  // Made contiguous once: the transposed view's layout would otherwise carry through
  // every residual add and layer norm of the encoder (strided kernels, a copy per norm).
  const torch::Tensor patches = patch_embedding(pixel_values.to(w.device(), w.scalar_type()))
                                    .flatten(2)
                                    .transpose(1, 2)
                                    .contiguous();
  return patches + position_embedding->weight.unsqueeze(0);
}

SiglipEncoderImpl::SiglipEncoderImpl(const SiglipVisionConfig& c) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers_used; ++i) layers->push_back(SiglipEncoderLayer(c));
}

torch::Tensor SiglipEncoderImpl::forward(torch::Tensor x) {
  for (const auto& layer : *layers) x = layer->as<SiglipEncoderLayerImpl>()->forward(x);
  return x;
}

SiglipVisionTransformerImpl::SiglipVisionTransformerImpl(const SiglipVisionConfig& c) {
  embeddings = register_module("embeddings", SiglipEmbeddings(c));
  encoder = register_module("encoder", SiglipEncoder(c));
  post_layernorm = register_module(
      "post_layernorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

torch::Tensor SiglipVisionTransformerImpl::forward(const torch::Tensor& pixel_values) {
  return encoder(embeddings(pixel_values));
}

SiglipVisionModelImpl::SiglipVisionModelImpl(const SiglipVisionConfig& config) : config_(config) {
  if (config.num_layers_used < 1 || config.num_layers_used > config.num_hidden_layers ||
      config.hidden_size % config.num_attention_heads != 0) {
    throw std::invalid_argument("SiglipVisionModel: inconsistent config");
  }
  vision_model = register_module("vision_model", SiglipVisionTransformer(config));
}

torch::Tensor SiglipVisionModelImpl::forward(const torch::Tensor& pixel_values) {
  if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels ||
      pixel_values.size(2) != config_.image_size || pixel_values.size(3) != config_.image_size) {
    throw std::invalid_argument("SiglipVisionModel: pixel_values must be [B, " +
                                std::to_string(config_.num_channels) + ", " +
                                std::to_string(config_.image_size) + ", " +
                                std::to_string(config_.image_size) + "]");
  }
  return vision_model(pixel_values);
}

}  // namespace svln::model
