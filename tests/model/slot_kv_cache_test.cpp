// Batched inference over a SlotKVCache: rows with different cache lengths, padded new
// tokens and non-consecutive slots give the logits of each sequence's own full forward.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/attention.h"
#include "model/qwen2.h"

namespace svln::model {
namespace {

// Max |a - b| relative to the size of b (logits here are O(10): float rounding ~1e-5).
double relError(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / (1.0 + b.abs().max().item<double>());
}

at::Tensor fullLogits(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids) {
  at::NoGradGuard g;
  Qwen2Inputs in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  return lm->forward(in)[0];  // [T, V]
}

TEST(MaskedAttention, EqualsCausalAttentionPerRowOffset) {
  at::manual_seed(0);
  // Row 0 has 2 cached keys + 3 new, row 1 has 5 cached + 1 new (then 2 padding queries).
  at::Tensor q = at::randn({2, 4, 3, 8}), k = at::randn({2, 2, 7, 8}), v = at::randn({2, 2, 7, 8});
  at::Tensor pos = at::tensor(std::vector<int64_t>{2, 3, 4, 5, 6, 7}, at::kLong).view({2, 3, 1});
  at::Tensor allowed = at::arange(7, at::kLong).view({1, 1, 7}).le(pos).unsqueeze(1);
  at::Tensor out = maskedAttention(q, k, v, allowed, /*force_math=*/true);
  at::Tensor row0 = causalAttention(q.narrow(0, 0, 1), k.narrow(0, 0, 1).narrow(2, 0, 5),
                                    v.narrow(0, 0, 1).narrow(2, 0, 5));
  at::Tensor row1 =
      causalAttention(q.narrow(0, 1, 1).narrow(2, 0, 1), k.narrow(0, 1, 1).narrow(2, 0, 6),
                      v.narrow(0, 1, 1).narrow(2, 0, 6));
  EXPECT_LE((out.narrow(0, 0, 1) - row0).abs().max().item<double>(), 1e-6);
  EXPECT_LE((out.narrow(0, 1, 1).narrow(2, 0, 1) - row1).abs().max().item<double>(), 1e-6);
  // Folding the mask first gives the same result.
  at::Tensor folded = maskedAttention(q, k, v, foldMaskForGqa(allowed, 2), true);
  EXPECT_TRUE(at::equal(out, folded));
  // So does the additive form the GPU path uses.
  at::Tensor additive = maskedAttention(q, k, v, additiveMask(allowed, at::kFloat), true);
  EXPECT_LE((additive - out).abs().max().item<double>(), 1e-6);
}

struct SlotBatch : ::testing::Test {
  SlotBatch() {
    at::manual_seed(3);
    lm = Qwen2ForCausalLM(namedQwen2Config("tiny"));
    lm->eval();
  }
  // Feeds `chunks[b]` to slot rows[b] in one padded call; returns [B, T, V].
  at::Tensor step(SlotKVCache& cache, const std::vector<int64_t>& rows,
                  const std::vector<std::vector<int64_t>>& chunks) {
    at::NoGradGuard g;
    int64_t t = 0;
    for (const auto& c : chunks) t = std::max<int64_t>(t, c.size());
    std::vector<int64_t> ids(rows.size() * t, 0), lens;
    for (size_t b = 0; b < rows.size(); ++b) {
      std::copy(chunks[b].begin(), chunks[b].end(), ids.begin() + b * t);
      lens.push_back(static_cast<int64_t>(chunks[b].size()));
    }
    Qwen2Inputs in;
    in.input_ids = at::tensor(ids, at::kLong).view({static_cast<int64_t>(rows.size()), t});
    in.slots = &cache;
    in.slot_rows = rows;
    in.slot_new_tokens = lens;
    return lm->forward(in);
  }
  Qwen2ForCausalLM lm{nullptr};
};

TEST_F(SlotBatch, RowsOfDifferentLengthsEqualTheirOwnForward) {
  const std::vector<std::vector<int64_t>> seq = {
      {5, 9, 14, 3, 77, 21, 8, 8, 100, 7, 2, 30, 31, 32, 33, 34, 35, 36, 37, 38},
      {400, 401, 402, 17, 18, 19, 20, 21, 22, 23},
      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  std::vector<at::Tensor> full;
  for (const auto& s : seq) full.push_back(fullLogits(lm, s));
  SlotKVCache cache = lm->newSlotCache(4);  // slot 3 stays unused
  std::vector<size_t> fed(3, 0);
  auto feed = [&](const std::vector<int64_t>& rows, const std::vector<size_t>& counts) {
    std::vector<std::vector<int64_t>> chunks;
    for (size_t b = 0; b < rows.size(); ++b) {
      const auto& s = seq[rows[b]];
      chunks.emplace_back(s.begin() + fed[rows[b]], s.begin() + fed[rows[b]] + counts[b]);
    }
    const at::Tensor got = step(cache, rows, chunks);
    for (size_t b = 0; b < rows.size(); ++b) {
      const int64_t r = rows[b], n = static_cast<int64_t>(counts[b]);
      const at::Tensor want = full[r].narrow(0, static_cast<int64_t>(fed[r]), n);
      EXPECT_LE(relError(got[b].narrow(0, 0, n), want), 2e-6) << "slot " << r << " at " << fed[r];
      fed[r] += counts[b];
      EXPECT_EQ(cache.length(r), static_cast<int64_t>(fed[r]));
    }
  };
  feed({0, 1, 2}, {7, 3, 5});  // prefills of different lengths, padded to 7
  feed({2, 0}, {1, 4});        // slots out of order: a gathered (not viewed) batch
  feed({0, 1, 2}, {1, 1, 1});  // decoding
  feed({1}, {2});              // one row alone
  feed({0, 2}, {3, 2});        // slots 0 and 2: not consecutive
  // A rejected continuation: slot 1 back to 4 tokens, then re-fed.
  cache.truncate(1, 4);
  fed[1] = 4;
  feed({0, 1, 2}, {2, 6, 1});
  // A hard reset empties one slot only.
  cache.clear(2);
  fed[2] = 0;
  feed({0, 2}, {1, 9});
  EXPECT_GE(cache.capacity(), 64);
  EXPECT_THROW(step(cache, {0, 0}, {{1}, {2}}), std::invalid_argument);  // a slot twice
}

TEST_F(SlotBatch, CapacityGrowsWithoutLosingTokens) {
  std::vector<int64_t> a(150), b(40);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int64_t>((i * 37) % 500);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int64_t>((i * 11 + 3) % 500);
  const at::Tensor fa = fullLogits(lm, a), fb = fullLogits(lm, b);
  SlotKVCache cache = lm->newSlotCache(2);
  step(cache, {0, 1}, {{a.begin(), a.begin() + 60}, {b.begin(), b.begin() + 30}});
  EXPECT_EQ(cache.capacity(), 64);
  const at::Tensor got =
      step(cache, {0, 1}, {{a.begin() + 60, a.end()}, {b.begin() + 30, b.end()}});
  EXPECT_GE(cache.capacity(), 150);
  EXPECT_LE(relError(got[0], fa.narrow(0, 60, 90)), 2e-6);
  EXPECT_LE(relError(got[1].narrow(0, 0, 10), fb.narrow(0, 30, 10)), 2e-6);
}

}  // namespace
}  // namespace svln::model
