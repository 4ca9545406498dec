// Per-layer key/value cache of the decoder, [B, Hkv, T, D] per layer. Storage is reserved
// with doubling capacity so a streaming step writes in place instead of re-allocating the
// whole history; when autograd needs the cached tensors, appends concatenate instead.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace svln::model {

// Where a decoder layer's attention appends its new keys/values: k, v [B, Hkv, T, D] in,
// the keys/values that the new queries attend to out ([B, Hkv, Tk, D]).
class KVStore {
 public:
  virtual ~KVStore() = default;
  virtual std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k,
                                                   const at::Tensor& v) = 0;
};

class KVCache : public KVStore {
 public:
  KVCache() = default;
  explicit KVCache(int64_t num_layers);

  int64_t numLayers() const { return static_cast<int64_t>(keys_.size()); }
  // Tokens cached in layer 0 (equal for all layers between forward calls).
  int64_t length() const { return lengths_.empty() ? 0 : lengths_[0]; }
  int64_t batchSize() const;
  bool empty() const { return length() == 0; }

  // Appends k, v [B, Hkv, T, D] to `layer`; returns the whole cached K, V of that layer.
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k,
                                           const at::Tensor& v) override;
  // Keeps the first `length` tokens (e.g. drop a rejected continuation).
  void truncate(int64_t length);
  void clear() { truncate(0); }
  // Deep copy of the valid part (an environment forks its context).
  KVCache clone() const;
  // Row b as a batch-of-one cache (a copy).
  KVCache select(int64_t b) const;
  // Stacks batch-of-n caches of equal length along the batch dimension.
  static KVCache concat(const std::vector<KVCache>& caches);
  // K, V of a layer, [B, Hkv, length, D] views.
  at::Tensor keys(int64_t layer) const;
  at::Tensor values(int64_t layer) const;
  // Bytes held, capacity included.
  int64_t bytes() const;

 private:
  std::vector<at::Tensor> keys_, values_;  // [B, Hkv, capacity, D]
  std::vector<int64_t> lengths_;
};

}  // namespace svln::model
