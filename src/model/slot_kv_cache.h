// Keys/values of many independent sequences ("slots", one per environment) for batched
// inference, each slot with its own length:
//
//   layer l:  [S, capacity, Hkv, D]    slot 0: |=====len 0=====|........|
//                                      slot 1: |==len 1==|..............|
//   a forward call runs a subset of slots (its rows), row b adding n_b new tokens at
//   positions len_b .. len_b + n_b - 1 (the batch is padded to T = max n_b; padding never
//   reaches the cache); query i of row b sees the keys j <= len_b + i of its own slot.
//
// Capacity is shared by all slots and grows by doubling (multiples of 64); new storage is
// zeroed so masked keys are finite. The attended key length is rounded up to a multiple of
// 64, so consecutive decode steps reuse kernel shapes. Inference only (no autograd).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "model/kv_cache.h"

namespace svln::model {

class SlotKVCache : public KVStore {
 public:
  SlotKVCache() = default;
  SlotKVCache(int64_t num_layers, int64_t num_slots);

  int64_t numLayers() const { return static_cast<int64_t>(keys_.size()); }
  int64_t numSlots() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t length(int64_t slot) const { return lengths_.at(slot); }
  int64_t capacity() const { return capacity_; }
  // Keeps the first `length` tokens of a slot; clear() empties it (a hard window reset).
  void truncate(int64_t slot, int64_t length);
  void clear(int64_t slot) { truncate(slot, 0); }
  // Bytes held, capacity included.
  int64_t bytes() const;

  // What one forward call needs besides the cache: rotary positions [B, T] (len_b + t) and
  // the visibility mask bool [B, 1, T, Tk] (true = visible). `allowed` is undefined for a
  // single row on the CPU, where plain causal attention with the cache offset is exact.
  struct Step {
    at::Tensor position_ids;
    at::Tensor allowed;
  };
  // Starts a forward call over `rows` (distinct slots) with `new_tokens[b]` <= t real
  // tokens each; every layer then calls append() once, and commit() ends the call.
  Step begin(const std::vector<int64_t>& rows, const std::vector<int64_t>& new_tokens, int64_t t,
             const c10::Device& device);
  // k, v [B, Hkv, T, D] -> the rows' keys/values [B, Hkv, Tk, D] (a view when the rows are
  // consecutive slots, else a gathered copy).
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k,
                                           const at::Tensor& v) override;
  // Each row's slot grows by its new tokens.
  void commit();

 private:
  void ensureStorage(int64_t layer, const at::Tensor& like);
  at::Tensor rowsOf(const at::Tensor& store) const;  // [B, Tk, Hkv, D]

  std::vector<at::Tensor> keys_, values_;  // [S, capacity, Hkv, D]
  std::vector<int64_t> lengths_;
  int64_t capacity_ = 0;
  // The forward call in progress.
  std::vector<int64_t> rows_, new_tokens_;
  int64_t t_ = 0, key_length_ = 0;
  bool consecutive_ = false, plain_ = false, all_real_ = false;
  at::Tensor rows_index_;       // int64 [B]
  at::Tensor source_, target_;  // int64 [N]: b*T + t of each real token -> slot*cap + pos
};

}  // namespace svln::model
