// The tests that would have caught a trainer that does not learn (issue: the hybrid stage
// collapsed a good base): the update recomputes exactly the log-probabilities the rollout
// sampled with, and GRPO alone, on a task with one rewarded action, raises the mean return
// and that action's probability within a few updates.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../sim/test_scenes.h"
#include "room_episode.h"
#include "model/lora.h"
#include "rl/policy.h"
#include "rl/rollout.h"
#include "rl/update.h"
#include "sim/scene_cache.h"

namespace svln::rl {
namespace {

using sim::Vec3;

using test::roomEpisode;

class Learning : public ::testing::Test {
 protected:
  Learning() {
    cfg_.rgb = {32, 24, 79.f, 1.25f, 0.f, 10.f, false};
    cfg_.depth = cfg_.rgb;
    cache_ = std::make_shared<sim::SceneCache>();
    cache_->insert("mem/room", sim::makeScene(sim::test::openRoom(), "mem/room"));
    torch::manual_seed(0);
    policy_.tokenizer = std::make_unique<model::Tokenizer>(
        model::Tokenizer::fromJsonText(model::syntheticTokenizerJson(512, 3), "synthetic"));
    policy_.model = std::make_unique<model::StreamVLN>(model::namedStreamVLNConfig("tiny"));
    policy_.model->randomInit(1);
    policy_.model->lm->eval();
    attachTokenizer(policy_);
    episodes_ = {roomEpisode("a", {2, 0, 2}, 0.f, {8, 0, 8}),
                 roomEpisode("b", {8, 0, 3}, 1.f, {2, 0, 8})};
  }

  std::vector<Trajectory> rollout(int group, uint64_t seed, int max_steps,
                                  expert::InterventionConfig iv = {}) {
    cfg_.max_episode_steps = max_steps;
    sim::VecEnv envs(cfg_, static_cast<int>(episodes_.size()) * group, 2, cache_);
    RolloutOptions o;
    o.mode = RolloutMode::kTrain;
    o.decode.greedy = false;
    o.decode.temperature = 1.0;
    o.intervention = iv;
    RolloutEngine engine(envs, *policy_.model, *policy_.tokenizer, *policy_.codec, o);
    torch::NoGradGuard no_grad;
    return engine.run(episodes_, group, seed);
  }

  // LoRA adapters (r 4 on q_proj/v_proj) with B = 0: the policy is the base model.
  void useLora() {
    model::LoraConfig lora;
    lora.r = 4;
    lora.alpha = 8;
    lora.dropout = 0.0;
    lora.seed = 3;
    model::applyLora(policy_.model->root(), lora);
  }
  std::vector<torch::Tensor> trainable() {
    std::vector<torch::Tensor> params;
    for (auto& p : policy_.model->root().parameters())
      if (p.requires_grad()) params.push_back(p);
    return params;
  }

  sim::HabitatConfig cfg_;
  std::shared_ptr<sim::SceneCache> cache_;
  Policy policy_;
  std::vector<sim::Episode> episodes_;
};

// At the first PPO epoch the ratio must be exactly 1: the update's recomputation of every
// policy token (packed windows, window resets, expert takeovers in the context) gives the
// log-probability the batched rollout recorded when it sampled that token.
TEST_F(Learning, RecomputedLogProbsEqualTheSampledOnesTokenByToken) {
  expert::InterventionConfig iv;
  iv.offtrack_heading_thresh_deg = 10.f;  // takeovers mid-episode, so contexts mix sources
  iv.heading_guard_dist = 0.f;
  iv.offtrack_patience = 1;
  iv.goal_stop_patience = 0;
  useLora();
  const std::vector<Trajectory> trajs = rollout(3, 5, 40, iv);
  UpdateOptions o;
  o.temperature = 1.0;
  int checked = 0, with_expert = 0;
  for (const Trajectory& t : trajs) {
    const TrajectoryTargets g = collectTargets(t, *policy_.codec, o);
    const TrajectoryTerms terms = trajectoryTerms(*policy_.model, *policy_.codec, t, 1.0, g, o);
    ASSERT_EQ(terms.logp.numel(), static_cast<int64_t>(g.policy.size()));
    for (size_t k = 0; k < g.policy.size(); ++k) {
      const float sampled = t.answer_tokens[static_cast<size_t>(g.policy[k])].logp;
      EXPECT_NEAR(terms.logp[static_cast<int64_t>(k)].item<float>(), sampled, 1e-4)
          << "episode " << t.episode.episode_id << " member " << t.member << " token " << k;
      ++checked;
    }
    EXPECT_EQ(terms.clipped, 0);
    with_expert += t.counters.expert_steps > 0;
  }
  EXPECT_GT(checked, 20);
  EXPECT_GT(with_expert, 0);
}

// One-step episodes; reward +1 when that step is STOP, 0 otherwise. Pure GRPO (group-relative
// advantages, clipped surrogate, AdamW on LoRA) must raise both the sampled mean return and
// P(STOP | start) within a few updates.
TEST_F(Learning, GrpoAloneRaisesTheReturnAndTheProbabilityOfTheRewardedAction) {
  constexpr int kGroup = 8;
  auto reward = [](const Trajectory& t) {
    return !t.steps.empty() && t.steps.front().action == sim::Action::Stop ? 1.0 : 0.0;
  };
  // P(STOP) at the first decision: the start state is the same for every member of a
  // group, so a member that stopped first recorded exactly that probability.
  auto stopProbability = [](const std::vector<Trajectory>& trajs) {
    double sum = 0;
    int n = 0;
    for (const Trajectory& t : trajs) {
      if (t.steps.empty() || t.steps.front().action != sim::Action::Stop) continue;
      sum += std::exp(t.answer_tokens.at(static_cast<size_t>(t.steps.front().answer_token)).logp);
      ++n;
    }
    return n > 0 ? sum / n : 0.0;
  };
  auto meanReturn = [&](const std::vector<Trajectory>& trajs) {
    double r = 0;
    for (const Trajectory& t : trajs) r += reward(t);
    return r / static_cast<double>(trajs.size());
  };
  expert::InterventionConfig off;
  off.enable_recovery = false;
  const std::vector<Trajectory> before = rollout(16, 100, 1, off);

  // Every parameter trains: rank-4 adapters on q/v of this 2-layer random model move the
  // first decision only slowly (P(STOP) 0.21 -> 0.46 in 8 updates), which would test LoRA's
  // reach rather than GRPO.
  const std::vector<torch::Tensor> params = trainable();
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  PolicyUpdater updater(*policy_.model, *policy_.codec, params, opt);
  UpdateOptions o;
  o.mini_batch_size = kGroup;
  o.aggregation = io::LossAggMode::SeqMeanTokenSumNorm;
  o.token_norm = 1.0;
  RunningBaseline unused;
  for (int u = 0; u < 8; ++u) {
    const std::vector<Trajectory> trajs = rollout(kGroup, 1000 + u, 1, off);
    std::vector<double> returns;
    for (const Trajectory& t : trajs) returns.push_back(reward(t));
    const UpdateStats st = updater.update(trajs, trajectoryAdvantages(returns, kGroup, unused), o);
    EXPECT_EQ(st.steps_skipped, 0);
  }
  const std::vector<Trajectory> after = rollout(16, 100, 1, off);
  const double p0 = stopProbability(before), p1 = stopProbability(after);
  ASSERT_GT(p0, 0.0) << "no member stopped first before training";
  EXPECT_GT(meanReturn(after), meanReturn(before) + 0.3)
      << "return " << meanReturn(before) << " -> " << meanReturn(after);
  EXPECT_GT(p1, p0 + 0.3) << "P(STOP | start) " << p0 << " -> " << p1;
}

}  // namespace
}  // namespace svln::rl
