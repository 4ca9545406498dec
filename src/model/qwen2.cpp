#include "model/qwen2.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/embedding.h>
#include <torch/version.h>

#include <stdexcept>

#include "model/attention.h"

namespace svln::model {

// ---- RMSNorm -------------------------------------------------------------------------

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  // One fused kernel on the GPU (fp32 accumulation, rounded to x's dtype once, as below)
  // instead of eight: decoding is launch-bound.
  if (x.is_cuda()) return weight * at::rms_norm(x, {x.size(-1)}, c10::nullopt, eps);
#endif
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (xf * at::rsqrt(var + eps)).to(x.scalar_type());
}

// ---- Rotary position embedding -------------------------------------------------------

std::pair<at::Tensor, at::Tensor> ropeTables(const at::Tensor& position_ids, int64_t head_dim,
                                             double theta, c10::ScalarType dtype) {
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(position_ids.device());
  // inv_freq_i = 1 / theta^(2i / D), in fp32 like transformers.
  at::Tensor inv_freq =
      1.0 / at::pow(theta, at::arange(0, head_dim, 2, f32.dtype(at::kLong)).to(at::kFloat) /
                               static_cast<double>(head_dim));
  at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);                              // [B, T, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return applyRopeSigned(x, cos.unsqueeze(1), signedSin(sin).unsqueeze(1));
}

at::Tensor signedSin(const at::Tensor& sin) {
  const int64_t half = sin.size(-1) / 2;
  return at::cat({-sin.narrow(-1, 0, half), sin.narrow(-1, half, half)}, -1);
}

at::Tensor applyRopeSigned(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin_signed) {
  // rotate_half(x) * sin = [-x2, x1] * [s1, s2] = roll(x) * [-s1, s2]: three kernels
  // (roll, mul, addcmul) where the literal form takes five.
  return at::addcmul(x * cos, x.roll(x.size(-1) / 2, -1), sin_signed);
}

// ---- Attention / MLP / decoder layer -------------------------------------------------

Qwen2AttentionImpl::Qwen2AttentionImpl(const Qwen2Config& c)
    : num_heads(c.num_attention_heads),
      num_kv_heads(c.num_key_value_heads),
      head_dim(c.headDim()) {
  q_proj = register_module("q_proj", LoraLinear(c.hidden_size, num_heads * head_dim, true));
  k_proj = register_module("k_proj", LoraLinear(c.hidden_size, num_kv_heads * head_dim, true));
  v_proj = register_module("v_proj", LoraLinear(c.hidden_size, num_kv_heads * head_dim, true));
  o_proj = register_module("o_proj", LoraLinear(num_heads * head_dim, c.hidden_size, false));
}

at::Tensor Qwen2AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                       const at::Tensor& sin, const at::Tensor& mask,
                                       KVStore* cache, int64_t layer) {
  const int64_t b = x.size(0), t = x.size(1);
  // [B, T, H*D] -> [B, H, T, D]
  at::Tensor q = q_proj(x).view({b, t, num_heads, head_dim}).transpose(1, 2);
  at::Tensor k = k_proj(x).view({b, t, num_kv_heads, head_dim}).transpose(1, 2);
  at::Tensor v = v_proj(x).view({b, t, num_kv_heads, head_dim}).transpose(1, 2);
  q = applyRopeSigned(q, cos, sin);  // tables [B, 1, T, D], sin signed (see forward)
  k = applyRopeSigned(k, cos, sin);
  if (cache) std::tie(k, v) = cache->append(layer, k, v);
  at::Tensor o = mask.defined() && mask.dim() == 4
                     ? maskedAttention(q, k, v, mask, force_math_attention)
                     : causalAttention(q, k, v, mask, force_math_attention);
  // [B, H, T, D] -> [B, T, H*D]
  return o_proj(o.transpose(1, 2).reshape({b, t, num_heads * head_dim}));
}

Qwen2MLPImpl::Qwen2MLPImpl(const Qwen2Config& c) {
  gate_proj = register_module("gate_proj", LoraLinear(c.hidden_size, c.intermediate_size, false));
  up_proj = register_module("up_proj", LoraLinear(c.hidden_size, c.intermediate_size, false));
  down_proj = register_module("down_proj", LoraLinear(c.intermediate_size, c.hidden_size, false));
}

at::Tensor Qwen2MLPImpl::forward(const at::Tensor& x) {
  return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

Qwen2DecoderLayerImpl::Qwen2DecoderLayerImpl(const Qwen2Config& c) {
  self_attn = register_module("self_attn", Qwen2Attention(c));
  mlp = register_module("mlp", Qwen2MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor Qwen2DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                          const at::Tensor& sin,
                                          const at::Tensor& mask, KVStore* cache,
                                          int64_t layer) {
  at::Tensor h = x + self_attn(input_layernorm(x), cos, sin, mask, cache, layer);
  return h + mlp(post_attention_layernorm(h));
}

// ---- Gradient checkpointing ----------------------------------------------------------
// Reentrant recompute, as torch.utils.checkpoint(use_reentrant=True): forward runs the
// layer without building a graph and keeps only its input; backward re-runs it with grad
// enabled and back-propagates the incoming gradient through the recomputed graph, which
// accumulates parameter gradients (LoRA A/B or full weights) into their .grad directly.
// The RNG state of the input's device is saved and restored so dropout masks repeat.
// `anchor` is a scalar that requires grad, so the output requires grad even when the
// input does not (frozen embeddings under LoRA); the layer pointer travels as an integer
// because saved_data holds IValues only (the model outlives its graphs).
namespace {

struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& anchor, int64_t layer_ptr, const at::Tensor& cos,
                            const at::Tensor& sin, const c10::optional<at::Tensor>& mask) {
    at::Generator gen = at::globalContext().defaultGenerator(x.device());
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    ctx->save_for_backward({x});
    ctx->saved_data["layer"] = layer_ptr;
    ctx->saved_data["cos"] = cos;
    ctx->saved_data["sin"] = sin;
    ctx->saved_data["mask"] = mask ? c10::IValue(*mask) : c10::IValue();
    auto* layer = reinterpret_cast<Qwen2DecoderLayerImpl*>(layer_ptr);
    return layer->forward(x, cos, sin, mask ? *mask : at::Tensor(), nullptr, 0);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* layer = reinterpret_cast<Qwen2DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor mask =
        ctx->saved_data["mask"].isNone() ? at::Tensor() : ctx->saved_data["mask"].toTensor();
    at::Generator gen = at::globalContext().defaultGenerator(x.device());
    at::Tensor current_rng;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      current_rng = gen.get_state();
      gen.set_state(ctx->saved_data["rng"].toTensor());
    }
    at::Tensor y;
    {
      at::AutoGradMode grad(true);
      y = layer->forward(x, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                         mask, nullptr, 0);
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(current_rng);
    }
    torch::autograd::backward({y}, {grad_out[0]});
    return {x.grad(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// ---- Model ---------------------------------------------------------------------------

Qwen2ModelImpl::Qwen2ModelImpl(const Qwen2Config& c) : config(c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layer_list.emplace_back(c);
    layers->push_back(layer_list.back());
  }
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor Qwen2ModelImpl::forward(const Qwen2Inputs& in) {
  if (in.input_ids.defined() == in.inputs_embeds.defined())
    throw std::invalid_argument("Qwen2: give exactly one of input_ids / inputs_embeds");
  at::Tensor h = in.input_ids.defined() ? embed_tokens(in.input_ids) : in.inputs_embeds;
  const int64_t b = h.size(0), t = h.size(1);
  const int64_t past = in.cache ? in.cache->length() : 0;
  at::Tensor pos = in.position_ids;
  at::Tensor mask = in.key_padding_mask;
  KVStore* store = in.cache;
  if (in.slots) {
    if (in.cache || pos.defined() || mask.defined())
      throw std::invalid_argument("Qwen2: slots exclude cache, position_ids, key_padding_mask");
    if (static_cast<int64_t>(in.slot_rows.size()) != b)
      throw std::invalid_argument("Qwen2: slot_rows must name one slot per batch row");
    SlotKVCache::Step step = in.slots->begin(in.slot_rows, in.slot_new_tokens, t, h.device());
    pos = step.position_ids;
    if (step.allowed.defined()) {
      mask = foldMaskForGqa(step.allowed, config.num_attention_heads / config.num_key_value_heads);
      // On the GPU the fused kernel takes an additive bias: converted once here, not per layer.
      if (!h.device().is_cpu()) mask = additiveMask(mask, h.scalar_type());
    }
    store = in.slots;
  } else if (!pos.defined())
    pos = at::arange(past, past + t, at::TensorOptions().dtype(at::kLong).device(h.device()))
              .unsqueeze(0)
              .expand({b, t});
  if (in.key_padding_mask.defined() && in.key_padding_mask.size(1) != past + t)
    throw std::invalid_argument("Qwen2: key_padding_mask must cover cache + new tokens");
  at::Tensor cos, sin;
  std::tie(cos, sin) = ropeTables(pos, config.headDim(), config.rope_theta, h.scalar_type());
  // Shaped [B, 1, T, D] for the heads and sin's first half negated, once per call.
  cos = cos.unsqueeze(1);
  sin = signedSin(sin).unsqueeze(1);
  // Whenever a graph is built (the trainer keeps its modules in eval mode: no dropout).
  const bool checkpoint =
      gradient_checkpointing && !in.cache && !in.slots && at::GradMode::is_enabled();
  at::Tensor anchor;
  if (checkpoint) anchor = at::zeros({}, h.options().dtype(at::kFloat)).requires_grad_(true);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    auto& layer = layer_list[i];
    if (checkpoint && (checkpoint_layers < 0 || i < checkpoint_layers))
      h = CheckpointedLayer::apply(
          h, anchor, reinterpret_cast<int64_t>(layer.get()), cos, sin,
          in.key_padding_mask.defined() ? c10::optional<at::Tensor>(in.key_padding_mask)
                                        : c10::nullopt);
    else
      h = layer->forward(h, cos, sin, mask, store, i);
  }
  if (in.slots) in.slots->commit();
  return norm(h);
}

Qwen2ForCausalLMImpl::Qwen2ForCausalLMImpl(const Qwen2Config& c) : config(c) {
  model = register_module("model", Qwen2Model(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head", LoraLinear(c.hidden_size, c.vocab_size, false));
}

at::Tensor Qwen2ForCausalLMImpl::logits(const at::Tensor& hidden) {
  if (lm_head) return lm_head(hidden);
  return at::matmul(hidden, model->embed_tokens->weight.t());
}

at::Tensor Qwen2ForCausalLMImpl::forward(const Qwen2Inputs& in, bool last_only) {
  at::Tensor h = model->forward(in);
  if (last_only) h = h.narrow(1, h.size(1) - 1, 1);
  return logits(h);
}

void Qwen2ForCausalLMImpl::setForceMathAttention(bool on) {
  for (auto& layer : model->layer_list) layer->self_attn->force_math_attention = on;
}

std::vector<int64_t> greedyGenerate(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids,
                                    int64_t max_new_tokens, int64_t eos_id) {
  if (ids.empty()) throw std::invalid_argument("greedyGenerate: empty prompt");
  at::NoGradGuard no_grad;
  const c10::Device device = lm->model->embed_tokens->weight.device();
  KVCache cache = lm->newCache();
  Qwen2Inputs in;
  in.cache = &cache;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0).to(device);
  std::vector<int64_t> out;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    at::Tensor next = lm->forward(in, /*last_only=*/true).argmax(-1);  // [1, 1]
    const int64_t id = next.item<int64_t>();
    out.push_back(id);
    if (id == eos_id) break;
    in.input_ids = next.view({1, 1});
  }
  return out;
}

}  // namespace svln::model
