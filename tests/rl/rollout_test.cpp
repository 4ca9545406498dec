#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../sim/test_scenes.h"
#include "room_episode.h"
#include "model/chat_template.h"
#include "rl/policy.h"
#include "rl/rollout.h"
#include "sim/scene_cache.h"

namespace svln::rl {
namespace {

using sim::Vec3;

using test::roomEpisode;

class RolloutTest : public ::testing::Test {
 protected:
  RolloutTest() {
    cfg_.rgb = {32, 24, 79.f, 1.25f, 0.f, 10.f, false};
    cfg_.depth = cfg_.rgb;
    cfg_.max_episode_steps = 80;
    cache_ = std::make_shared<sim::SceneCache>();
    cache_->insert("mem/room", sim::makeScene(sim::test::openRoom(), "mem/room"));
    torch::manual_seed(0);
    policy_.tokenizer = std::make_unique<model::Tokenizer>(
        model::Tokenizer::fromJsonText(model::syntheticTokenizerJson(512, 3), "synthetic"));
    policy_.model = std::make_unique<model::StreamVLN>(model::namedStreamVLNConfig("tiny"));
    policy_.model->randomInit(1);
    attachTokenizer(policy_);
    episodes_ = {roomEpisode("a", {2, 0, 2}, 0.f, {8, 0, 8}),
                 roomEpisode("b", {8, 0, 3}, 1.f, {2, 0, 8})};
  }
  std::vector<Trajectory> run(RolloutMode mode, int group, uint64_t seed,
                              expert::InterventionConfig iv = {}, bool batched = true,
                              bool allow_stop = true, int overlap = -1) {
    sim::VecEnv envs(cfg_, static_cast<int>(episodes_.size()) * group, 2, cache_);
    RolloutOptions o;
    o.overlap_env_steps = overlap;
    o.mode = mode;
    o.decode.greedy = false;
    o.decode.allow_stop = allow_stop;
    o.intervention = iv;
    o.batched = batched;
    RolloutEngine engine(envs, *policy_.model, *policy_.tokenizer, *policy_.codec, o);
    torch::NoGradGuard no_grad;
    return engine.run(episodes_, group, seed);
  }
  sim::HabitatConfig cfg_;
  std::shared_ptr<sim::SceneCache> cache_;
  Policy policy_;
  std::vector<sim::Episode> episodes_;
};

// Every executed step is in the conversation as the token of its action, written by the
// policy (with a log-probability) or by the expert; the counters agree with the records.
void expectTruthfulContext(const Trajectory& t) {
  int expert_steps = 0;
  for (size_t s = 0; s < t.steps.size(); ++s) {
    const StepRecord& r = t.steps[s];
    ASSERT_GE(r.answer_token, 0) << "step " << s;
    const model::AnswerToken& a = t.answer_tokens[r.answer_token];
    EXPECT_EQ(a.action, static_cast<int>(r.action)) << "step " << s;
    EXPECT_EQ(a.step, static_cast<int64_t>(s));
    EXPECT_EQ(a.source == model::TokenSource::kExpert, r.source == expert::Source::Expert);
    if (a.source == model::TokenSource::kPolicy) EXPECT_LT(a.logp, 0.f);
    expert_steps += r.source == expert::Source::Expert;
  }
  // A frame per visited state: the start, then after every action but the last.
  EXPECT_EQ(t.frames.size(), t.steps.size());
  EXPECT_EQ(static_cast<size_t>(t.metrics.steps), t.steps.size());
  EXPECT_EQ(t.counters.expert_steps, expert_steps);
}

TEST_F(RolloutTest, TrainRolloutsAreTruthfulAndReproducible) {
  expert::InterventionConfig iv;
  // Off track as soon as the agent leaves the path without facing its target, so the
  // expert takes over mid-turn and hands back later.
  iv.offtrack_heading_thresh_deg = 10.f;
  iv.heading_guard_dist = 0.f;
  iv.offtrack_patience = 1;
  const auto a = run(RolloutMode::kTrain, 2, 11, iv);
  ASSERT_EQ(a.size(), 4u);
  int expert_steps = 0;
  for (const auto& t : a) {
    expectTruthfulContext(t);
    expert_steps += t.counters.expert_steps;
  }
  EXPECT_GT(expert_steps, 0);
  int takeovers = 0;
  for (const auto& t : a) {
    for (const auto& s : t.steps) {
      if (s.reason == expert::Reason::OfftrackHeading) {
        EXPECT_EQ(s.source, expert::Source::Expert);
        ++takeovers;
      }
    }
  }
  EXPECT_GT(takeovers, 0);
  const auto b = run(RolloutMode::kTrain, 2, 11, iv);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].steps.size(), b[i].steps.size());
    for (size_t s = 0; s < a[i].steps.size(); ++s) EXPECT_EQ(a[i].steps[s].action, b[i].steps[s].action);
  }
  EXPECT_EQ(a[0].group, 0);
  EXPECT_EQ(a[1].member, 1);
  EXPECT_EQ(a[2].episode.episode_id, "b");
}

// The batched engine (one SlotKVCache; batched vision, prefill and decoding) records what
// the envs record one by one: 4 envs in long episodes (STOP suppressed, no forced stop)
// with takeovers, so their contexts differ in length and cross window resets.
TEST_F(RolloutTest, BatchedEngineEqualsEnvsOneByOne) {
  expert::InterventionConfig iv;
  iv.offtrack_heading_thresh_deg = 10.f;
  iv.heading_guard_dist = 0.f;
  iv.offtrack_patience = 1;
  iv.goal_stop_patience = 0;
  const auto one = run(RolloutMode::kTrain, 2, 5, iv, /*batched=*/false, /*allow_stop=*/false);
  const auto all = run(RolloutMode::kTrain, 2, 5, iv, /*batched=*/true, /*allow_stop=*/false);
  ASSERT_EQ(one.size(), all.size());
  size_t windows = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    const Trajectory& a = one[i];
    const Trajectory& b = all[i];
    expectTruthfulContext(b);
    ASSERT_EQ(a.steps.size(), b.steps.size()) << "trajectory " << i;
    for (size_t s = 0; s < a.steps.size(); ++s) {
      EXPECT_EQ(a.steps[s].action, b.steps[s].action) << "trajectory " << i << " step " << s;
      EXPECT_EQ(a.steps[s].source, b.steps[s].source);
    }
    ASSERT_EQ(a.windows.size(), b.windows.size());
    for (size_t w = 0; w < a.windows.size(); ++w) EXPECT_EQ(a.windows[w].ids, b.windows[w].ids);
    ASSERT_EQ(a.answer_tokens.size(), b.answer_tokens.size());
    for (size_t k = 0; k < a.answer_tokens.size(); ++k) {
      EXPECT_EQ(a.answer_tokens[k].token, b.answer_tokens[k].token);
      EXPECT_NEAR(a.answer_tokens[k].logp, b.answer_tokens[k].logp, 1e-4);
    }
    windows += a.windows.size();
  }
  EXPECT_GE(windows, 2 * one.size());  // every trajectory crossed a window reset
}

// RolloutOptions::timings splits the run's time by phase and counts its steps, actions and
// turns; on_step sees every step in order. Timing changes nothing the rollout records.
TEST_F(RolloutTest, TimingsCoverEveryPhaseAndStepHookSeesEachStep) {
  sim::VecEnv envs(cfg_, 4, 2, cache_);
  RolloutOptions o;
  o.decode.greedy = false;
  o.decode.allow_stop = false;
  o.timings = true;
  std::vector<int> seen;
  o.on_step = [&](int step) { seen.push_back(step); };
  RolloutEngine engine(envs, *policy_.model, *policy_.tokenizer, *policy_.codec, o);
  torch::NoGradGuard no_grad;
  const auto timed = engine.run(episodes_, 2, 5);
  const RolloutTimings& t = engine.timings();
  int64_t actions = 0;
  size_t longest = 0;
  for (const auto& tr : timed) {
    actions += static_cast<int64_t>(tr.steps.size());
    longest = std::max(longest, tr.steps.size());
  }
  EXPECT_EQ(t.actions, actions);
  EXPECT_EQ(t.steps, static_cast<int64_t>(longest));
  ASSERT_EQ(seen.size(), longest);
  for (size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k], static_cast<int>(k));
  EXPECT_GE(t.turns, t.policy_turns);
  EXPECT_GE(t.policy_turns, 4);  // every env opened at least its first turn as the policy
  EXPECT_GT(t.vision_s, 0.0);
  EXPECT_GT(t.policy_s, 0.0);
  EXPECT_GT(t.expert_s, 0.0);
  EXPECT_GT(t.env_s, 0.0);
  EXPECT_GT(t.other_s, 0.0);
  EXPECT_NEAR(t.total(), t.vision_s + t.policy_s + t.expert_s + t.env_s + t.other_s, 1e-12);

  const auto plain = run(RolloutMode::kTrain, 2, 5, {}, true, false);
  ASSERT_EQ(plain.size(), timed.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain[i].steps.size(), timed[i].steps.size());
    for (size_t s = 0; s < plain[i].steps.size(); ++s)
      EXPECT_EQ(plain[i].steps[s].action, timed[i].steps[s].action);
  }
}

// Stepping the envs whose turn continues while the model serves the turns that open
// (what a GPU run does) records exactly what the sequential step records: takeovers and
// rollbacks included.
TEST_F(RolloutTest, OverlappedEnvStepsEqualSequential) {
  for (const auto mode : {expert::RecoveryMode::Takeover, expert::RecoveryMode::Rollback}) {
    expert::InterventionConfig iv;
    iv.offtrack_heading_thresh_deg = 10.f;
    iv.heading_guard_dist = 0.f;
    iv.offtrack_patience = 1;
    iv.recovery_mode = mode;
    const auto seq = run(RolloutMode::kTrain, 2, 11, iv, true, false, /*overlap=*/0);
    const auto ovl = run(RolloutMode::kTrain, 2, 11, iv, true, false, /*overlap=*/1);
    ASSERT_EQ(seq.size(), ovl.size());
    for (size_t i = 0; i < seq.size(); ++i) {
      ASSERT_EQ(seq[i].steps.size(), ovl[i].steps.size()) << "trajectory " << i;
      for (size_t k = 0; k < seq[i].steps.size(); ++k) {
        EXPECT_EQ(seq[i].steps[k].action, ovl[i].steps[k].action);
        EXPECT_EQ(seq[i].steps[k].source, ovl[i].steps[k].source);
        EXPECT_EQ(seq[i].steps[k].distance_to_goal, ovl[i].steps[k].distance_to_goal);
      }
      EXPECT_EQ(seq[i].rolled_back, ovl[i].rolled_back);
      ASSERT_EQ(seq[i].answer_tokens.size(), ovl[i].answer_tokens.size());
      for (size_t k = 0; k < seq[i].answer_tokens.size(); ++k)
        EXPECT_EQ(seq[i].answer_tokens[k].logp, ovl[i].answer_tokens[k].logp);
      EXPECT_EQ(seq[i].metrics.distance_to_goal, ovl[i].metrics.distance_to_goal);
      EXPECT_EQ(static_cast<bool>(seq[i].rollback_demo), static_cast<bool>(ovl[i].rollback_demo));
    }
  }
}

// --recovery_mode rollback: the first off-track state cuts the policy's trajectory (a
// failure, nothing executed there) and the expert's demonstration from the last waypoint
// passed runs in the same env with a fresh context, all expert steps, ending at the goal.
TEST_F(RolloutTest, RollbackCutsThePolicyAndDemonstratesFromTheWaypoint) {
  expert::InterventionConfig iv;
  iv.offtrack_heading_thresh_deg = 10.f;
  iv.heading_guard_dist = 0.f;
  iv.offtrack_patience = 1;
  iv.recovery_mode = expert::RecoveryMode::Rollback;
  const auto a = run(RolloutMode::kTrain, 2, 11, iv);
  ASSERT_EQ(a.size(), 4u);
  int cuts = 0;
  for (const Trajectory& t : a) {
    if (!t.rolled_back) continue;
    ++cuts;
    EXPECT_FALSE(t.called_stop);
    EXPECT_EQ(t.metrics.success, 0.f);
    EXPECT_EQ(static_cast<size_t>(t.metrics.steps), t.steps.size()) << "the cut step is not executed";
    for (const StepRecord& r : t.steps) EXPECT_EQ(r.source, expert::Source::Policy);
    ASSERT_TRUE(t.rollback_demo);
    const Trajectory& d = *t.rollback_demo;
    expectTruthfulContext(d);
    ASSERT_FALSE(d.steps.empty());
    for (const StepRecord& r : d.steps) {
      EXPECT_EQ(r.source, expert::Source::Expert);
      EXPECT_TRUE(r.label_valid);
      EXPECT_EQ(r.expert_label, r.action);
    }
    EXPECT_EQ(d.steps.back().action, sim::Action::Stop);
    EXPECT_EQ(d.metrics.success, 1.f) << "the expert reaches the goal from the waypoint";
    // It starts on a reference waypoint, in a context of its own.
    float nearest = 1e9f;
    for (const sim::Vec3& w : t.episode.reference_path)
      nearest = std::min(nearest, sim::horizontalDistance(w, d.episode.start_position));
    EXPECT_LT(nearest, 0.05f);
    EXPECT_EQ(d.windows.front().image_steps.front(), 0);
    EXPECT_EQ(d.group, t.group);
  }
  EXPECT_GT(cuts, 0);
  // Reproducible, and the batched engine agrees with the envs one by one.
  const auto b = run(RolloutMode::kTrain, 2, 11, iv, /*batched=*/false);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].rolled_back, b[i].rolled_back);
    ASSERT_EQ(a[i].steps.size(), b[i].steps.size());
    if (a[i].rollback_demo) ASSERT_EQ(a[i].rollback_demo->steps.size(), b[i].rollback_demo->steps.size());
  }
}

TEST_F(RolloutTest, EvalHasNoExpertAndDemoIsAllExpertAndSucceeds) {
  for (const auto& t : run(RolloutMode::kEval, 1, 3)) {
    for (const auto& s : t.steps) EXPECT_EQ(s.source, expert::Source::Policy);
  }
  for (const auto& t : run(RolloutMode::kExpertDemo, 1, 3)) {
    expectTruthfulContext(t);
    for (const auto& s : t.steps) EXPECT_EQ(s.source, expert::Source::Expert);
    EXPECT_EQ(t.steps.back().action, sim::Action::Stop);
    EXPECT_EQ(t.metrics.success, 1.f);
    // StreamVLN's training format: a new turn (frame) every 4 steps.
    EXPECT_EQ(t.windows.front().image_steps[1], 4);
  }
}

}  // namespace
}  // namespace svln::rl
