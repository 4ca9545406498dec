// The Qwen2 decoder against transformers 5.17 (fixtures from tests/data/model/make_golden.py)
// and the invariants streaming relies on: KV-cache steps equal a full forward, padding and
// explicit positions, gradient checkpointing gives the same gradients.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/attention.h"
#include "model/checkpoint.h"
#include "model/qwen2.h"

namespace svln::model {
namespace {

const std::string kData = std::string(SVLN_TEST_DATA) + "/model/";

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

at::Tensor ids1(const std::vector<int64_t>& ids) { return at::tensor(ids, at::kLong).unsqueeze(0); }

at::Tensor fullLogits(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids) {
  at::NoGradGuard g;
  Qwen2Inputs in;
  in.input_ids = ids1(ids);
  return lm->forward(in)[0];  // [T, V]
}

// Max |C++ - transformers| over the stored logits rows, and greedy ids with the KV cache.
void checkGolden(const std::string& dir) {
  Qwen2ForCausalLM lm = loadQwen2(kData + dir);
  nlohmann::json golden = readJson(kData + dir + "/golden.json");
  for (const auto& seq : golden["sequences"]) {
    auto ids = seq["ids"].get<std::vector<int64_t>>();
    at::Tensor logits = fullLogits(lm, ids);
    const int64_t from = seq["logits_from"].get<int64_t>();
    auto rows = seq["logits"].get<std::vector<std::vector<float>>>();
    at::Tensor expected = at::empty({static_cast<int64_t>(rows.size()), logits.size(1)});
    for (size_t r = 0; r < rows.size(); ++r)
      expected[r].copy_(at::tensor(rows[r], at::kFloat));
    double err = (logits.narrow(0, from, expected.size(0)) - expected).abs().max().item<double>();
    EXPECT_LE(err, 1e-4) << dir << " ids " << seq["ids"].dump();
    EXPECT_EQ(greedyGenerate(lm, ids, 8), seq["greedy"].get<std::vector<int64_t>>())
        << dir << " ids " << seq["ids"].dump();
  }
}

TEST(Qwen2Golden, TiedEmbeddingsFp32Transformers5Config) { checkGolden("tied"); }

TEST(Qwen2Golden, UntiedBf16ShardedTransformers4Config) { checkGolden("untied"); }

TEST(Qwen2, RmsNormWorkedNumbers) {
  RMSNorm norm(2, 0.0);
  norm->weight.data().copy_(at::tensor({1.0f, 2.0f}));
  // x = [3, 4]: mean(x^2) = 12.5, x / sqrt(12.5) = [0.84853, 1.13137], times w = [1, 2].
  at::Tensor y = norm(at::tensor({3.0f, 4.0f}));
  EXPECT_NEAR(y[0].item<float>(), 0.848528f, 1e-5);
  EXPECT_NEAR(y[1].item<float>(), 2.262742f, 1e-5);
}

TEST(Qwen2, RopeTablesWorkedNumbers) {
  // D = 4, theta = 10000: inv_freq = [1, 0.01]; position 2 -> angles [2, 0.02, 2, 0.02].
  auto [cos, sin] = ropeTables(at::tensor({int64_t{0}, int64_t{2}}).unsqueeze(0), 4, 10000.0,
                               at::kFloat);
  EXPECT_FLOAT_EQ(cos[0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(sin[0][0][3].item<float>(), 0.0f);
  EXPECT_NEAR(cos[0][1][0].item<float>(), -0.4161468f, 1e-6);
  EXPECT_NEAR(sin[0][1][1].item<float>(), 0.0199987f, 1e-6);
  EXPECT_NEAR(cos[0][1][2].item<float>(), -0.4161468f, 1e-6);  // halves repeat
  // rotate_half on x = [1, 0, 0, 0] at angle 2: [cos 2, 0, sin 2, 0].
  at::Tensor x = at::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({1, 1, 1, 4});
  at::Tensor r = applyRope(x, cos.narrow(1, 1, 1), sin.narrow(1, 1, 1));
  EXPECT_NEAR(r.flatten()[0].item<float>(), -0.4161468f, 1e-6);
  EXPECT_NEAR(r.flatten()[2].item<float>(), 0.9092974f, 1e-6);
}

TEST(Qwen2, AttentionIsCausalWithCacheOffsetAndGqa) {
  at::manual_seed(0);
  at::Tensor q = at::randn({1, 4, 3, 8}), k = at::randn({1, 2, 5, 8}), v = at::randn({1, 2, 5, 8});
  at::Tensor out = causalAttention(q, k, v);
  // Query 0 sits at position 2 (5 keys, 3 queries): it sees keys 0..2 only, and query head
  // 1 uses kv head 0, head 2 uses kv head 1.
  at::Tensor q0 = q.narrow(2, 0, 1);
  at::Tensor k3 = k.narrow(2, 0, 3), v3 = v.narrow(2, 0, 3);
  for (int64_t h = 0; h < 4; ++h) {
    at::Tensor s = at::softmax(at::matmul(q0[0][h], k3[0][h / 2].t()) / std::sqrt(8.0), -1);
    at::Tensor expected = at::matmul(s, v3[0][h / 2]);
    EXPECT_LE((out[0][h][0] - expected[0]).abs().max().item<double>(), 1e-6) << "head " << h;
  }
}

TEST(Qwen2, KvCacheStepsEqualFullForward) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "untied");
  std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  at::Tensor full = fullLogits(lm, ids);
  at::NoGradGuard g;
  KVCache cache = lm->newCache();
  Qwen2Inputs in;
  in.cache = &cache;
  in.input_ids = ids1({1, 2, 3, 4, 5});  // prefill 5, then 2 + 1 + 1 + 1 + 1
  at::Tensor got = lm->forward(in);
  EXPECT_LE((got[0] - full.narrow(0, 0, 5)).abs().max().item<double>(), 1e-5);
  int64_t pos = 5;
  for (int64_t n : {2, 1, 1, 1, 1}) {
    in.input_ids = ids1(std::vector<int64_t>(ids.begin() + pos, ids.begin() + pos + n));
    got = lm->forward(in);
    EXPECT_LE((got[0] - full.narrow(0, pos, n)).abs().max().item<double>(), 1e-5) << "at " << pos;
    pos += n;
  }
  EXPECT_EQ(cache.length(), 11);
  // Truncate back to 7 and re-run the tail: same logits (a rejected continuation).
  cache.truncate(7);
  in.input_ids = ids1({8, 9, 10, 11});
  got = lm->forward(in);
  EXPECT_LE((got[0] - full.narrow(0, 7, 4)).abs().max().item<double>(), 1e-5);
  // A clone continues independently of the original.
  KVCache fork = cache.clone();
  cache.truncate(3);
  in.cache = &fork;
  in.input_ids = ids1({5});
  EXPECT_EQ(fork.length(), 11);
  EXPECT_NO_THROW(lm->forward(in));
}

TEST(Qwen2, LeftPaddedBatchEqualsSingleSequences) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "untied");
  at::NoGradGuard g;
  // Row 0: [0, 0, 5, 17, 250] with two pads; row 1: five real tokens.
  Qwen2Inputs in;
  in.input_ids = at::tensor(std::vector<int64_t>{0, 0, 5, 17, 250, 300, 42, 42, 7, 499}, at::kLong).view({2, 5});
  in.key_padding_mask =
      at::tensor(std::vector<int64_t>{0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 5});
  in.position_ids =
      at::tensor(std::vector<int64_t>{0, 0, 0, 1, 2, 0, 1, 2, 3, 4}, at::kLong).view({2, 5});
  at::Tensor batch = lm->forward(in);
  at::Tensor a = fullLogits(lm, {5, 17, 250});
  at::Tensor b = fullLogits(lm, {300, 42, 42, 7, 499});
  EXPECT_LE((batch[0].narrow(0, 2, 3) - a).abs().max().item<double>(), 1e-5);
  EXPECT_LE((batch[1] - b).abs().max().item<double>(), 1e-5);
}

TEST(Qwen2, EmbeddingsInputEqualsIdsInput) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  at::NoGradGuard g;
  Qwen2Inputs in;
  in.inputs_embeds = lm->embed(ids1({5, 17, 250}));
  at::Tensor a = lm->forward(in)[0];
  EXPECT_LE((a - fullLogits(lm, {5, 17, 250})).abs().max().item<double>(), 1e-6);
  in.input_ids = ids1({5, 17, 250});
  EXPECT_THROW(lm->forward(in), std::invalid_argument);  // both given
}

TEST(Qwen2, GradientCheckpointingGivesTheSameGradients) {
  auto grads = [](bool checkpointing) {
    Qwen2ForCausalLM lm = loadQwen2(kData + "untied");
    lm->train();
    lm->setGradientCheckpointing(checkpointing);
    Qwen2Inputs in;
    in.input_ids = ids1({1, 2, 3, 4, 5, 6});
    at::Tensor logits = lm->forward(in);
    at::Tensor loss = at::cross_entropy_loss(logits[0].narrow(0, 0, 5),
                                             at::tensor(std::vector<int64_t>{2, 3, 4, 5, 6}, at::kLong));
    loss.backward();
    std::vector<at::Tensor> g;
    for (const auto& p : lm->named_parameters()) g.push_back(p.value().grad().clone());
    return std::make_pair(loss.item<double>(), g);
  };
  auto [loss_a, ga] = grads(false);
  auto [loss_b, gb] = grads(true);
  EXPECT_NEAR(loss_a, loss_b, 1e-6);
  ASSERT_EQ(ga.size(), gb.size());
  for (size_t i = 0; i < ga.size(); ++i) {
    ASSERT_TRUE(gb[i].defined()) << "parameter " << i << " got no gradient";
    EXPECT_LE((ga[i] - gb[i]).abs().max().item<double>(), 1e-5) << "parameter " << i;
  }
  EXPECT_GT(ga[3].abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace svln::model
