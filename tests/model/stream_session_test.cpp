#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "model/action_codec.h"
#include "model/stream_session.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"
#include "tiny_streamvln_fixture.h"

namespace svln::model {
namespace {

TEST(ActionText, ParsesLikeTheRelease) {
  EXPECT_EQ(actionsToText({1, 2, 3, 0}), "↑←→STOP");
  EXPECT_EQ(parseActions("↑↑←"), (std::vector<int>{1, 1, 2}));
  EXPECT_EQ(parseActions("a→b STOP ↑"), (std::vector<int>{3, 0, 1}));
  EXPECT_EQ(parseActions("nothing here"), (std::vector<int>{0}));
}

struct TinyStreamVLN : TinyStreamVLNFixture {
  torch::Tensor frame(int64_t seed) {
    torch::manual_seed(seed);
    return torch::randint(0, 256, {48, 64, 3}, torch::kUInt8);
  }
  // Recomputes every policy token's log-probability from the stored window without a cache.
  void expectRecordsReproduce(const StreamSession& s, double temperature) {
    torch::NoGradGuard no_grad;
    std::vector<WindowLogitsRequest> requests;
    std::vector<torch::Tensor> one_by_one;
    for (size_t w = 0; w < s.windows().size(); ++w) {
      const WindowRecord& win = s.windows()[w];
      std::vector<torch::Tensor> images;
      for (int64_t st : win.image_steps) images.push_back(model.encodeFrames(s.frames()[st].unsqueeze(0)).squeeze(0));
      torch::Tensor memory;
      if (!win.memory_steps.empty()) {
        std::vector<torch::Tensor> m;
        for (int64_t st : win.memory_steps) m.push_back(s.frames()[st]);
        memory = model.encodeFrames(torch::stack(m)).flatten(0, 1);
      }
      std::vector<int32_t> pos;
      std::vector<bool> allow;
      std::vector<const AnswerToken*> recs;
      for (const AnswerToken& t : s.answerTokens()) {
        if (t.window != static_cast<int32_t>(w) || t.source != TokenSource::kPolicy) continue;
        EXPECT_EQ(win.ids[t.ids_index], t.token);
        pos.push_back(t.ids_index);
        allow.push_back(t.allow_end);
        recs.push_back(&t);
      }
      if (pos.empty()) continue;
      const auto logits = windowLogits(model, win, images, memory, pos);
      requests.push_back({&win, images, memory, pos});
      one_by_one.push_back(logits);
      auto allow_t = torch::zeros({static_cast<int64_t>(allow.size())}, torch::kBool);
      for (size_t i = 0; i < allow.size(); ++i) allow_t[i] = static_cast<bool>(allow[i]);
      const auto lp = alphabetLogProbs(logits, codec, allow_t, temperature);
      for (size_t i = 0; i < recs.size(); ++i) {
        const int col = alphabetColumn(codec, recs[i]->token);
        EXPECT_NEAR(lp[i][col].item<float>(), recs[i]->logp, 2e-4) << "window " << w << " token " << i;
      }
    }
    // The windows packed into one right-padded batch (and, with a budget of 1 token, one
    // per forward) give the same logits.
    for (const int64_t budget : {int64_t{1} << 20, int64_t{1}}) {
      const std::vector<torch::Tensor> packed = windowLogitsBatch(model, requests, budget);
      ASSERT_EQ(packed.size(), one_by_one.size());
      for (size_t k = 0; k < packed.size(); ++k)
        EXPECT_LE((packed[k] - one_by_one[k]).abs().max().item<float>(), 1e-4F)
            << "window " << k << " budget " << budget;
    }
  }
};

TEST_F(TinyStreamVLN, CachedRolloutLogProbsEqualTeacherForcedRecompute) {
  StreamSession s(model, tokenizer, codec, StreamingConfig{}, 7);
  s.reset("walk out of the bedroom and stop next to the blue sofa.");
  std::mt19937_64 rng(1);
  DecodeOptions opt;
  opt.greedy = false;
  opt.temperature = 1.3;
  int64_t seed = 0;
  s.observe(frame(seed++));
  // 45 steps: crosses a window boundary at 32, so the second window carries memory.
  while (s.step() < 45) {
    s.beginTurn();
    std::vector<int> a = s.propose(opt, rng);
    // Pretend STOP was not executed (keep the episode going) by keeping only moves.
    int kept = 0;
    while (kept < static_cast<int>(a.size()) && a[kept] != kActionStop) ++kept;
    std::vector<int> expert;
    if (kept == 0) expert.push_back(kActionForward);  // the expert steps in
    s.endTurn(kept, expert);
    for (int i = 0; i < kept + static_cast<int>(expert.size()); ++i) s.observe(frame(seed++));
  }
  ASSERT_EQ(s.windows().size(), 2u);
  const auto& mem = s.windows()[1].memory_steps;
  ASSERT_EQ(mem.size(), 8u);
  const int64_t t = s.windows()[1].image_steps.front();  // the step the window began
  EXPECT_GE(t, 32);
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(mem[i], i * t / 8);
  expectRecordsReproduce(s, 1.3);
}

TEST_F(TinyStreamVLN, TakeoverRewritesTheAnswer) {
  StreamSession s(model, tokenizer, codec, StreamingConfig{}, 7);
  s.reset("go to the kitchen.");
  std::mt19937_64 rng(2);
  s.observe(frame(1));
  s.beginTurn();
  const std::vector<int> proposed = s.propose(DecodeOptions{}, rng);
  ASSERT_FALSE(proposed.empty());
  s.endTurn(0, {kActionLeft, kActionLeft});  // the expert took over at once
  EXPECT_EQ(s.step(), 2);
  int expert_tokens = 0;
  for (const auto& t : s.answerTokens()) {
    EXPECT_EQ(t.source, TokenSource::kExpert);
    EXPECT_EQ(t.action, kActionLeft);
    ++expert_tokens;
  }
  EXPECT_EQ(expert_tokens, 2);
  const auto& ids = s.windows()[0].ids;
  const std::string tail = tokenizer.decode({ids.end() - 4, ids.end()});
  EXPECT_NE(tail.find("←←<|im_end|>"), std::string::npos) << tail;
  s.observe(frame(2));
  s.observe(frame(3));
  s.beginTurn();  // the next turn prefills the expert's answer with the new user turn
  s.propose(DecodeOptions{}, rng);
  s.endTurn(1, {});
  expectRecordsReproduce(s, 1.0);
}

}  // namespace
}  // namespace svln::model
