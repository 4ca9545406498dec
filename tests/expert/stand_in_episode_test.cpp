#include "expert/stand_in_episode.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "expert_scenes.h"
#include "sim/agent.h"

namespace svln::expert {
namespace {

using sim::Action;
using namespace svln::expert::test;

class StandInEpisodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pf_ = new sim::PathFinder();
    pf_->build(lCorridor());
  }
  static void TearDownTestSuite() { delete pf_; }
  // Round the L corridor: (1, 1) -> (9, 1) -> (9, 9.5), facing +x.
  static sim::Episode episode() {
    sim::Episode ep;
    ep.episode_id = "7";
    ep.start_position = at(1, 1);
    ep.start_rotation = sim::quatFromHeading(kFacePlusX);
    ep.reference_path = line(at(1, 1), at(9, 1), 1.f);
    for (const sim::Vec3& p : line(at(9, 1), at(9, 9.5f), 0.85f)) {
      if (p != ep.reference_path.back()) ep.reference_path.push_back(p);
    }
    ep.goals.push_back({at(9, 9.5f), 3.f});
    ep.gt_locations = ep.reference_path;  // nDTW's reference
    return ep;
  }
  static sim::PathFinder* pf_;
};
sim::PathFinder* StandInEpisodeTest::pf_ = nullptr;

TEST(StandInPolicyTest, ParsesTheThreeKinds) {
  EXPECT_EQ(parseStandInPolicy("expert").kind, StandInPolicy::Kind::Expert);
  EXPECT_EQ(parseStandInPolicy("random").kind, StandInPolicy::Kind::Random);
  const StandInPolicy n = parseStandInPolicy("noisy-expert:0.25");
  EXPECT_EQ(n.kind, StandInPolicy::Kind::NoisyExpert);
  EXPECT_DOUBLE_EQ(n.noise_p, 0.25);
  EXPECT_EQ(n.name(), "noisy-expert:0.25");
  EXPECT_THROW(parseStandInPolicy("noisy-expert:1.5"), std::runtime_error);
  EXPECT_THROW(parseStandInPolicy("noisy-expert:"), std::runtime_error);
  EXPECT_THROW(parseStandInPolicy("noisy-expert:0.2x"), std::runtime_error);
  EXPECT_THROW(parseStandInPolicy("greedy"), std::runtime_error);
}

TEST_F(StandInEpisodeTest, ExpertPolicyStopsNearTheGoalAndReplays) {
  const sim::Episode ep = episode();
  const sim::ActionSpace space;
  const StandInRun run =
      runStandInEpisode(*pf_, ep, {}, space, parseStandInPolicy("expert"), 1, 500);
  EXPECT_TRUE(run.called_stop);
  EXPECT_EQ(run.end, EpisodeEnd::PolicyStop);
  EXPECT_EQ(run.counters.expert_steps, 0);  // never off track: oracle rate 0
  EXPECT_EQ(run.counters.policy_steps, static_cast<int>(run.actions.size()));
  EXPECT_EQ(run.collisions, 0);
  EXPECT_LE(pf_->geodesicDistance(run.positions.back(), ep.goals[0].position), 0.5f);
  EXPECT_EQ(run.actions, run.expert_labels);  // the expert policy is its own label
  EXPECT_EQ(run.metrics.success, 1.f);
  // It follows the reference path (through the corridor's centre line, 16.5 m) rather than
  // the 14.8 m geodesic that cuts the corner, and stops 0.5 m short: SPL 14.8 / 16.0.
  EXPECT_NEAR(run.metrics.spl, 14.8f / 16.0f, 0.01f);
  EXPECT_NEAR(run.metrics.path_length, 16.0f, 0.1f);
  // nDTW against 19 sparse waypoints: ~64 dense positions each ~0.25 m from the nearest.
  EXPECT_GT(run.metrics.ndtw, 0.7f);
  EXPECT_EQ(run.metrics.steps, static_cast<int>(run.actions.size()));
  sim::AgentState s{ep.start_position, sim::headingFromQuat(ep.start_rotation)};
  for (size_t i = 0; i + 1 < run.actions.size(); ++i) {
    s = sim::applyAction(*pf_, s, run.actions[i], space).state;
    ASSERT_EQ(s.position, run.positions[i + 1]) << i;
  }
}

TEST_F(StandInEpisodeTest, SameSeedSameRunOtherSeedOtherRun) {
  const sim::Episode ep = episode();
  const StandInPolicy noisy = parseStandInPolicy("noisy-expert:0.5");
  const StandInRun a = runStandInEpisode(*pf_, ep, {}, {}, noisy, episodeSeed(3, 0), 500);
  const StandInRun b = runStandInEpisode(*pf_, ep, {}, {}, noisy, episodeSeed(3, 0), 500);
  const StandInRun c = runStandInEpisode(*pf_, ep, {}, {}, noisy, episodeSeed(3, 1), 500);
  EXPECT_EQ(a.actions, b.actions);
  EXPECT_EQ(a.positions, b.positions);
  EXPECT_NE(a.actions, c.actions);
  EXPECT_NE(episodeSeed(3, 0), episodeSeed(3, 1));
  EXPECT_NE(episodeSeed(3, 0), episodeSeed(4, 0));
}

TEST_F(StandInEpisodeTest, MaxStepsEndsARandomWalkWithoutStop) {
  InterventionConfig off;
  off.enable_recovery = false;
  const StandInRun run =
      runStandInEpisode(*pf_, episode(), off, {}, parseStandInPolicy("random"), 5, 60);
  EXPECT_EQ(run.end, EpisodeEnd::MaxSteps);
  EXPECT_FALSE(run.called_stop);
  EXPECT_EQ(run.actions.size(), 60u);
  EXPECT_EQ(run.positions.size(), 61u);
  for (Action a : run.actions) EXPECT_NE(a, Action::Stop);
  EXPECT_EQ(run.metrics.success, 0.f);
  EXPECT_EQ(run.metrics.steps, 60);
}

TEST_F(StandInEpisodeTest, SafetyStopIsNeverASuccess) {
  // A recovery of 1 step can never bring the agent back: the random walk is cut by a
  // safety stop that does not count as the agent's STOP, even with a huge success radius.
  InterventionConfig cfg;
  cfg.offtrack_dist_thresh = 0.3f;
  cfg.recovery_dist_thresh = 0.1f;
  cfg.offtrack_patience = 1;
  cfg.recovery_max_steps = 1;
  cfg.goal_radius = 0.f;
  const StandInRun run =
      runStandInEpisode(*pf_, episode(), cfg, {}, parseStandInPolicy("random"), 9, 500, 100.f);
  EXPECT_EQ(run.end, EpisodeEnd::SafetyStop);
  EXPECT_FALSE(run.called_stop);
  EXPECT_EQ(run.metrics.success, 0.f);
  EXPECT_EQ(run.counters.recoveries_triggered, 1);
}

}  // namespace
}  // namespace svln::expert
