// The Qwen2 decoder (Qwen2ForCausalLM of transformers), read top to bottom:
//
//   ids ─► embed_tokens ─► [ RMSNorm ─► attention(RoPE, GQA, KV cache) ─► +residual
//                            RMSNorm ─► SwiGLU MLP ─► +residual ] × L ─► norm ─► lm_head
//
// Parameter names equal the Hugging Face checkpoint's (model.layers.{i}.self_attn.q_proj.weight,
// ..., lm_head.weight), so loading is a name lookup. Positions are explicit so a streaming
// caller continues them across calls; inputs are token ids or ready embeddings (the
// multimodal wrapper splices image features in).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model_config.h"
#include "model/slot_kv_cache.h"

namespace svln::model {

// y = w * x / sqrt(mean(x^2) + eps), computed in fp32, weight applied in the input dtype.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// Rotary embedding tables for explicit positions: cos, sin [B, T, D] in `dtype`, with
// inv_freq_i = theta^(-2i/D) and the two halves repeated (rotate_half convention).
std::pair<at::Tensor, at::Tensor> ropeTables(const at::Tensor& position_ids, int64_t head_dim,
                                             double theta, c10::ScalarType dtype);
// x * cos + rotate_half(x) * sin for x [B, H, T, D]; rotate_half(x) = [-x2, x1].
at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
// The same with the tables already [B, 1, T, D] and sin's first half negated (signedSin):
// the form the layers use, the tables prepared once per forward call.
at::Tensor signedSin(const at::Tensor& sin);
at::Tensor applyRopeSigned(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin_signed);

class Qwen2AttentionImpl : public torch::nn::Module {
 public:
  explicit Qwen2AttentionImpl(const Qwen2Config& c);
  // x [B, T, hidden]; cos / sin [B, 1, T, D], sin signed (applyRopeSigned); cache may be
  // null; returns [B, T, hidden]. mask: bool [B, Tk] key
  // padding (causal with the cache offset), or [B, 1, (n_rep *) T, Tk] per-query
  // visibility (maskedAttention).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask, KVStore* cache, int64_t layer);
  int64_t num_heads, num_kv_heads, head_dim;
  bool force_math_attention = false;
  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
};
TORCH_MODULE(Qwen2Attention);

// down(silu(gate(x)) * up(x))
class Qwen2MLPImpl : public torch::nn::Module {
 public:
  explicit Qwen2MLPImpl(const Qwen2Config& c);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen2MLP);

class Qwen2DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit Qwen2DecoderLayerImpl(const Qwen2Config& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask, KVStore* cache, int64_t layer);
  Qwen2Attention self_attn{nullptr};
  Qwen2MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen2DecoderLayer);

// One forward call. Exactly one of input_ids [B, T] (int64) / inputs_embeds [B, T, hidden].
struct Qwen2Inputs {
  at::Tensor input_ids;
  at::Tensor inputs_embeds;
  // [B, T] int64; default cache->length() + [0, T) for every row.
  at::Tensor position_ids;
  // bool [B, cache length + T], true = real token; default all real.
  at::Tensor key_padding_mask;
  KVCache* cache = nullptr;  // appended to when given
  // Batched inference over slots of a SlotKVCache instead (no cache, position_ids or
  // key_padding_mask then): row b is slot slot_rows[b] with slot_new_tokens[b] real
  // tokens at the start of its T (the rest is padding, never cached).
  SlotKVCache* slots = nullptr;
  std::vector<int64_t> slot_rows, slot_new_tokens;
};

class Qwen2ModelImpl : public torch::nn::Module {
 public:
  explicit Qwen2ModelImpl(const Qwen2Config& c);
  // Final-normed hidden states [B, T, hidden].
  at::Tensor forward(const Qwen2Inputs& in);
  Qwen2Config config;
  // Recompute layers in backward instead of keeping their activations, whenever a forward
  // builds a graph without a cache (training mode or not).
  bool gradient_checkpointing = false;
  // Layers [0, n) are checkpointed (-1: all); the rest keep their activations, trading
  // memory for the recompute (a 7B LoRA step at 8k tokens fits 80 GB with about half).
  int64_t checkpoint_layers = -1;
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<Qwen2DecoderLayer> layer_list;  // typed handles to layers' entries
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Qwen2Model);

class Qwen2ForCausalLMImpl : public torch::nn::Module {
 public:
  explicit Qwen2ForCausalLMImpl(const Qwen2Config& c);
  // Logits [B, T, vocab] (or the last position only: [B, 1, vocab]).
  at::Tensor forward(const Qwen2Inputs& in, bool last_only = false);
  at::Tensor hiddenStates(const Qwen2Inputs& in) { return model->forward(in); }
  // hidden [.., hidden] -> logits [.., vocab] (tied: the embedding matrix).
  at::Tensor logits(const at::Tensor& hidden);
  // Token embeddings [B, T, hidden] for ids [B, T].
  at::Tensor embed(const at::Tensor& ids) { return model->embed_tokens(ids); }
  // A KV cache sized for this model.
  KVCache newCache() const { return KVCache(config.num_hidden_layers); }
  // A cache of `num_slots` independent sequences for batched inference.
  SlotKVCache newSlotCache(int64_t num_slots) const {
    return SlotKVCache(config.num_hidden_layers, num_slots);
  }
  void setGradientCheckpointing(bool on, int64_t layers = -1) {
    model->gradient_checkpointing = on;
    model->checkpoint_layers = layers;
  }
  void setForceMathAttention(bool on);

  Qwen2Config config;
  Qwen2Model model{nullptr};
  LoraLinear lm_head{nullptr};  // null when tie_word_embeddings
};
TORCH_MODULE(Qwen2ForCausalLM);

// Greedy continuation of one sequence with the KV cache: prefill `ids`, then one token per
// step; stops after max_new_tokens or at eos_id (included) when eos_id >= 0.
std::vector<int64_t> greedyGenerate(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids,
                                    int64_t max_new_tokens, int64_t eos_id = -1);

}  // namespace svln::model
