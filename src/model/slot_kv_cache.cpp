#include "model/slot_kv_cache.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace svln::model {

namespace {
int64_t roundUp64(int64_t n) { return (n + 63) / 64 * 64; }
}  // namespace

SlotKVCache::SlotKVCache(int64_t num_layers, int64_t num_slots)
    : keys_(num_layers), values_(num_layers), lengths_(num_slots, 0) {}

void SlotKVCache::truncate(int64_t slot, int64_t length) {
  if (length < 0) throw std::invalid_argument("SlotKVCache::truncate: negative length");
  int64_t& len = lengths_.at(slot);
  len = std::min(len, length);
}

int64_t SlotKVCache::bytes() const {
  int64_t total = 0;
  for (size_t l = 0; l < keys_.size(); ++l)
    if (keys_[l].defined()) total += keys_[l].nbytes() + values_[l].nbytes();
  return total;
}

SlotKVCache::Step SlotKVCache::begin(const std::vector<int64_t>& rows,
                                     const std::vector<int64_t>& new_tokens, int64_t t,
                                     const c10::Device& device) {
  if (rows.empty() || rows.size() != new_tokens.size())
    throw std::invalid_argument("SlotKVCache::begin: rows and new_tokens differ in size");
  const int64_t b = static_cast<int64_t>(rows.size());
  int64_t need = 0;
  std::vector<bool> seen(lengths_.size(), false);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t slot = rows[i];
    if (slot < 0 || slot >= numSlots() || seen[slot])
      throw std::invalid_argument("SlotKVCache::begin: row " + std::to_string(i) + " names slot " +
                                  std::to_string(slot) + " (out of range or repeated)");
    seen[slot] = true;
    if (new_tokens[i] < 1 || new_tokens[i] > t)
      throw std::invalid_argument("SlotKVCache::begin: row " + std::to_string(i) + " adds " +
                                  std::to_string(new_tokens[i]) + " tokens to a batch of " +
                                  std::to_string(t));
    need = std::max(need, lengths_[slot] + new_tokens[i]);
  }
  if (need > capacity_) capacity_ = std::max({2 * capacity_, roundUp64(need), int64_t{64}});
  rows_ = rows;
  new_tokens_ = new_tokens;
  t_ = t;
  plain_ = b == 1 && device.is_cpu();
  if (plain_ && new_tokens[0] != t)
    throw std::invalid_argument("SlotKVCache::begin: a single row must not be padded");
  key_length_ = plain_ ? need : std::min(roundUp64(need), capacity_);
  consecutive_ = true;
  for (int64_t i = 1; i < b; ++i) consecutive_ &= rows[i] == rows[0] + i;

  auto cpu_long = at::TensorOptions().dtype(at::kLong);
  std::vector<int64_t> pos(static_cast<size_t>(b * t)), lens(b), src, dst;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t len = lengths_[rows[i]];
    lens[i] = len;
    for (int64_t j = 0; j < t; ++j) pos[i * t + j] = len + j;
    for (int64_t j = 0; j < new_tokens[i]; ++j) {
      src.push_back(i * t + j);
      dst.push_back(rows[i] * capacity_ + len + j);
    }
  }
  all_real_ = static_cast<int64_t>(src.size()) == b * t;
  source_ = all_real_ ? at::Tensor() : at::tensor(src, cpu_long).to(device);
  target_ = at::tensor(dst, cpu_long).to(device);
  rows_index_ = consecutive_ ? at::Tensor() : at::tensor(rows, cpu_long).to(device);
  Step step;
  step.position_ids = at::tensor(pos, cpu_long).view({b, t}).to(device);
  if (!plain_) {
    // Query i of row b sits at len_b + i and sees keys j <= len_b + i.
    const at::Tensor keys = at::arange(key_length_, cpu_long.device(device)).view({1, 1, -1});
    step.allowed = keys.le(step.position_ids.unsqueeze(2)).unsqueeze(1);  // [B, 1, T, Tk]
  }
  return step;
}

void SlotKVCache::ensureStorage(int64_t layer, const at::Tensor& like) {
  for (at::Tensor* store : {&keys_[layer], &values_[layer]}) {
    if (store->defined() && store->size(1) == capacity_) continue;
    // [B, Hkv, T, D] -> storage [S, capacity, Hkv, D], zeroed so masked keys stay finite.
    at::Tensor grown =
        at::zeros({numSlots(), capacity_, like.size(1), like.size(3)}, like.options());
    if (store->defined()) grown.narrow(1, 0, store->size(1)).copy_(*store);
    *store = grown;
  }
}

at::Tensor SlotKVCache::rowsOf(const at::Tensor& store) const {
  const int64_t b = static_cast<int64_t>(rows_.size());
  if (consecutive_) return store.narrow(0, rows_[0], b).narrow(1, 0, key_length_);
  return store.narrow(1, 0, key_length_).index_select(0, rows_index_);
}

std::pair<at::Tensor, at::Tensor> SlotKVCache::append(int64_t layer, const at::Tensor& k,
                                                      const at::Tensor& v) {
  TORCH_CHECK(layer >= 0 && layer < numLayers(), "SlotKVCache: layer out of range");
  TORCH_CHECK(!rows_.empty(), "SlotKVCache: append outside begin()/commit()");
  TORCH_CHECK(k.size(0) == static_cast<int64_t>(rows_.size()) && k.size(2) == t_,
              "SlotKVCache: k/v do not match the rows given to begin()");
  TORCH_CHECK(!(at::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad())),
              "SlotKVCache: inference only (use KVCache under autograd)");
  ensureStorage(layer, k);
  at::NoGradGuard no_grad;
  at::Tensor& ks = keys_[layer];
  at::Tensor& vs = values_[layer];
  if (rows_.size() == 1) {
    const int64_t slot = rows_[0], n = new_tokens_[0];
    ks.select(0, slot).narrow(0, lengths_[slot], n).copy_(k[0].narrow(1, 0, n).transpose(0, 1));
    vs.select(0, slot).narrow(0, lengths_[slot], n).copy_(v[0].narrow(1, 0, n).transpose(0, 1));
  } else {
    const int64_t h = k.size(1), d = k.size(3), flat = numSlots() * capacity_;
    // [B, Hkv, T, D] -> [B*T, Hkv, D], real tokens only -> rows of [S*capacity, Hkv, D]
    // (no padding, e.g. decoding: every token is real and needs no selection).
    auto real = [&](const at::Tensor& x) {
      const at::Tensor all = x.transpose(1, 2).reshape({-1, h, d});
      return all_real_ ? all : all.index_select(0, source_);
    };
    ks.view({flat, h, d}).index_copy_(0, target_, real(k));
    vs.view({flat, h, d}).index_copy_(0, target_, real(v));
  }
  return {rowsOf(ks).transpose(1, 2), rowsOf(vs).transpose(1, 2)};  // [B, Hkv, Tk, D]
}

void SlotKVCache::commit() {
  for (size_t i = 0; i < rows_.size(); ++i) lengths_[rows_[i]] += new_tokens_[i];
  rows_.clear();
  new_tokens_.clear();
}

}  // namespace svln::model
