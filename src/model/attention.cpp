#include "model/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace svln::model {
namespace {

// allowed[b?, 1, Tq, Tk]: key j visible to query i iff j <= Tk - Tq + i (and not padding).
at::Tensor allowedMask(int64_t tq, int64_t tk, const at::Tensor& key_padding_mask,
                       const at::Device& device) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor qi = at::arange(tq, opts).unsqueeze(1) + (tk - tq);  // absolute query positions
  at::Tensor kj = at::arange(tk, opts).unsqueeze(0);
  at::Tensor allowed = kj.le(qi).view({1, 1, tq, tk});
  if (key_padding_mask.defined())
    allowed = allowed.logical_and(key_padding_mask.to(device, at::kBool).view({-1, 1, 1, tk}));
  return allowed;
}

at::Tensor mathAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& key_padding_mask) {
  const int64_t tq = q.size(2), tk = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  at::Tensor scores = at::matmul(q, k.transpose(2, 3)) * scale;  // [B, H, Tq, Tk]
  if (tq > 1 || key_padding_mask.defined()) {
    at::Tensor allowed = allowedMask(tq, tk, key_padding_mask, q.device());
    // Lowest finite value rather than -inf: a fully padded row stays finite.
    scores = scores.masked_fill(allowed.logical_not(),
                                std::numeric_limits<float>::lowest() / 2);
  }
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, v);
}

// cuDNN's fused attention builds an execution plan per new shape (~80 ms per decode step
// measured on the H100), and calls with a cache offset get a new key length (and a new
// batch or query length) nearly every time: those calls leave cuDNN out while they run.
class SkipCudnnAttention {
 public:
  explicit SkipCudnnAttention(bool active) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    if (active && at::globalContext().userEnabledCuDNNSDP()) {
      at::globalContext().setSDPUseCuDNN(false);
      restore_ = true;
    }
#endif
  }
  ~SkipCudnnAttention() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    if (restore_) at::globalContext().setSDPUseCuDNN(true);
#endif
  }
  SkipCudnnAttention(const SkipCudnnAttention&) = delete;
  SkipCudnnAttention& operator=(const SkipCudnnAttention&) = delete;

 private:
  bool restore_ = false;
};

}  // namespace

at::Tensor repeatKv(const at::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, h, n_rep, t, d}).reshape({b, h * n_rep, t, d});
}

bool fusedAttentionAvailable() { return TORCH_VERSION_MAJOR >= 2; }

at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& key_padding_mask, bool force_math) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B,H,T,D]");
  TORCH_CHECK(q.size(1) % k.size(1) == 0, "query heads must be a multiple of kv heads");
  TORCH_CHECK(k.size(2) >= q.size(2), "fewer keys than queries");
  const int64_t n_rep = q.size(1) / k.size(1);
  at::Tensor kr = repeatKv(k, n_rep), vr = repeatKv(v, n_rep);
#if TORCH_VERSION_MAJOR >= 2
  if (!force_math) {
    const int64_t tq = q.size(2), tk = k.size(2);
    if (!key_padding_mask.defined() && tq == tk)  // no cache offset: the kernel's own mask
      return at::scaled_dot_product_attention(q, kr, vr, c10::nullopt, 0.0, true);
    const SkipCudnnAttention skip(q.is_cuda());
    if (!key_padding_mask.defined() && tq == 1)  // one new token sees every cached key
      return at::scaled_dot_product_attention(q, kr, vr, c10::nullopt, 0.0, false);
    at::Tensor allowed = allowedMask(tq, tk, key_padding_mask, q.device());
    return at::scaled_dot_product_attention(q, kr, vr, allowed, 0.0, false);
  }
#endif
  return mathAttention(q, kr, vr, key_padding_mask);
}

at::Tensor foldMaskForGqa(const at::Tensor& allowed, int64_t n_rep) {
  const int64_t b = allowed.size(0), tq = allowed.size(2), tk = allowed.size(3);
  if (n_rep == 1) return allowed;
  return allowed.unsqueeze(2).expand({b, 1, n_rep, tq, tk}).reshape({b, 1, n_rep * tq, tk});
}

at::Tensor additiveMask(const at::Tensor& allowed, c10::ScalarType dtype) {
  return at::zeros(allowed.sizes(), allowed.options().dtype(dtype))
      .masked_fill_(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

at::Tensor maskedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& allowed, bool force_math) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B,H,T,D]");
  TORCH_CHECK(q.size(1) % k.size(1) == 0, "query heads must be a multiple of kv heads");
  const int64_t b = q.size(0), h = q.size(1), tq = q.size(2), d = q.size(3);
  const int64_t hkv = k.size(1), tk = k.size(2), n_rep = h / hkv;
  TORCH_CHECK(allowed.dim() == 4 && allowed.size(0) == b && allowed.size(3) == tk &&
                  (allowed.size(2) == tq || allowed.size(2) == n_rep * tq),
              "maskedAttention: mask must be [B, 1, Tq, Tk] or folded [B, 1, n_rep*Tq, Tk]");
  const at::Tensor mask = allowed.size(2) == tq ? foldMaskForGqa(allowed, n_rep) : allowed;
  // Query head h = g * n_rep + r uses kv head g: [B, H, Tq, D] -> [B, Hkv, n_rep*Tq, D].
  const at::Tensor qf = q.reshape({b, hkv, n_rep * tq, d});
  at::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  if (!force_math) {
    const SkipCudnnAttention skip(q.is_cuda());
    out = at::scaled_dot_product_attention(qf, k, v, mask, 0.0, false);
  }
#endif
  if (!out.defined()) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    at::Tensor scores = at::matmul(qf, k.transpose(2, 3)) * scale;  // [B, Hkv, n_rep*Tq, Tk]
    if (mask.scalar_type() == at::kBool)
      scores = scores.masked_fill(mask.logical_not(), std::numeric_limits<float>::lowest() / 2);
    else
      scores = scores + mask.to(scores.scalar_type());
    out = at::matmul(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()), v);
  }
  return out.reshape({b, h, tq, d});  // fused kernels may return [B, N, Hkv, D] strides
}

void setCudnnAttention(int mode) {
  if (mode < 0) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  at::globalContext().setSDPUseCuDNN(mode != 0);
#else
  throw std::runtime_error("--sdpa_cudnn: needs libtorch >= 2.3");
#endif
}

}  // namespace svln::model
