// Sessions decoded as one batch (shared SlotKVCache, batched vision and prefill/decoding)
// record exactly what each records alone: the same ids, actions and answer tokens, and the
// same log-probabilities within float rounding, with different context lengths and window
// resets at different turns.
#include "model/stream_batch.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <random>

#include "model/action_codec.h"
#include "model/stream_session.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"
#include "tiny_streamvln_fixture.h"

namespace svln::model {
namespace {

struct StreamBatchTest : TinyStreamVLNFixture {
  static torch::Tensor frame(int env, int64_t step) {
    torch::manual_seed(1000 * env + step);
    return torch::randint(0, 256, {48, 64, 3}, torch::kUInt8);
  }
  static DecodeOptions options(int env) {
    DecodeOptions o;
    o.greedy = env == 2;  // one greedy row among sampled ones
    o.temperature = 1.2;
    return o;
  }
  // Executes a proposal: session `env` keeps a cap of leading moves that varies by turn
  // (so context lengths diverge); when it keeps none the expert takes 1-2 steps.
  static void execute(StreamSession& s, int env, int turn, const std::vector<int>& proposed) {
    const int cap = 1 + (env + turn) % 4;
    int kept = 0;
    while (kept < static_cast<int>(proposed.size()) && kept < cap && proposed[kept] != kActionStop)
      ++kept;
    std::vector<int> expert;
    if (kept == 0) expert.assign(1 + (env + turn) % 2, kActionLeft);
    s.endTurn(kept, expert);
    for (int64_t k = s.step() - kept - static_cast<int64_t>(expert.size()); k < s.step(); ++k)
      s.observe(frame(env, k + 1));
  }
  static constexpr int kEnvs = 3;
  static constexpr int64_t kSteps = 70;  // two window resets (32, 64)
  static const char* instruction(int env) {
    static const char* texts[] = {"go to the kitchen.",
                                  "walk out of the bedroom, turn left at the hallway and stop "
                                  "next to the blue sofa in the living room.",
                                  "exit through the door on your right."};
    return texts[env];
  }
};

TEST_F(StreamBatchTest, BatchedSessionsRecordWhatEachRecordsAlone) {
  torch::NoGradGuard no_grad;
  // Alone: each session with its own one-slot cache, B = 1 calls.
  std::vector<std::unique_ptr<StreamSession>> solo;
  for (int e = 0; e < kEnvs; ++e) {
    solo.push_back(
        std::make_unique<StreamSession>(model, tokenizer, codec, StreamingConfig{}, 11 + e));
    StreamSession& s = *solo.back();
    s.reset(instruction(e));
    s.observe(frame(e, 0));
    std::mt19937_64 rng(100 + e);
    for (int turn = 0; s.step() < kSteps; ++turn) {
      s.beginTurn();
      execute(s, e, turn, s.propose(options(e), rng));
    }
  }
  // Together: one SlotKVCache, every round opens the turns of the sessions still running.
  SlotKVCache slots = model.lm->newSlotCache(kEnvs);
  std::vector<std::unique_ptr<StreamSession>> batch;
  std::vector<std::mt19937_64> rngs;
  for (int e = 0; e < kEnvs; ++e) {
    batch.push_back(
        std::make_unique<StreamSession>(model, tokenizer, codec, StreamingConfig{}, 11 + e));
    batch.back()->useSlot(&slots, e);
    batch.back()->reset(instruction(e));
    batch.back()->observe(frame(e, 0));
    rngs.emplace_back(100 + e);
  }
  int mixed_rounds = 0;  // rounds where one session opens a window while another does not
  for (int turn = 0;; ++turn) {
    std::vector<StreamSession*> running;
    std::vector<DecodeOptions> opts;
    std::vector<std::mt19937_64*> rng_ptrs;
    std::vector<int> envs;
    int opening = 0;
    for (int e = 0; e < kEnvs; ++e) {
      if (batch[e]->step() >= kSteps) continue;
      running.push_back(batch[e].get());
      opts.push_back(options(e));
      rng_ptrs.push_back(&rngs[e]);
      envs.push_back(e);
      opening += batch[e]->turnFrameSteps().size() > 1;
    }
    if (running.empty()) break;
    mixed_rounds += opening > 0 && opening < static_cast<int>(running.size());
    beginTurns(running);
    proposeBatch(running, opts, rng_ptrs);
    for (size_t k = 0; k < running.size(); ++k)
      execute(*running[k], envs[k], turn, running[k]->proposal());
  }
  EXPECT_GT(mixed_rounds, 0);
  for (int e = 0; e < kEnvs; ++e) {
    const StreamSession& a = *solo[e];
    const StreamSession& b = *batch[e];
    ASSERT_EQ(a.windows().size(), 3u) << "env " << e;
    ASSERT_EQ(b.windows().size(), a.windows().size()) << "env " << e;
    for (size_t w = 0; w < a.windows().size(); ++w) {
      EXPECT_EQ(a.windows()[w].ids, b.windows()[w].ids) << "env " << e << " window " << w;
      EXPECT_EQ(a.windows()[w].image_steps, b.windows()[w].image_steps);
      EXPECT_EQ(a.windows()[w].memory_steps, b.windows()[w].memory_steps);
    }
    ASSERT_EQ(a.answerTokens().size(), b.answerTokens().size()) << "env " << e;
    int policy_tokens = 0;
    for (size_t k = 0; k < a.answerTokens().size(); ++k) {
      const AnswerToken& x = a.answerTokens()[k];
      const AnswerToken& y = b.answerTokens()[k];
      EXPECT_EQ(x.token, y.token);
      EXPECT_EQ(x.action, y.action);
      EXPECT_EQ(x.step, y.step);
      EXPECT_EQ(x.source, y.source);
      EXPECT_EQ(x.ids_index, y.ids_index);
      EXPECT_NEAR(x.logp, y.logp, 1e-4) << "env " << e << " token " << k;
      policy_tokens += x.source == TokenSource::kPolicy;
    }
    EXPECT_GT(policy_tokens, 10) << "env " << e;
  }
}

TEST_F(StreamBatchTest, SuppressedStopIsNeverProposedButKeepsTrueLogProbs) {
  torch::NoGradGuard no_grad;
  StreamSession s(model, tokenizer, codec, StreamingConfig{}, 3);
  s.reset("go to the kitchen.");
  std::mt19937_64 rng(5);
  DecodeOptions o;
  o.greedy = false;
  o.allow_stop = false;
  int64_t step = 0;
  s.observe(frame(0, step));
  for (int turn = 0; turn < 6; ++turn) {
    s.beginTurn();
    const std::vector<int> a = s.propose(o, rng);
    for (int x : a) EXPECT_NE(x, kActionStop);
    s.endTurn(static_cast<int>(a.size()), {});
    for (size_t k = 0; k < a.size(); ++k) s.observe(frame(0, ++step));
  }
  // The recorded log-probabilities are those of the full alphabet (STOP included), as the
  // trainer recomputes them: equal to a greedy-free session's alphabetLogProbs row.
  ASSERT_FALSE(s.answerTokens().empty());
  for (const auto& t : s.answerTokens()) EXPECT_LT(t.logp, 0.f);
  const WindowRecord& w = s.windows()[0];
  std::vector<torch::Tensor> images;
  for (int64_t st : w.image_steps)
    images.push_back(model.encodeFrames(s.frames()[st].unsqueeze(0)).squeeze(0));
  std::vector<int32_t> pos;
  std::vector<uint8_t> allow;
  for (const auto& t : s.answerTokens()) {
    pos.push_back(t.ids_index);
    allow.push_back(t.allow_end);
  }
  const torch::Tensor lp = alphabetLogProbs(windowLogits(model, w, images, torch::Tensor(), pos),
                                            codec, torch::tensor(allow).to(torch::kBool), 1.0);
  for (size_t i = 0; i < pos.size(); ++i) {
    const int col = alphabetColumn(codec, s.answerTokens()[i].token);
    EXPECT_NEAR(lp[static_cast<int64_t>(i)][col].item<float>(), s.answerTokens()[i].logp, 2e-4);
  }
}

}  // namespace
}  // namespace svln::model
