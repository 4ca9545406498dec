// The hybrid update on a hand-made trajectory: a tiny StreamVLN streams a few turns (policy,
// then an expert takeover, then policy again) and the loss terms are checked against
// hand-worked values: GRPO = -A at ratio 1, a clipped token, expert tokens ignored by GRPO,
// SFT weights 1 / 2, NaN guard, advantages with and without a group.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <random>

#include "model/lora.h"
#include "model/stream_session.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"
#include "rl/losses.h"
#include "rl/update.h"

namespace svln::rl {
namespace {

using model::kActionForward;
using model::kActionLeft;
using model::kActionStop;

struct TinyUpdate : ::testing::Test {
  TinyUpdate()
      : tokenizer(model::Tokenizer::fromJsonText(model::syntheticTokenizerJson(512, 3), "synthetic")),
        codec(tokenizer),
        net([] {
          torch::manual_seed(0);
          return model::StreamVLN(model::namedStreamVLNConfig("tiny"));
        }()) {
    net.setPlaceholderIds(tokenizer.requireTokenId("<image>"), tokenizer.requireTokenId("<memory>"));
    net.lm->eval();
    model::LoraConfig lora;
    lora.r = 4;
    lora.alpha = 8;
    lora.dropout = 0.0;
    model::applyLora(net.root(), lora);
    for (auto& p : net.root().parameters())
      if (p.requires_grad()) params.push_back(p);
  }

  static torch::Tensor frame(int64_t seed) {
    torch::manual_seed(seed);
    return torch::randint(0, 256, {48, 64, 3}, torch::kUInt8);
  }

  // `t` cut short by a rollback, with a fresh rollout as its demonstration.
  Trajectory rolledBack(Trajectory t) {
    t.rolled_back = true;
    t.rollback_demo = std::make_shared<Trajectory>(rollout(1.0));
    return t;
  }

  // Policy turns, except turn 1 where the expert answers "←←". Labels: the expert would
  // always go forward.
  Trajectory rollout(double temperature) {
    torch::NoGradGuard no_grad;
    model::StreamSession s(net, tokenizer, codec, model::StreamingConfig{}, 7);
    s.reset("walk out of the bedroom and stop next to the blue sofa.");
    std::mt19937_64 rng(1);
    model::DecodeOptions opt;
    opt.greedy = false;
    opt.temperature = temperature;
    int64_t seed = 0;
    s.observe(frame(seed++));
    for (int turn = 0; s.step() < 10; ++turn) {
      s.beginTurn();
      const std::vector<int> a = s.propose(opt, rng);
      int kept = 0;
      while (kept < static_cast<int>(a.size()) && a[kept] != kActionStop) ++kept;
      std::vector<int> expert;
      if (turn == 1) {
        kept = 0;
        expert = {kActionLeft, kActionLeft};
      } else if (kept == 0) {
        expert = {kActionForward};
      }
      s.endTurn(kept, expert);
      for (int i = 0; i < kept + static_cast<int>(expert.size()); ++i) s.observe(frame(seed++));
    }
    Trajectory t;
    t.windows = s.windows();
    t.answer_tokens = s.answerTokens();
    t.frames = s.frames();
    t.steps.resize(static_cast<size_t>(s.step()));
    for (size_t k = 0; k < t.answer_tokens.size(); ++k) {
      const model::AnswerToken& a = t.answer_tokens[k];
      if (a.action < 0) continue;
      StepRecord& r = t.steps.at(static_cast<size_t>(a.step));
      r.action = static_cast<sim::Action>(a.action);
      r.source = a.source == model::TokenSource::kExpert ? expert::Source::Expert
                                                         : expert::Source::Policy;
      r.expert_label = sim::Action::MoveForward;
      r.label_valid = true;
      r.answer_token = static_cast<int32_t>(k);
    }
    return t;
  }

  model::Tokenizer tokenizer;
  model::ActionCodec codec;
  model::StreamVLN net;
  std::vector<torch::Tensor> params;
};

TEST_F(TinyUpdate, GrpoIsMinusTheAdvantageAtRatioOneAndIgnoresExpertTokens) {
  const Trajectory t = rollout(1.3);
  UpdateOptions o;
  o.temperature = 1.3;
  const TrajectoryTargets g = collectTargets(t, codec, o);
  int policy_tokens = 0, expert_tokens = 0;
  for (const auto& a : t.answer_tokens) (a.source == model::TokenSource::kPolicy ? policy_tokens : expert_tokens)++;
  ASSERT_GE(expert_tokens, 2);
  ASSERT_GE(policy_tokens, 2);
  ASSERT_EQ(static_cast<int>(g.policy.size()), policy_tokens);
  for (int32_t a : g.policy) EXPECT_EQ(t.answer_tokens[a].source, model::TokenSource::kPolicy);

  // r = 1 everywhere: L_sum = -n A.
  const double A = 0.5;
  TrajectoryTerms terms = trajectoryTerms(net, codec, t, A, g, o);
  const int n = terms.policy_tokens;
  EXPECT_NEAR(terms.grpo_sum.item<double>(), -A * n, 1e-4);
  EXPECT_EQ(terms.clipped, 0);

  // Expert tokens' stored log-probs play no part.
  Trajectory changed = t;
  for (auto& a : changed.answer_tokens)
    if (a.source == model::TokenSource::kExpert) a.logp = -10.f;
  terms = trajectoryTerms(net, codec, changed, A, g, o);
  EXPECT_NEAR(terms.grpo_sum.item<double>(), -A * n, 1e-4);

  // One policy token sampled with twice the current probability: r = 0.5, outside
  // [0.8, 1.2]; min(0.5 A, 0.8 A) = 0.25, so the sum rises by 0.5 - 0.25.
  changed.answer_tokens[g.policy[0]].logp += std::log(2.f);
  terms = trajectoryTerms(net, codec, changed, A, g, o);
  EXPECT_NEAR(terms.grpo_sum.item<double>(), -A * n + 0.25, 1e-4);
  EXPECT_EQ(terms.clipped, 1);
}

TEST_F(TinyUpdate, SftWeighsExpertStepsTwiceAndOracleOnlyDropsPolicySteps) {
  const Trajectory t = rollout(1.0);
  UpdateOptions o;
  o.use_hybrid = true;
  int policy_steps = 0, expert_steps = 0;
  for (const auto& s : t.steps)
    if (s.answer_token >= 0) (s.source == expert::Source::Expert ? expert_steps : policy_steps)++;
  ASSERT_GE(expert_steps, 2);

  // Independent recompute: -log p(↑) at T = 1 per labelled step.
  std::vector<double> nll(t.steps.size(), 0.0);
  {
    torch::NoGradGuard no_grad;
    for (size_t w = 0; w < t.windows.size(); ++w) {
      const auto& win = t.windows[w];
      std::vector<torch::Tensor> images;
      for (int64_t st : win.image_steps) images.push_back(net.encodeFrames(t.frames[st].unsqueeze(0)).squeeze(0));
      std::vector<int32_t> pos;
      std::vector<size_t> which;
      for (size_t i = 0; i < t.steps.size(); ++i) {
        const int32_t a = t.steps[i].answer_token;
        if (a < 0 || t.answer_tokens[a].window != static_cast<int32_t>(w)) continue;
        pos.push_back(t.answer_tokens[a].ids_index);
        which.push_back(i);
      }
      if (pos.empty()) continue;
      auto allow = torch::zeros({static_cast<int64_t>(pos.size())}, torch::kBool);
      for (size_t k = 0; k < which.size(); ++k) allow[k] = t.answer_tokens[t.steps[which[k]].answer_token].allow_end;
      const auto lp = model::alphabetLogProbs(model::windowLogits(net, win, images, torch::Tensor(), pos), codec, allow, 1.0);
      const int col = model::alphabetColumn(codec, codec.firstToken(kActionForward));
      for (size_t k = 0; k < which.size(); ++k) nll[which[k]] = -lp[k][col].item<double>();
    }
  }
  double num = 0, den = 0, num_e = 0, den_e = 0;
  for (size_t i = 0; i < t.steps.size(); ++i) {
    if (t.steps[i].answer_token < 0) continue;
    const double w = t.steps[i].source == expert::Source::Expert ? 2.0 : 1.0;
    num += w * nll[i];
    den += w;
    if (w == 2.0) num_e += w * nll[i], den_e += w;
  }
  TrajectoryTerms terms = trajectoryTerms(net, codec, t, 0.0, collectTargets(t, codec, o), o);
  EXPECT_DOUBLE_EQ(terms.sft_weight_sum, policy_steps + 2.0 * expert_steps);
  EXPECT_NEAR(terms.sft_sum.item<double>() / terms.sft_weight_sum, num / den, 1e-4);

  o.sft_oracle_only = true;
  terms = trajectoryTerms(net, codec, t, 0.0, collectTargets(t, codec, o), o);
  EXPECT_DOUBLE_EQ(terms.sft_weight_sum, 2.0 * expert_steps);
  EXPECT_NEAR(terms.sft_sum.item<double>() / terms.sft_weight_sum, num_e / den_e, 1e-4);

  // Without hybrid training there is no SFT term at all.
  o.use_hybrid = false;
  terms = trajectoryTerms(net, codec, t, 0.0, collectTargets(t, codec, o), o);
  EXPECT_EQ(terms.sft_sum.item<double>(), 0.0);
}

// A STOP called too early gets the expert's label as a STOP called too late does: under
// --sft_oracle_only, --sft_false_stop_labels adds exactly the policy's STOPs beyond the
// success distance, at the expert steps' weight, and no other policy step.
TEST_F(TinyUpdate, FalseStopLabelsAddOnlyThePolicysStopsBeyondTheSuccessDistance) {
  Trajectory t;
  auto step = [&](sim::Action a, expert::Source src, float dist) {
    StepRecord r;
    r.action = a;
    r.source = src;
    r.expert_label = src == expert::Source::Expert ? a : sim::Action::MoveForward;
    r.label_valid = true;
    r.distance_to_goal = dist;
    r.answer_token = static_cast<int32_t>(t.steps.size());
    t.steps.push_back(r);
  };
  step(sim::Action::MoveForward, expert::Source::Policy, 5.0f);
  step(sim::Action::Stop, expert::Source::Policy, 4.5f);   // false STOP: 4.5 m > 3 m
  step(sim::Action::TurnLeft, expert::Source::Expert, 4.5f);
  step(sim::Action::Stop, expert::Source::Policy, 2.5f);   // a STOP within 3 m: no label
  UpdateOptions o;
  o.sft_oracle_only = true;
  o.success_distance = 3.0;
  TrajectoryTargets g = collectTargets(t, codec, o);
  ASSERT_EQ(g.sft.size(), 1u);  // the expert's step only
  EXPECT_EQ(g.sft[0], 2);

  o.sft_false_stop_labels = true;
  g = collectTargets(t, codec, o);
  ASSERT_EQ(g.sft.size(), 2u);
  EXPECT_EQ(g.sft[0], 1);
  EXPECT_EQ(g.sft_column[0], model::alphabetColumn(codec, codec.firstToken(kActionForward)));
  EXPECT_EQ(g.sft_weight[0], o.expert_step_weight);
  EXPECT_EQ(g.sft[1], 2);

  // Without --sft_oracle_only every policy step is labelled anyway, once.
  o.sft_oracle_only = false;
  EXPECT_EQ(collectTargets(t, codec, o).sft.size(), 4u);
}

TEST_F(TinyUpdate, OptimizerStepsLowerTheSftLoss) {
  const Trajectory t = rollout(1.0);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  PolicyUpdater up(net, codec, params, opt);
  UpdateOptions o;
  o.use_hybrid = true;
  o.sft_weight = 1.0;
  o.max_grad_norm = 1.0;
  const std::vector<Trajectory> batch{t};
  const UpdateStats first = up.update(batch, {0.0}, o);
  EXPECT_EQ(first.steps_applied, 1);
  EXPECT_GT(first.grad_norm, 0.0);
  UpdateStats last = first;
  for (int i = 0; i < 6; ++i) last = up.update(batch, {0.0}, o);
  EXPECT_LT(last.sft_loss, first.sft_loss - 0.05) << first.sft_loss << " -> " << last.sft_loss;
}

TEST_F(TinyUpdate, SequenceMeanWeighsTrajectoriesEquallyTokenMeanWeighsTokens) {
  const Trajectory a = rollout(1.0);
  // b keeps one policy token: the others are relabelled as the expert's.
  Trajectory b = a;
  bool first = true;
  for (auto& t : b.answer_tokens) {
    if (t.source != model::TokenSource::kPolicy) continue;
    if (!first) t.source = model::TokenSource::kExpert;
    first = false;
  }
  UpdateOptions o;
  const double n = static_cast<double>(collectTargets(a, codec, o).policy.size());
  ASSERT_GE(n, 3.0);
  ASSERT_EQ(collectTargets(b, codec, o).policy.size(), 1u);
  o.mini_batch_size = 2;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  // Ratio 1: each token contributes -A. Advantages +1 (n tokens) and -1 (1 token).
  o.aggregation = io::LossAggMode::SeqMeanTokenMean;
  EXPECT_NEAR(up.update({a, b}, {1.0, -1.0}, o).grpo_loss, 0.0, 1e-4);
  o.aggregation = io::LossAggMode::TokenMean;
  EXPECT_NEAR(up.update({a, b}, {1.0, -1.0}, o).grpo_loss, -(n - 1.0) / (n + 1.0), 1e-4);
  // Dr. GRPO: each trajectory's token sum over the constant 10, then the mean over the two.
  o.aggregation = io::LossAggMode::SeqMeanTokenSumNorm;
  o.token_norm = 10.0;
  EXPECT_NEAR(up.update({a, b}, {1.0, -1.0}, o).grpo_loss, -(n - 1.0) / 20.0, 1e-4);
}

// A rollback's demonstration is SFT data of its trajectory: its expert steps join the
// mini-batch's weighted cross-entropy (and its weight total), never the surrogate.
TEST_F(TinyUpdate, RollbackDemonstrationsAreSftData) {
  const Trajectory t = rollout(1.0);
  const Trajectory cut = rolledBack(t);
  UpdateOptions o;
  o.use_hybrid = true;
  o.sft_weight = 1.0;
  const TrajectoryTargets demo = collectTargets(*cut.rollback_demo, codec, o);
  ASSERT_GT(demo.sft.size(), 0u);
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  const UpdateStats plain = up.update({t}, {0.5}, o);
  const UpdateStats with = up.update({cut}, {0.5}, o);
  EXPECT_EQ(with.sft_tokens, plain.sft_tokens + static_cast<int>(demo.sft.size()));
  EXPECT_EQ(with.policy_tokens, plain.policy_tokens) << "the demonstration has no policy tokens";
  EXPECT_NEAR(with.grpo_loss, plain.grpo_loss, 1e-5);
  // Its CE enters the weighted mean: sum_t w_t CE_t over both, divided by both weights.
  const TrajectoryTerms a = trajectoryTerms(net, codec, t, 0.5, collectTargets(t, codec, o), o);
  const TrajectoryTerms b = trajectoryTerms(net, codec, *cut.rollback_demo, 0.0, demo, o);
  const double expect = (a.sft_sum.item<double>() + b.sft_sum.item<double>()) /
                        (a.sft_weight_sum + b.sft_weight_sum);
  EXPECT_NEAR(with.sft_loss, expect, 1e-4);
  // Without the hybrid objective there is no SFT term to join.
  o.use_hybrid = false;
  EXPECT_EQ(up.update({cut}, {0.5}, o).sft_tokens, up.update({t}, {0.5}, o).sft_tokens);
}

// --disable_grpo_loss / --sft_only: no policy token enters the loss (no surrogate, no
// entropy), and the SFT term is what it was.
TEST_F(TinyUpdate, DisabledGrpoLossLeavesOnlyTheSftTerm) {
  const Trajectory t = rollout(1.0);
  UpdateOptions o;
  o.use_hybrid = true;
  o.sft_weight = 1.0;
  o.entropy_coef = 0.02;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  const UpdateStats with = up.update({t}, {0.5}, o);
  ASSERT_GT(with.policy_tokens, 0);
  EXPECT_NEAR(with.grpo_loss, -0.5, 1e-4);  // ratio 1: -A
  EXPECT_GT(with.entropy, 0.0);
  o.disable_grpo = true;
  EXPECT_TRUE(collectTargets(t, codec, o).policy.empty());
  const UpdateStats without = up.update({t}, {0.5}, o);
  EXPECT_EQ(without.policy_tokens, 0);
  EXPECT_EQ(without.grpo_loss, 0.0);
  EXPECT_EQ(without.entropy, 0.0);
  EXPECT_EQ(without.sft_tokens, with.sft_tokens);
  EXPECT_NEAR(without.sft_loss, with.sft_loss, 1e-5);
  EXPECT_EQ(without.steps_applied, 1);
}

// --demo_loss separate: the demonstration is its own term, sum_j w_j CE_j / sum_j w_j with
// the decay weights (rl/losses.h), coefficient 1, even without hybrid training; the SFT term
// and the surrogate do not see it.
TEST_F(TinyUpdate, SeparateDemonstrationTermWeighsStepsByDecay) {
  const Trajectory t = rollout(1.0);
  const Trajectory cut = rolledBack(t);
  UpdateOptions o;  // pure GRPO: no SFT term
  o.demo_loss_separate = true;
  o.demo_start_weight = 2.0;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  const UpdateStats plain = up.update({t}, {0.5}, o);
  const UpdateStats with = up.update({cut}, {0.5}, o);
  EXPECT_EQ(plain.demo_tokens, 0);
  EXPECT_EQ(plain.demo_loss, 0.0);
  EXPECT_EQ(with.sft_tokens, plain.sft_tokens);  // the demonstration is not SFT data
  EXPECT_NEAR(with.grpo_loss, plain.grpo_loss, 1e-5);
  // By hand: CE of each labelled demonstration step, weighted 2 (1/2)^(j/(n-1)).
  TrajectoryTargets d = collectTargets(*cut.rollback_demo, codec, o);
  ASSERT_GT(d.sft.size(), 1u);
  EXPECT_EQ(with.demo_tokens, static_cast<int>(d.sft.size()));
  const std::vector<double> w = demonstrationWeights(cut.rollback_demo->steps.size(), 2.0);
  double num = 0, den = 0;
  UpdateOptions one = o;
  one.use_hybrid = true;
  for (size_t k = 0; k < d.sft.size(); ++k) {
    TrajectoryTargets single;
    single.sft = {d.sft[k]};
    single.sft_column = {d.sft_column[k]};
    single.sft_weight = {1.0};
    const double ce = trajectoryTerms(net, codec, *cut.rollback_demo, 0.0, single, one)
                          .sft_sum.item<double>();
    const double wk = w.at(static_cast<size_t>(d.sft_step[k]));
    num += wk * ce;
    den += wk;
  }
  EXPECT_NEAR(w.front(), 2.0, 1e-12);
  EXPECT_NEAR(with.demo_loss, num / den, 1e-4);
}

// --mini_batch_unit steps (G:2131-2325): min(12, mini_batch_size) policy tokens per optimizer
// step, the surrogate a token mean (-A at ratio 1), SFT on as many drawn labels; the draws
// follow step_seed.
TEST_F(TinyUpdate, StepMiniBatchesTakeOneOptimizerStepPerFewPolicySteps) {
  const Trajectory t = rollout(1.0);
  UpdateOptions o;
  o.use_hybrid = true;
  o.step_mini_batches = true;
  o.mini_batch_size = 2;
  o.step_seed = 5;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  const int n = static_cast<int>(collectTargets(t, codec, o).policy.size());
  ASSERT_GE(n, 3);
  const UpdateStats two = up.update({t}, {0.5}, o);
  EXPECT_EQ(two.steps_applied, (n + 1) / 2);
  EXPECT_NEAR(two.grpo_loss, -0.5, 1e-4);
  EXPECT_GT(two.sft_loss, 0.0);
  EXPECT_NEAR(up.update({t}, {0.5}, o).sft_loss, two.sft_loss, 1e-9);  // same seed, same draws
  o.mini_batch_size = 100;  // capped at 12 steps, as the reference caps it
  EXPECT_EQ(up.update({t}, {0.5}, o).steps_applied, (n + 11) / 12);
  o.step_mini_batches = false;  // the guide's: one step for the one trajectory
  EXPECT_EQ(up.update({t}, {0.5}, o).steps_applied, 1);
}

// --update_mode two_phase (S:2233-2718): the GRPO pass without the demonstration, then its
// labelled steps alone in batches of 4, an optimizer step each: 1 + ceil(n / 4) steps for
// one trajectory. The first pass is the single-pass update of the same trajectory without
// a demonstration.
TEST_F(TinyUpdate, TwoPhaseUpdateStepsOncePerFourDemonstrationStepsAfterTheGrpoPass) {
  const Trajectory t = rollout(1.0);
  const Trajectory cut = rolledBack(t);
  UpdateOptions o;
  o.use_hybrid = true;
  o.step_seed = 3;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-12));
  PolicyUpdater up(net, codec, params, opt);
  const UpdateStats single = up.update({t}, {0.5}, o);
  o.two_phase = true;
  const size_t n = collectTargets(*cut.rollback_demo, codec, o).sft.size();
  ASSERT_GT(n, 4u);
  const UpdateStats two = up.update({cut}, {0.5}, o);
  EXPECT_EQ(two.steps_applied, 1 + static_cast<int>((n + 3) / 4));
  EXPECT_EQ(two.demo_tokens, static_cast<int>(n));
  EXPECT_EQ(two.sft_tokens, single.sft_tokens);  // the demonstration is not in the SFT term
  EXPECT_NEAR(two.grpo_loss, single.grpo_loss, 1e-5);
  EXPECT_NEAR(two.sft_loss, single.sft_loss, 1e-5);
  EXPECT_GT(two.demo_loss, 0.0);
  EXPECT_EQ(up.update({t}, {0.5}, o).steps_applied, 1);  // no demonstration, no second pass
  o.step_mini_batches = true;  // the first pass may be step mini-batches too
  o.mini_batch_size = 4;
  const int policy = static_cast<int>(collectTargets(t, codec, o).policy.size());
  EXPECT_EQ(up.update({cut}, {0.5}, o).steps_applied,
            (policy + 3) / 4 + static_cast<int>((n + 3) / 4));
}

// The second pass moves the adapter only through the demonstration's tokens, by the batch
// loss mean(w) mean(CE): with A = 0 the first pass has no gradient, and one SGD step of the
// second over a 3-step demonstration is exactly -lr times the gradient of that loss.
TEST_F(TinyUpdate, TwoPhaseSecondPassIsTheDemonstrationBatchLossAlone) {
  Trajectory cut = rolledBack(rollout(1.0));
  int kept = 0;  // labels on the demonstration's first 3 labelled steps only: one batch
  for (StepRecord& r : cut.rollback_demo->steps)
    if (r.label_valid && r.answer_token >= 0 && ++kept > 3) r.label_valid = false;
  UpdateOptions o;  // pure GRPO: nothing else trains
  o.two_phase = true;
  o.demo_start_weight = 2.0;
  o.max_grad_norm = std::numeric_limits<double>::infinity();
  const TrajectoryTargets d = collectTargets(*cut.rollback_demo, codec, o);
  ASSERT_EQ(d.sft.size(), 3u);
  // Expected: the gradient of c sum_j CE_j, c = mean(w) / 3, w the decay weights.
  const std::vector<double> dw = demonstrationWeights(cut.rollback_demo->steps.size(), 2.0);
  std::vector<double> w;
  for (int step : d.sft_step) w.push_back(dw.at(static_cast<size_t>(step)));
  TrajectoryTargets ones = d;
  ones.sft_weight.assign(3, 1.0);
  UpdateOptions ce = o;
  ce.use_hybrid = true;
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  (demoBatchCoefficient(w) * trajectoryTerms(net, codec, *cut.rollback_demo, 0.0, ones, ce).sft_sum)
      .backward();
  const double lr = 1e-3;
  std::vector<torch::Tensor> before, expected;
  for (auto& p : params) {
    before.push_back(p.detach().clone());
    expected.push_back(p.grad().defined() ? -lr * p.grad().detach().clone()
                                          : torch::zeros_like(p));
    p.mutable_grad() = torch::Tensor();
  }
  torch::optim::SGD opt(params, torch::optim::SGDOptions(lr));
  PolicyUpdater up(net, codec, params, opt);
  const UpdateStats st = up.update({cut}, {0.0}, o);
  EXPECT_EQ(st.steps_applied, 2);  // the (gradient-free) GRPO pass and one batch
  bool moved = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor delta = params[i].detach() - before[i];
    moved |= delta.abs().max().item<double>() > 0;
    EXPECT_TRUE(torch::allclose(delta, expected[i], 1e-3, 1e-7)) << i;
  }
  EXPECT_TRUE(moved);
}

// --sft_on_failures (F:1405-1666): only rollback demonstrations train, in segments of up to
// 32 steps, `accumulation` segments per optimizer step; a trajectory that was not rolled
// back (a solved greedy episode) changes nothing, whatever its labels and expert steps.
TEST_F(TinyUpdate, FailuresOnlyTrainsTheRollbackDemonstrationsAlone) {
  const Trajectory solved = rollout(1.0);
  Trajectory failed = rollout(1.0);
  failed.rolled_back = true;
  failed.rollback_demo = std::make_shared<Trajectory>(rollout(1.0));
  UpdateOptions o;
  o.use_hybrid = true;  // would train the solved episode's labels if it were consulted
  o.failures_only = true;
  o.step_seed = 9;
  torch::optim::SGD opt(params, torch::optim::SGDOptions(1e-2));
  PolicyUpdater up(net, codec, params, opt);
  std::vector<torch::Tensor> start;
  for (auto& p : params) start.push_back(p.detach().clone());
  auto restore = [&] {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(start[i]);
  };
  auto snapshot = [&] {
    std::vector<torch::Tensor> v;
    for (auto& p : params) v.push_back(p.detach().clone());
    return v;
  };
  const UpdateStats none = up.update({solved}, {0.5}, o);
  EXPECT_EQ(none.steps_applied, 0);
  EXPECT_EQ(none.policy_tokens, 0);
  EXPECT_EQ(none.sft_tokens, 0);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], start[i]));
  const UpdateStats alone = up.update({failed}, {0.5}, o);
  const std::vector<torch::Tensor> after_alone = snapshot();
  restore();
  const UpdateStats mixed = up.update({solved, failed}, {0.5, -0.5}, o);
  EXPECT_EQ(alone.steps_applied, 1);  // one demonstration of fewer than 32 steps
  EXPECT_EQ(mixed.steps_applied, 1);
  EXPECT_EQ(mixed.demo_tokens, alone.demo_tokens);
  EXPECT_NEAR(mixed.demo_loss, alone.demo_loss, 1e-6);
  EXPECT_EQ(mixed.grpo_loss, 0.0);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i], after_alone[i], 1e-6, 1e-9)) << i;
  restore();
  // Three failed episodes: three segments, one step each, or two steps with accumulation 2.
  EXPECT_EQ(up.update({failed, failed, failed}, {0, 0, 0}, o).steps_applied, 3);
  o.accumulation = 2;
  EXPECT_EQ(up.update({failed, failed, failed}, {0, 0, 0}, o).steps_applied, 2);
  restore();
}

TEST_F(TinyUpdate, NanAdvantageSkipsTheStepAndLeavesParametersAlone) {
  const Trajectory t = rollout(1.0);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  PolicyUpdater up(net, codec, params, opt);
  std::vector<torch::Tensor> before;
  for (auto& p : params) before.push_back(p.detach().clone());
  const UpdateStats st = up.update({t}, {std::nan("")}, UpdateOptions{});
  EXPECT_EQ(st.steps_skipped, 1);
  EXPECT_EQ(st.steps_applied, 0);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], before[i]));
}

TEST(NonFiniteGuard, ThreeBadUpdatesInARowStopTheRun) {
  NonFiniteGuard g;
  g.record(1, true);
  g.record(2, true);
  g.record(3, false);  // a good update resets the streak
  EXPECT_EQ(g.consecutive(), 0);
  g.record(4, true);
  g.record(5, true);
  try {
    g.record(6, true);
    FAIL() << "expected a stop";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("update 6: 3 updates in a row"), std::string::npos) << e.what();
  }
}

TEST(Advantages, GroupSizeOneUsesTheRunningMeanOfEarlierReturns) {
  RunningBaseline b;
  // b = 0, then 1, then 2: A = 1 - 0, 3 - 1, 2 - 2.
  const auto a = trajectoryAdvantages({1.0, 3.0, 2.0}, 1, b);
  EXPECT_EQ(a, (std::vector<double>{1.0, 2.0, 0.0}));
  EXPECT_DOUBLE_EQ(b.mean(), 2.0);
  EXPECT_EQ(b.count(), 3);
  // Groups of 2: {1, 3} -> mean 2, std sqrt(2); {2, 2} -> zeros. The baseline is untouched.
  const auto g = trajectoryAdvantages({1.0, 3.0, 2.0, 2.0}, 2, b);
  EXPECT_NEAR(g[0], -1.0 / (std::sqrt(2.0) + 1e-6), 1e-12);
  EXPECT_NEAR(g[1], 1.0 / (std::sqrt(2.0) + 1e-6), 1e-12);
  EXPECT_EQ(g[2], 0.0);
  EXPECT_EQ(g[3], 0.0);
  EXPECT_EQ(b.count(), 3);
  EXPECT_THROW(trajectoryAdvantages({1.0, 2.0, 3.0}, 2, b), std::invalid_argument);
}

}  // namespace
}  // namespace svln::rl
