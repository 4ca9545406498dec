#include "model/kv_cache.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <stdexcept>

namespace svln::model {

KVCache::KVCache(int64_t num_layers)
    : keys_(num_layers), values_(num_layers), lengths_(num_layers, 0) {}

int64_t KVCache::batchSize() const {
  return keys_.empty() || !keys_[0].defined() ? 0 : keys_[0].size(0);
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& k,
                                                  const at::Tensor& v) {
  TORCH_CHECK(layer >= 0 && layer < numLayers(), "KVCache: layer out of range");
  at::Tensor& ks = keys_[layer];
  at::Tensor& vs = values_[layer];
  int64_t& len = lengths_[layer];
  const int64_t t = k.size(2);
  const bool track_grad =
      at::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad());
  if (track_grad) {  // in-place writes would invalidate tensors saved for backward
    ks = len == 0 ? k : at::cat({ks.narrow(2, 0, len), k}, 2);
    vs = len == 0 ? v : at::cat({vs.narrow(2, 0, len), v}, 2);
    len += t;
    return {ks, vs};
  }
  if (!ks.defined() || len + t > ks.size(2) || ks.size(0) != k.size(0)) {
    int64_t cap = std::max<int64_t>(len + t, ks.defined() ? 2 * ks.size(2) : 0);
    cap = std::max<int64_t>(cap, 64);
    at::Tensor nk = at::empty({k.size(0), k.size(1), cap, k.size(3)}, k.options());
    at::Tensor nv = at::empty({v.size(0), v.size(1), cap, v.size(3)}, v.options());
    if (len > 0) {
      nk.narrow(2, 0, len).copy_(ks.narrow(2, 0, len));
      nv.narrow(2, 0, len).copy_(vs.narrow(2, 0, len));
    }
    ks = nk;
    vs = nv;
  }
  {
    at::NoGradGuard no_grad;
    ks.narrow(2, len, t).copy_(k);
    vs.narrow(2, len, t).copy_(v);
  }
  len += t;
  return {ks.narrow(2, 0, len), vs.narrow(2, 0, len)};
}

void KVCache::truncate(int64_t length) {
  if (length < 0) throw std::invalid_argument("KVCache::truncate: negative length");
  for (auto& len : lengths_) len = std::min(len, length);
}

at::Tensor KVCache::keys(int64_t layer) const {
  return keys_[layer].defined() ? keys_[layer].narrow(2, 0, lengths_[layer]) : at::Tensor();
}

at::Tensor KVCache::values(int64_t layer) const {
  return values_[layer].defined() ? values_[layer].narrow(2, 0, lengths_[layer])
                                  : at::Tensor();
}

KVCache KVCache::clone() const {
  KVCache out(numLayers());
  for (int64_t l = 0; l < numLayers(); ++l) {
    if (!keys_[l].defined()) continue;
    out.keys_[l] = keys(l).clone();
    out.values_[l] = values(l).clone();
    out.lengths_[l] = lengths_[l];
  }
  return out;
}

KVCache KVCache::select(int64_t b) const {
  KVCache out(numLayers());
  for (int64_t l = 0; l < numLayers(); ++l) {
    if (!keys_[l].defined()) continue;
    out.keys_[l] = keys(l).narrow(0, b, 1).clone();
    out.values_[l] = values(l).narrow(0, b, 1).clone();
    out.lengths_[l] = lengths_[l];
  }
  return out;
}

KVCache KVCache::concat(const std::vector<KVCache>& caches) {
  if (caches.empty()) return KVCache();
  const int64_t layers = caches[0].numLayers();
  KVCache out(layers);
  for (const auto& c : caches)
    if (c.numLayers() != layers || c.length() != caches[0].length())
      throw std::invalid_argument("KVCache::concat: caches differ in layers or length");
  for (int64_t l = 0; l < layers; ++l) {
    std::vector<at::Tensor> ks, vs;
    for (const auto& c : caches) {
      if (!c.keys_[l].defined()) break;
      ks.push_back(c.keys(l));
      vs.push_back(c.values(l));
    }
    if (ks.size() != caches.size()) continue;
    out.keys_[l] = at::cat(ks, 0);
    out.values_[l] = at::cat(vs, 0);
    out.lengths_[l] = caches[0].lengths_[l];
  }
  return out;
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (size_t l = 0; l < keys_.size(); ++l)
    if (keys_[l].defined()) total += keys_[l].nbytes() + values_[l].nbytes();
  return total;
}

}  // namespace svln::model
