// Causal multi-head attention with grouped-query heads and a KV-cache offset, through
// at::scaled_dot_product_attention on libtorch >= 2.0 (flash / memory-efficient kernels)
// and explicit math on libtorch 1.13 (the same arithmetic as transformers' eager path:
// softmax in fp32, then back to the input dtype).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace svln::model {

// q [B, H, Tq, D]; k, v [B, Hkv, Tk, D] with H % Hkv == 0 (kv head h / (H/Hkv) serves
// query head h). Query i sits at absolute position Tk - Tq + i and sees keys j <= that.
// key_padding_mask: optional bool [B, Tk], true = a real token (false keys are never
// attended). Returns [B, H, Tq, D]. force_math selects the explicit path everywhere.
at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& key_padding_mask = at::Tensor(),
                           bool force_math = false);

// Attention under an explicit visibility mask, for batches whose rows have different
// cache lengths (SlotKVCache). q [B, H, Tq, D]; k, v [B, Hkv, Tk, D]; allowed bool
// [B, 1, Tq, Tk] (true = visible; every query must see at least one key), or already
// folded by foldMaskForGqa. The H / Hkv query heads that share a kv head are folded into
// the query axis ([B, Hkv, n_rep * Tq, D]), so the keys/values are never repeated in
// memory. Returns [B, H, Tq, D].
at::Tensor maskedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& allowed, bool force_math = false);
// allowed [B, 1, Tq, Tk] -> [B, 1, n_rep * Tq, Tk], row r * Tq + i = row i (built once
// per forward call instead of once per layer).
at::Tensor foldMaskForGqa(const at::Tensor& allowed, int64_t n_rep);
// bool visibility -> additive bias (0 visible, -inf hidden) in `dtype`; maskedAttention
// takes either form.
at::Tensor additiveMask(const at::Tensor& allowed, c10::ScalarType dtype);

// [B, Hkv, T, D] -> [B, Hkv * n_rep, T, D], each kv head repeated n_rep times in place.
at::Tensor repeatKv(const at::Tensor& x, int64_t n_rep);

// True when this libtorch has at::scaled_dot_product_attention.
bool fusedAttentionAvailable();

// Turns cuDNN's fused attention on (1) or off (0); -1 leaves the library default. cuDNN
// builds an execution plan per new shape (the ~80 ms per decode step measured on the H100),
// so calls with a cache offset (causalAttention with Tq != Tk, maskedAttention) never use
// it whatever this says; the switch matters for full-sequence (training, prefill) calls.
// Throws on libtorch < 2.3, which has no switch.
void setCudnnAttention(int mode);

}  // namespace svln::model
