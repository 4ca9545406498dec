#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "rl/advantages.h"
#include "rl/rewards.h"

namespace svln::rl {
namespace {

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

EpisodeOutcome outcome(double d0, double dT, bool stop, bool forced = false) {
  EpisodeOutcome o;
  o.start_distance = d0;
  o.final_distance = dT;
  o.called_stop = stop;
  o.forced_stop = forced;
  o.path_length = 10;
  o.shortest_path = 8;
  return o;
}

TEST(Phase1Reward, SparseTermsOnTheLastStep) {
  const RewardConstants k;
  const std::vector<RewardStep> steps(4);
  auto r = stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 1.0, true));
  EXPECT_DOUBLE_EQ(r[0], 0.0);
  EXPECT_DOUBLE_EQ(r[3], 2.0);  // success
  // STOP at 6 m of 8: distance term 1 - 6/8 = 0.25, false stop -0.5.
  r = stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 6.0, true));
  EXPECT_DOUBLE_EQ(sum(r), 0.25 - 0.5);
  // Never stopped at 2 m: 1 - 2/8 = 0.75, no-stop -1.
  r = stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 2.0, false));
  EXPECT_DOUBLE_EQ(sum(r), 0.75 - 1.0);
  // Forced STOP inside the goal zone: no bonus; scored as a never-called STOP, the distance
  // term 1 - 1/8 minus the forced-stop penalty 1.
  r = stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 1.0, true, true));
  EXPECT_DOUBLE_EQ(sum(r), 0.875 - 1.0);
  // Never a safer bet than trying: a false STOP just outside the 3 m zone (at 3.5 m) earns
  // more than lingering in the zone until the STOP is forced.
  const double tried = sum(stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 3.5, true)));
  EXPECT_GT(tried, sum(r));
  // Moving away never yields a negative distance term (clamped at 0).
  r = stepRewards(RewardPhase::Phase1Stop, k, steps, outcome(8, 12.0, true));
  EXPECT_DOUBLE_EQ(sum(r), -0.5);
}

TEST(Phase2Reward, DenseProgressCollisionsAndEfficiency) {
  const RewardConstants k;
  // 8 -> 7 -> 7.5 (collided) -> 2: progress 1, -0.5, 5.5.
  std::vector<RewardStep> steps{{7.0, false}, {7.5, true}, {2.0, false}};
  auto r = stepRewards(RewardPhase::Phase2Progress, k, steps, outcome(8, 2.0, true));
  EXPECT_NEAR(r[0], 1.0 - 0.01, 1e-12);
  EXPECT_NEAR(r[1], -0.5 - 0.1 - 0.01, 1e-12);
  // success bonus 2 * 8/10
  EXPECT_NEAR(r[2], 5.5 - 0.01 + 2.0 * 0.8, 1e-12);
  // Without STOP: no bonus; the return telescopes to d0 - dT minus costs.
  r = stepRewards(RewardPhase::Phase2Progress, k, steps, outcome(8, 2.0, false));
  EXPECT_NEAR(sum(r), 6.0 - 0.1 - 0.03, 1e-12);
}

TEST(Phase2Reward, NoProgressToOrFromAPlaceWithoutAPathToTheGoal) {
  // Habitat's distance is +inf where no path leads to the goal: 8 -> inf -> 7 earns no
  // progress on either step (not +-inf, nor the NaN of inf - inf), only the step cost.
  const RewardConstants k;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<RewardStep> steps{{inf, false}, {7.0, false}};
  const auto r = stepRewards(RewardPhase::Phase2Progress, k, steps, outcome(8, 7.0, false));
  EXPECT_NEAR(r[0], -0.01, 1e-12);
  EXPECT_NEAR(r[1], -0.01, 1e-12);
}

// BudVLN's rewards worked by hand from R:188-251 (budvln-reference.md, "Rewards"). Start
// 3.5 m from the goal; steps to 3.25 (closer), 3.25 (a turn: not closer), 3.0 (closer,
// collided), 2.75 with STOP: success within 3 m.
std::vector<RewardStep> budvlnSteps() {
  return {{3.25, false}, {3.25, false}, {3.0, true}, {2.75, false}};
}
EpisodeOutcome budvlnOutcome(bool stop, double ref_xy) {
  EpisodeOutcome o;
  o.start_distance = 3.5;
  o.final_distance = 2.75;
  o.called_stop = stop;
  o.path_length = 4.0;
  o.shortest_path = 3.5;
  o.reference_length_xy = ref_xy;
  return o;
}

TEST(BudvlnReward, SemiSparseStepsAndTheTerminalTermWithItsAccidents) {
  const RewardConstants k;  // both accidents reproduced
  // +0.05, -0.05, +0.05 (the collision penalty never fires), then
  // -2.75/6 + 2 + 5/max(5, 0.25) = -0.458333 + 3 = 2.541667.
  auto r = stepRewards(RewardPhase::BudvlnStop, k, budvlnSteps(), budvlnOutcome(true, 5.0));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_NEAR(r[0], 0.05, 1e-9);
  EXPECT_NEAR(r[1], -0.05, 1e-9);
  EXPECT_NEAR(r[2], 0.05, 1e-9);
  EXPECT_NEAR(r[3], 2.541667, 1e-6);
  // A reference path that runs along z alone has length 0 over x and the height: the
  // accident's term is 0 / max(0, 0.25) = 0.
  r = stepRewards(RewardPhase::BudvlnStop, k, budvlnSteps(), budvlnOutcome(true, 0.0));
  EXPECT_NEAR(r[3], 1.541667, 1e-6);
  // Without the accidents: the collided step pays 0.1 (0.05 - 0.1 = -0.05) and the term is
  // the true SPL, 3.5 / max(3.5, 4) = 0.875: -0.458333 + 2 + 0.875 = 2.416667.
  RewardConstants fixed;
  fixed.budvln_spl_accident = false;
  fixed.budvln_collision_accident = false;
  r = stepRewards(RewardPhase::BudvlnStop, fixed, budvlnSteps(), budvlnOutcome(true, 5.0));
  EXPECT_NEAR(r[2], -0.05, 1e-9);
  EXPECT_NEAR(r[3], 2.416667, 1e-6);
  // No STOP (the step cap): -2.75/6 alone, no penalty for not stopping.
  r = stepRewards(RewardPhase::BudvlnStop, k, budvlnSteps(), budvlnOutcome(false, 5.0));
  EXPECT_NEAR(r[3], -0.458333, 1e-6);
  // Rolled back: the loop broke before a terminal step, so the last step is +-0.05 too.
  EpisodeOutcome cut = budvlnOutcome(false, 5.0);
  cut.rolled_back = true;
  r = stepRewards(RewardPhase::BudvlnStop, k, budvlnSteps(), cut);
  EXPECT_NEAR(sum(r), 0.05 - 0.05 + 0.05 + 0.05, 1e-9);
}

TEST(BudvlnReward, InstructionPhasePaysTenAndTheTerminalIsClipped) {
  const RewardConstants k;
  // -2.75/6 + 10 + 1 = 10.541667, clipped to 10.
  auto r = stepRewards(RewardPhase::BudvlnInstruction, k, budvlnSteps(), budvlnOutcome(true, 5.0));
  EXPECT_NEAR(r[3], 10.0, 1e-9);
  // Far from the goal without STOP: -66/6 = -11, clipped to -10.
  std::vector<RewardStep> far = {{66.0, false}};
  EpisodeOutcome o = budvlnOutcome(false, 5.0);
  o.final_distance = 66.0;
  r = stepRewards(RewardPhase::BudvlnInstruction, k, far, o);
  EXPECT_NEAR(r[0], -10.0, 1e-9);
}

TEST(GroupAdvantages, NormalisedWithinTheGroup) {
  auto a = groupAdvantages({1.0, 3.0});
  // mean 2, unbiased std sqrt(2)
  EXPECT_NEAR(a[0], -1.0 / (std::sqrt(2.0) + 1e-6), 1e-12);
  EXPECT_NEAR(a[1], 1.0 / (std::sqrt(2.0) + 1e-6), 1e-12);
  a = groupAdvantages({0.5, 0.5, 0.5});
  for (double x : a) EXPECT_DOUBLE_EQ(x, 0.0);
  EXPECT_THROW(groupAdvantages({1.0}), std::invalid_argument);
}

// BudVLN's TDR: 0.2 sum_t 0.9^t [a_t = gt_t] over the policy steps (G:1936-1963).
TEST(TdrBonus, StrictStopsAtTheFirstMismatch) {
  const std::vector<bool> m = {true, true, false, true};
  EXPECT_NEAR(tdrBonus(m, 0.2, 0.9, true), 0.38, 1e-6);               // 0.2 (1 + 0.9)
  EXPECT_NEAR(tdrBonus(m, 0.2, 0.9, false), 0.5258, 1e-6);            // + 0.2 x 0.729
  EXPECT_DOUBLE_EQ(tdrBonus({false, true}, 0.2, 0.9, true), 0.0);
  EXPECT_NEAR(tdrBonus({false, true}, 0.2, 0.9, false), 0.18, 1e-6);  // 0.2 x 0.9
  EXPECT_DOUBLE_EQ(tdrBonus({}, 0.2, 0.9, true), 0.0);
  // 300 matching steps: 0.2 (1 - 0.9^300)/0.1, the reference's "max +2.0".
  EXPECT_NEAR(tdrBonus(std::vector<bool>(300, true), 0.2, 0.9, true), 2.0, 1e-6);
}

TEST(RunningBaseline, AdvantageAgainstPastMean) {
  RunningBaseline b;
  EXPECT_DOUBLE_EQ(b.advantage(2.0), 2.0);
  b.update(2.0);
  EXPECT_DOUBLE_EQ(b.advantage(1.0), -1.0);
  b.update(4.0);
  EXPECT_DOUBLE_EQ(b.mean(), 3.0);
  EXPECT_EQ(b.count(), 2);
}

}  // namespace
}  // namespace svln::rl
