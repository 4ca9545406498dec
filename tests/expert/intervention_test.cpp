#include "expert/intervention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "expert_scenes.h"
#include "sim/agent.h"
#include "sim/path_finder.h"

namespace svln::expert {
namespace {

using sim::Action;
using namespace svln::expert::test;

// The reference path of most tests: straight along +x at z = 10, a waypoint every metre
// from (2, 10) (index 0) to the goal (14, 10) (index 12), on a 20 x 20 m open floor.
class InterventionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pf_ = new sim::PathFinder();
    pf_->build(openFloorWithIsland());
  }
  static void TearDownTestSuite() { delete pf_; }

  static std::vector<sim::Vec3> path() { return line(at(2, 10), at(14, 10), 1.f); }
  static Intervention make(const InterventionConfig& cfg = {}) {
    Intervention iv(cfg, sim::ActionSpace{});
    iv.reset(*pf_, path(), {at(14, 10)});
    return iv;
  }
  // Facing the waypoint the state machine targets from `p` (nearest + 1 on this path).
  static sim::AgentState facingTarget(const Intervention& iv, const sim::Vec3& p) {
    const PathMeasures m = iv.measure({p, 0.f});
    return {p, headingTowards(p, path()[m.target_index])};
  }

  static sim::PathFinder* pf_;
};
sim::PathFinder* InterventionTest::pf_ = nullptr;

// 3.5 m off the path facing +x: off track by distance only (heading error 74 degrees).
const sim::AgentState kFar{at(5, 13.5f), kFacePlusX};
const sim::AgentState kOnPath{at(5, 10), kFacePlusX};

TEST(InterventionConfigTest, DefaultsAreTheTrainerFlags) {
  const InterventionConfig c;
  EXPECT_TRUE(c.enable_recovery);
  EXPECT_FLOAT_EQ(c.offtrack_dist_thresh, 3.0f);
  EXPECT_FLOAT_EQ(c.offtrack_heading_thresh_deg, 120.0f);
  EXPECT_FLOAT_EQ(c.heading_guard_dist, 3.0f);
  EXPECT_EQ(c.offtrack_patience, 8);
  EXPECT_EQ(c.lookahead_k, 1);
  EXPECT_FLOAT_EQ(c.recovery_dist_thresh, 2.0f);
  EXPECT_FLOAT_EQ(c.recovery_heading_thresh_deg, 45.0f);
  EXPECT_EQ(c.recovery_max_steps, 100);
  EXPECT_FLOAT_EQ(c.goal_radius, 3.0f);
  EXPECT_EQ(c.goal_grace_steps, 7);
  EXPECT_EQ(c.goal_stop_patience, 5);
  EXPECT_EQ(c.recovery_mode, RecoveryMode::Takeover);
  EXPECT_NO_THROW(c.validate());
}

TEST(InterventionConfigTest, RejectsOutOfRangeValuesNamingTheFlag) {
  auto message = [](InterventionConfig c) -> std::string {
    try {
      c.validate();
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  InterventionConfig c;
  c.recovery_dist_thresh = 3.0f;
  EXPECT_EQ(message(c).rfind("--recovery_dist_thresh: must be < --offtrack_dist_thresh", 0), 0u)
      << message(c);
  c = {};
  c.offtrack_patience = 0;
  EXPECT_EQ(message(c), "--offtrack_patience: must be >= 1, got 0");
  c = {};
  c.lookahead_k = 0;
  EXPECT_EQ(message(c), "--lookahead_k: must be >= 1, got 0");
  c = {};
  c.offtrack_heading_thresh_deg = 190.f;
  EXPECT_EQ(message(c), "--offtrack_heading_thresh_deg: must be in [0, 180], got 190");
  c = {};
  c.goal_stop_patience = -1;
  EXPECT_EQ(message(c), "--goal_stop_patience: must be >= 0, got -1");
  c = {};
  c.goal_radius = NAN;
  EXPECT_NE(message(c).find("--goal_radius"), std::string::npos);
  EXPECT_EQ(parseRecoveryMode("rollback"), RecoveryMode::Rollback);
  EXPECT_THROW(parseRecoveryMode("undo"), std::runtime_error);
}

TEST(PolylineDistanceTest, PointToPolylineInTheHorizontalPlane) {
  // L: (0,0) -> (4,0) -> (4,3) in (x, z).
  const std::vector<sim::Vec3> l = {at(0, 0), at(4, 0), at(4, 3)};
  EXPECT_FLOAT_EQ(polylineDistance2d(at(2, 1), l), 1.f);
  EXPECT_FLOAT_EQ(polylineDistance2d(at(5, 1.5f), l), 1.f);
  EXPECT_NEAR(polylineDistance2d(at(6, 5), l), std::sqrt(8.f), 1e-6);  // past the end
  EXPECT_FLOAT_EQ(polylineDistance2d(at(-3, -4), l), 5.f);             // before the start
  EXPECT_FLOAT_EQ(polylineDistance2d({2, 7, 1}, l), 1.f);              // height ignored
  EXPECT_FLOAT_EQ(polylineDistance2d(at(3, 4), {at(0, 0)}), 5.f);      // one point
}

TEST_F(InterventionTest, NearestIndexNeverDecreasesAndTargetIsCapped) {
  InterventionConfig cfg;
  cfg.lookahead_k = 3;
  Intervention iv = make(cfg);
  Decision d = iv.step({at(5, 10), kFacePlusX}, Action::MoveForward);
  EXPECT_EQ(d.measures.nearest_index, 3);
  EXPECT_EQ(d.measures.target_index, 6);
  d = iv.step({at(10.2f, 10), kFacePlusX}, Action::MoveForward);
  EXPECT_EQ(d.measures.nearest_index, 8);
  d = iv.step({at(3, 10), kFaceMinusX}, Action::MoveForward);  // walked back
  EXPECT_EQ(d.measures.nearest_index, 8);
  EXPECT_EQ(d.measures.target_index, 11);
  d = iv.step({at(9.5f, 10), kFacePlusX}, Action::MoveForward);  // not yet in the goal zone
  EXPECT_EQ(d.measures.target_index, 11);
  EXPECT_FALSE(d.measures.in_goal_zone);
  d = iv.step({at(10.6f, 10), kFacePlusX}, Action::MoveForward);
  EXPECT_EQ(d.measures.nearest_index, 9);
  EXPECT_EQ(d.measures.target_index, 12);  // 9 + 3 = 12, the last
  EXPECT_FALSE(d.measures.in_goal_zone);   // 3.4 m from the goal
}

TEST_F(InterventionTest, OffTrackByDistanceTakesOverAtThePatienceStep) {
  Intervention iv = make();
  for (int t = 0; t < 7; ++t) {
    const Decision d = iv.step(kFar, Action::MoveForward);
    EXPECT_EQ(d.source, Source::Policy) << t;
    EXPECT_EQ(d.action, Action::MoveForward);
    EXPECT_EQ(d.reason, Reason::None);
    EXPECT_TRUE(d.measures.offtrack);
    EXPECT_EQ(d.offtrack_count, t + 1);
    EXPECT_NEAR(d.measures.path_distance_m, 3.5f, 1e-5);
    EXPECT_LT(d.measures.heading_error_deg, 120.f);
  }
  const Decision d = iv.step(kFar, Action::MoveForward);  // the 8th consecutive
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_EQ(d.reason, Reason::OfftrackDistance);
  EXPECT_EQ(d.action, d.expert_action);
  EXPECT_EQ(d.action, Action::TurnLeft);  // target (6, 10) is 74 degrees left (-z) of +x
  EXPECT_EQ(d.recovery_steps, 1);
  EXPECT_TRUE(iv.recovering());
  EXPECT_EQ(iv.counters().recoveries_triggered, 1);
  EXPECT_EQ(iv.counters().expert_steps, 1);
  EXPECT_EQ(iv.counters().policy_steps, 7);
}

TEST_F(InterventionTest, OffTrackByHeadingOnlyBeyondTheGuardDistance) {
  // 1.2 m off the path facing -x: the target (6, 10) is 129.8 degrees away.
  const sim::AgentState away{at(5, 11.2f), kFaceMinusX};
  InterventionConfig cfg;
  cfg.heading_guard_dist = 1.0f;
  Intervention iv = make(cfg);
  for (int t = 0; t < 7; ++t) {
    const Decision d = iv.step(away, Action::TurnLeft);
    EXPECT_NEAR(d.measures.heading_error_deg, 129.81f, 0.01f);
    EXPECT_EQ(d.source, Source::Policy);
    EXPECT_EQ(d.offtrack_count, t + 1);
  }
  const Decision d = iv.step(away, Action::TurnLeft);
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_EQ(d.reason, Reason::OfftrackHeading);

  // With the default 3 m guard the same states never count: turning near the path is fine.
  Intervention guarded = make();
  for (int t = 0; t < 30; ++t) {
    const Decision g = guarded.step(away, Action::TurnLeft);
    EXPECT_FALSE(g.measures.offtrack);
    EXPECT_EQ(g.source, Source::Policy);
  }
  EXPECT_EQ(guarded.counters().recoveries_triggered, 0);
}

TEST_F(InterventionTest, NoTriggerWhileTurningOnThePath) {
  Intervention iv = make();
  int facing_away = 0;
  float heading = kFacePlusX + 5.f * kPi / 180.f;  // errors 5, 20, ..., 125, 140, ...
  for (int t = 0; t < 48; ++t) {                   // two full turns on the spot, on the path
    const Decision d = iv.step({at(5, 10), heading}, Action::TurnLeft);
    facing_away += d.measures.heading_error_deg > 120.f;
    EXPECT_FALSE(d.measures.offtrack);
    EXPECT_EQ(d.source, Source::Policy);
    heading = sim::wrapAngle(heading + 15.f * kPi / 180.f);
  }
  EXPECT_EQ(facing_away, 2 * 8);  // 125, 140, 155, 170, 175, 160, 145, 130 per turn
  EXPECT_EQ(iv.counters().recoveries_triggered, 0);
}

TEST_F(InterventionTest, AnOnTrackStepResetsThePatience) {
  Intervention iv = make();
  for (int t = 0; t < 7; ++t) EXPECT_EQ(iv.step(kFar, Action::MoveForward).offtrack_count, t + 1);
  const Decision back = iv.step(kOnPath, Action::MoveForward);
  EXPECT_EQ(back.offtrack_count, 0);
  EXPECT_EQ(back.source, Source::Policy);
  for (int t = 0; t < 7; ++t) {
    const Decision d = iv.step(kFar, Action::MoveForward);
    EXPECT_EQ(d.offtrack_count, t + 1);
    EXPECT_EQ(d.source, Source::Policy);
  }
  EXPECT_EQ(iv.step(kFar, Action::MoveForward).reason, Reason::OfftrackDistance);  // 16th step
  EXPECT_EQ(iv.counters().policy_steps, 15);
}

TEST_F(InterventionTest, RecoveryEndsOnlyWhenBothDistanceAndHeadingAreBelowThresholds) {
  Intervention iv = make();
  for (int t = 0; t < 8; ++t) iv.step(kFar, Action::MoveForward);
  ASSERT_TRUE(iv.recovering());
  // 1.5 m from the path (< 2) but facing away from the target: still the expert's.
  sim::AgentState near_away = facingTarget(iv, at(5, 11.5f));
  near_away.heading_rad = sim::wrapAngle(near_away.heading_rad + kPi);
  Decision d = iv.step(near_away, Action::MoveForward);
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_EQ(d.reason, Reason::None);
  EXPECT_EQ(d.recovery_steps, 2);
  // Facing the target (0 degrees) but 2.5 m away (> 2): still the expert's.
  d = iv.step(facingTarget(iv, at(5, 12.5f)), Action::MoveForward);
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_NEAR(d.measures.heading_error_deg, 0.f, 1e-3);
  // Both: control returns to the policy at this very step.
  d = iv.step(facingTarget(iv, at(5, 11.5f)), Action::TurnRight);
  EXPECT_EQ(d.source, Source::Policy);
  EXPECT_EQ(d.action, Action::TurnRight);
  EXPECT_EQ(d.reason, Reason::Recovered);
  EXPECT_FALSE(iv.recovering());
  EXPECT_EQ(iv.counters().recoveries_completed, 1);
  EXPECT_EQ(iv.counters().expert_steps, 3);
}

TEST_F(InterventionTest, SafetyStopWhenARecoveryLastsRecoveryMaxSteps) {
  Intervention iv = make();
  for (int t = 0; t < 7; ++t) iv.step(kFar, Action::MoveForward);
  Decision d = iv.step(kFar, Action::MoveForward);  // step 7: recovery step 1
  ASSERT_EQ(d.reason, Reason::OfftrackDistance);
  for (int t = 8; t <= 106; ++t) {  // recovery steps 2..100, the agent stuck where it is
    d = iv.step(kFar, Action::MoveForward);
    ASSERT_EQ(d.source, Source::Expert) << t;
    ASSERT_FALSE(d.episode_over) << t;
    ASSERT_EQ(d.recovery_steps, t - 6);
  }
  d = iv.step(kFar, Action::MoveForward);  // step 107
  EXPECT_EQ(d.reason, Reason::SafetyStop);
  EXPECT_EQ(d.action, Action::Stop);
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_TRUE(d.episode_over);
  EXPECT_EQ(iv.counters().recoveries_triggered, 1);
  EXPECT_EQ(iv.counters().recoveries_completed, 0);
  EXPECT_EQ(iv.counters().expert_steps, 101);
  EXPECT_EQ(iv.counters().policy_steps, 7);
  EXPECT_THROW(iv.step(kFar, Action::MoveForward), std::logic_error);
}

TEST_F(InterventionTest, NoTakeoverInsideTheGoalZone) {
  InterventionConfig cfg;
  cfg.offtrack_dist_thresh = 1.0f;
  cfg.recovery_dist_thresh = 0.5f;
  cfg.goal_stop_patience = 0;  // no forced STOP in this test
  // 1.5 m off the path but 1.8 m (geodesic) from the goal.
  const sim::AgentState in_zone{at(13, 11.5f), kFacePlusZ};
  Intervention iv = make(cfg);
  for (int t = 0; t < 30; ++t) {
    const Decision d = iv.step(in_zone, Action::TurnLeft);
    EXPECT_TRUE(d.measures.in_goal_zone);
    EXPECT_NEAR(d.measures.goal_geodesic_m, std::sqrt(1.f + 2.25f), 0.05f);
    EXPECT_FALSE(d.measures.offtrack);
    EXPECT_EQ(d.source, Source::Policy);
  }
  EXPECT_EQ(iv.counters().recoveries_triggered, 0);

  // A recovery running when the agent enters the zone ends there.
  Intervention rec = make(cfg);
  const sim::AgentState out_zone{at(9, 11.5f), kFacePlusZ};  // 5.2 m from the goal
  for (int t = 0; t < 8; ++t) rec.step(out_zone, Action::TurnLeft);
  ASSERT_TRUE(rec.recovering());
  const Decision d = rec.step(in_zone, Action::TurnLeft);
  EXPECT_EQ(d.reason, Reason::GoalZone);
  EXPECT_EQ(d.source, Source::Policy);
  EXPECT_EQ(d.goal_zone_steps, 1);
  EXPECT_EQ(rec.counters().recoveries_completed, 1);
}

TEST_F(InterventionTest, GraceThenForcedStopAtTheExactStep) {
  const sim::AgentState near_goal{at(12.5f, 10), kFacePlusX};  // 1.5 m from the goal
  Intervention iv = make();
  for (int t = 0; t < 12; ++t) {  // 7 grace steps + 5 counted steps
    const Decision d = iv.step(near_goal, Action::TurnLeft);
    ASSERT_EQ(d.source, Source::Policy) << t;
    ASSERT_EQ(d.goal_zone_steps, t + 1);
    ASSERT_FALSE(d.episode_over);
  }
  const Decision d = iv.step(near_goal, Action::TurnLeft);  // the 13th step in the zone
  EXPECT_EQ(d.reason, Reason::ForcedStop);
  EXPECT_EQ(d.action, Action::Stop);
  EXPECT_EQ(d.source, Source::Expert);
  EXPECT_TRUE(d.episode_over);
  EXPECT_EQ(iv.counters().forced_stops, 1);
  EXPECT_EQ(iv.counters().expert_steps, 1);
  EXPECT_EQ(iv.counters().policy_steps, 12);

  // The policy's own STOP at that step is the policy's.
  Intervention own = make();
  for (int t = 0; t < 12; ++t) own.step(near_goal, Action::TurnLeft);
  const Decision s = own.step(near_goal, Action::Stop);
  EXPECT_EQ(s.source, Source::Policy);
  EXPECT_EQ(s.reason, Reason::None);
  EXPECT_TRUE(s.episode_over);
  EXPECT_EQ(own.counters().forced_stops, 0);

  // Steps in the zone accumulate across exits: 6 in, 3 out, then the 13th in is forced.
  Intervention cum = make();
  int t = 0;
  for (; t < 6; ++t) cum.step(near_goal, Action::TurnLeft);
  for (; t < 9; ++t) EXPECT_FALSE(cum.step(kOnPath, Action::TurnLeft).measures.in_goal_zone);
  for (; t < 15; ++t) EXPECT_EQ(cum.step(near_goal, Action::TurnLeft).source, Source::Policy);
  EXPECT_EQ(cum.step(near_goal, Action::TurnLeft).reason, Reason::ForcedStop);

  // grace 0, patience 1: the second step in the zone is forced; patience 0 never forces.
  InterventionConfig quick;
  quick.goal_grace_steps = 0;
  quick.goal_stop_patience = 1;
  Intervention q = make(quick);
  EXPECT_EQ(q.step(near_goal, Action::TurnLeft).source, Source::Policy);
  EXPECT_EQ(q.step(near_goal, Action::TurnLeft).reason, Reason::ForcedStop);
  InterventionConfig never;
  never.goal_stop_patience = 0;
  Intervention n = make(never);
  for (int k = 0; k < 50; ++k)
    EXPECT_EQ(n.step(near_goal, Action::TurnLeft).source, Source::Policy);
}

TEST_F(InterventionTest, DisabledRecoveryNeverChangesThePolicysActions) {
  InterventionConfig cfg;
  cfg.enable_recovery = false;
  Intervention iv = make(cfg);
  const sim::AgentState near_goal{at(12.5f, 10), kFacePlusX};
  std::mt19937_64 rng(7);
  int n = 0;
  for (const sim::AgentState& s : {kFar, near_goal}) {
    for (int t = 0; t < 120; ++t, ++n) {
      const auto a = static_cast<Action>(1 + rng() % 3);
      const Decision d = iv.step(s, a);
      ASSERT_EQ(d.action, a);
      ASSERT_EQ(d.source, Source::Policy);
      ASSERT_EQ(d.reason, Reason::None);
      ASSERT_NE(d.expert_status, FollowStatus::Unreachable);  // the label is still there
    }
  }
  EXPECT_EQ(iv.counters().policy_steps, n);
  EXPECT_EQ(iv.counters().expert_steps, 0);
  EXPECT_EQ(iv.counters().recoveries_triggered, 0);
  EXPECT_EQ(iv.counters().forced_stops, 0);
}

TEST_F(InterventionTest, ExpertLabelMatchesExpertActionAndFollowsTheLookahead) {
  Intervention iv = make();
  // Facing -z on the path at (5, 10): target (6, 10) is on the right.
  const sim::AgentState s{at(5, 10), kFaceMinusZ};
  const FollowResult peek = iv.expertAction(s);
  const Decision d = iv.step(s, Action::MoveForward);
  EXPECT_EQ(peek.action, Action::TurnRight);
  EXPECT_EQ(d.expert_action, peek.action);
  EXPECT_EQ(d.expert_status, FollowStatus::Moving);
}

// Rollback mode also cuts a policy that does not move (e.g. pressing into a wall or
// turning in place for good): after stuck_steps steps within stuck_move_m. Takeover mode
// has no such trigger.
TEST_F(InterventionTest, RollbackCutsAStuckPolicy) {
  InterventionConfig cfg;
  cfg.recovery_mode = RecoveryMode::Rollback;
  cfg.stuck_steps = 30;
  Intervention iv = make(cfg);
  for (int t = 0; t < 30; ++t) {
    const Decision d = iv.step(kOnPath, Action::TurnLeft);
    ASSERT_FALSE(d.rollback) << "step " << t;
    EXPECT_EQ(d.source, Source::Policy);
  }
  const Decision d = iv.step(kOnPath, Action::TurnLeft);
  EXPECT_TRUE(d.rollback);
  EXPECT_TRUE(d.episode_over);
  EXPECT_EQ(d.reason, Reason::Stuck);
  EXPECT_STREQ(reasonName(d.reason), "stuck");
  EXPECT_EQ(iv.counters().recoveries_triggered, 1);

  cfg.recovery_mode = RecoveryMode::Takeover;
  Intervention takeover = make(cfg);
  for (int t = 0; t < 60; ++t) EXPECT_FALSE(takeover.step(kOnPath, Action::TurnLeft).rollback);
  cfg.recovery_mode = RecoveryMode::Rollback;
  cfg.stuck_steps = 0;  // disabled
  Intervention off = make(cfg);
  for (int t = 0; t < 60; ++t) EXPECT_FALSE(off.step(kOnPath, Action::TurnLeft).rollback);
}

TEST_F(InterventionTest, RollbackCutsTheTrajectoryAndDemonstratesFromTheLastWaypoint) {
  InterventionConfig cfg;
  cfg.recovery_mode = RecoveryMode::Rollback;
  Intervention iv = make(cfg);
  iv.step(kOnPath, Action::MoveForward);  // nearest waypoint 3
  for (int t = 0; t < 7; ++t) EXPECT_EQ(iv.step(kFar, Action::MoveForward).source, Source::Policy);
  const Decision d = iv.step(kFar, Action::MoveForward);
  EXPECT_TRUE(d.rollback);
  EXPECT_TRUE(d.episode_over);
  EXPECT_EQ(d.reason, Reason::OfftrackDistance);
  EXPECT_EQ(iv.counters().recoveries_triggered, 1);
  EXPECT_EQ(iv.counters().steps(), 8);  // the cut is not a step
  const sim::AgentState start = iv.rollbackStart();
  EXPECT_NEAR(start.position.x, 5.f, 1e-3);
  EXPECT_NEAR(start.position.z, 10.f, 1e-3);
  EXPECT_NEAR(start.heading_rad, kFacePlusX, 1e-5);  // facing waypoint 4
  const std::vector<DemoStep> demo = iv.demonstrate(start, 3, 200);
  ASSERT_FALSE(demo.empty());
  EXPECT_EQ(demo.back().action, Action::Stop);
  // Straight along the path: 9 m less the 0.5 m stop radius is 34 forward steps (35 when
  // the navmesh puts the 34th a hair short), then STOP.
  EXPECT_GE(demo.size(), 35u);
  EXPECT_LE(demo.size(), 36u);
  for (size_t i = 0; i + 1 < demo.size(); ++i) EXPECT_EQ(demo[i].action, Action::MoveForward);
  EXPECT_LE(pf_->geodesicDistance(demo.back().state.position, at(14, 10)), 0.5f);
  sim::AgentState s = start;  // it replays exactly
  for (const DemoStep& step : demo) {
    EXPECT_EQ(step.state.position, s.position);
    s = sim::applyAction(*pf_, s, step.action, sim::ActionSpace{}).state;
  }
}

// BudVLN's goal-zone timeout (G:869-895, 1252-1259): at zone step k, steps_after_grace =
// k - 7; the cut comes once that reaches 5 with a non-STOP action, i.e. k = 12, one step
// before the guide's forced STOP; the counter restarts whenever the agent leaves the zone.
TEST_F(InterventionTest, ZoneTimeoutRollbackCutsOnTheTwelfthZoneStepAndRestartsOnLeaving) {
  const sim::AgentState near_goal{at(12.5f, 10), kFacePlusX};  // 1.5 m from the goal
  InterventionConfig cfg;
  cfg.goal_zone_rollback = true;
  Intervention iv = make(cfg);
  for (int t = 0; t < 11; ++t)
    ASSERT_FALSE(iv.step(near_goal, Action::TurnLeft).episode_over) << t;
  const Decision d = iv.step(near_goal, Action::TurnLeft);  // zone step 12
  EXPECT_TRUE(d.rollback);
  EXPECT_TRUE(d.episode_over);
  EXPECT_EQ(d.reason, Reason::ZoneTimeout);
  EXPECT_STREQ(reasonName(d.reason), "zone_timeout");
  EXPECT_EQ(iv.counters().forced_stops, 0);  // nothing is forced, nothing executed
  EXPECT_EQ(iv.counters().recoveries_triggered, 1);
  EXPECT_EQ(iv.counters().steps(), 11);

  // The policy's own STOP on that step is executed as usual.
  Intervention own = make(cfg);
  for (int t = 0; t < 11; ++t) own.step(near_goal, Action::TurnLeft);
  const Decision s = own.step(near_goal, Action::Stop);
  EXPECT_FALSE(s.rollback);
  EXPECT_EQ(s.source, Source::Policy);
  EXPECT_TRUE(s.episode_over);

  // 6 zone steps, one outside (the counter restarts), then 11 zone steps pass and the 12th
  // cuts: 19 steps, where the guide's accumulating counter forces its STOP on the 14th.
  Intervention restart = make(cfg);
  for (int t = 0; t < 6; ++t) restart.step(near_goal, Action::TurnLeft);
  EXPECT_FALSE(restart.step(kOnPath, Action::TurnLeft).measures.in_goal_zone);
  for (int t = 0; t < 11; ++t)
    ASSERT_FALSE(restart.step(near_goal, Action::TurnLeft).rollback) << t;
  EXPECT_EQ(restart.step(near_goal, Action::TurnLeft).reason, Reason::ZoneTimeout);
}

// BudVLN's premature-STOP rollback (G:1299-1341): the policy's STOP outside the goal zone is
// not executed; the trajectory is cut for a demonstration. Inside the zone STOP is a STOP.
TEST_F(InterventionTest, PrematureStopRollbackCutsAStopOutsideTheGoalZoneOnly) {
  InterventionConfig cfg;
  cfg.premature_stop_rollback = true;
  Intervention iv = make(cfg);
  const Decision d = iv.step(kOnPath, Action::Stop);  // 9 m from the goal
  EXPECT_TRUE(d.rollback);
  EXPECT_EQ(d.reason, Reason::PrematureStop);
  EXPECT_EQ(iv.counters().steps(), 0);
  Intervention in_zone = make(cfg);
  const Decision z = in_zone.step({at(12.5f, 10), kFacePlusX}, Action::Stop);
  EXPECT_FALSE(z.rollback);
  EXPECT_EQ(z.action, Action::Stop);
  EXPECT_EQ(z.source, Source::Policy);
  Intervention guide = make();  // off: the STOP is executed
  const Decision g = guide.step(kOnPath, Action::Stop);
  EXPECT_FALSE(g.rollback);
  EXPECT_EQ(g.action, Action::Stop);
  EXPECT_TRUE(g.episode_over);
}

// BudVLN's stuck rule (G:947-992): the first step sets the nearest waypoint (counter 0),
// each later step at the same waypoint adds one, and the cut comes when the counter reaches
// stuck_patience: the 61st step with 60. Moving on to another waypoint restarts it.
TEST_F(InterventionTest, StuckEnableCutsAfterPatienceStepsAtOneWaypoint) {
  InterventionConfig cfg;
  cfg.stuck_enable = true;
  cfg.stuck_patience = 60;
  Intervention iv = make(cfg);  // takeover mode: the motion rule is off
  for (int t = 0; t < 60; ++t) ASSERT_FALSE(iv.step(kOnPath, Action::TurnLeft).rollback) << t;
  const Decision d = iv.step(kOnPath, Action::TurnLeft);
  EXPECT_TRUE(d.rollback);
  EXPECT_EQ(d.reason, Reason::StuckAtWaypoint);

  Intervention moving = make(cfg);
  for (int t = 0; t < 40; ++t) moving.step(kOnPath, Action::TurnLeft);
  for (int t = 0; t < 60; ++t)  // waypoint 4 from here on: 59 more steps are allowed there
    ASSERT_FALSE(moving.step({at(6, 10), kFacePlusX}, Action::TurnLeft).rollback) << t;
  EXPECT_TRUE(moving.step({at(6, 10), kFacePlusX}, Action::TurnLeft).rollback);

  Intervention off = make();  // default: no such rule
  for (int t = 0; t < 100; ++t) ASSERT_FALSE(off.step(kOnPath, Action::TurnLeft).rollback);
}

// --rollback_pose own: the agent's own pose when its nearest waypoint last changed (G:902-
// 916), not the waypoint; the episode's start when none was recorded.
TEST_F(InterventionTest, OwnPoseRollbackRestoresThePoseWhereTheWaypointLastChanged) {
  InterventionConfig cfg;
  cfg.recovery_mode = RecoveryMode::Rollback;
  cfg.rollback_to_own_pose = true;
  const sim::AgentState passing{at(5.3f, 10.2f), kFacePlusZ};  // nearest waypoint 3
  Intervention iv = make(cfg);
  iv.step(passing, Action::MoveForward);
  for (int t = 0; t < 8; ++t) iv.step({at(5.1f, 13.5f), kFacePlusX}, Action::MoveForward);
  ASSERT_EQ(iv.counters().recoveries_triggered, 1);
  const sim::AgentState own = iv.rollbackStart();
  EXPECT_EQ(own.position, passing.position);
  EXPECT_FLOAT_EQ(own.heading_rad, kFacePlusZ);
  EXPECT_EQ(iv.rollbackWaypoint(), 3);
  cfg.rollback_to_own_pose = false;  // the guide's: waypoint 3 itself, facing waypoint 4
  Intervention wp = make(cfg);
  wp.step(passing, Action::MoveForward);
  for (int t = 0; t < 8; ++t) wp.step({at(5.1f, 13.5f), kFacePlusX}, Action::MoveForward);
  EXPECT_NEAR(wp.rollbackStart().position.x, 5.f, 1e-3);
  EXPECT_NEAR(wp.rollbackStart().heading_rad, kFacePlusX, 1e-5);
  // Started in the goal zone, never outside it: the episode's start.
  cfg.rollback_to_own_pose = true;
  cfg.premature_stop_rollback = true;
  Intervention zone = make(cfg);
  const sim::AgentState start{at(12.5f, 10), kFaceMinusZ};
  zone.step(start, Action::TurnLeft);
  EXPECT_EQ(zone.rollbackStart().position, start.position);
  EXPECT_FLOAT_EQ(zone.rollbackStart().heading_rad, kFaceMinusZ);
}

// --rollback_demo goal --oracle_goal_radius 1.0 (G:1579-1752): the demonstration heads
// straight for the goal, not back to the path, and stops within 1 m of it.
TEST_F(InterventionTest, StraightDemonstrationHeadsForTheGoalAndStopsWithinTheOracleRadius) {
  InterventionConfig cfg;
  cfg.recovery_mode = RecoveryMode::Rollback;
  Intervention along = make(cfg);
  cfg.demo_towards_goal = true;
  cfg.oracle_goal_radius_m = 1.0f;
  Intervention straight = make(cfg);
  // 3 m off the path facing +x: the goal is 18 degrees to the right, the target waypoint
  // (6, 10) 72 degrees.
  const sim::AgentState start{at(5, 13), kFacePlusX};
  auto turnsBeforeForward = [](const std::vector<DemoStep>& demo) {
    size_t k = 0;
    while (k < demo.size() && demo[k].action != Action::MoveForward) ++k;
    return k;
  };
  const std::vector<DemoStep> a = along.demonstrate(start, 3, 300);
  const std::vector<DemoStep> b = straight.demonstrate(start, 3, 300);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_GE(turnsBeforeForward(a), 4u);
  EXPECT_LE(turnsBeforeForward(b), 2u);
  EXPECT_LT(b.size(), a.size());
  EXPECT_EQ(b.back().action, Action::Stop);
  const float last = pf_->geodesicDistance(b.back().state.position, at(14, 10));
  EXPECT_LE(last, 1.0f);
  EXPECT_GT(last, 0.5f);  // it stopped at 1 m, not at the expert's 0.5 m
}

TEST_F(InterventionTest, TheHabitatFollowerDemonstratesWithItsPrimitivesAndStrictRadius) {
  // Facing -z at the start, the target waypoint 1 m along +x is 90 deg to the right: the
  // greedy follower's best primitive is [RIGHT]*6 + FORWARD (reward 1 - 0.075). Then
  // straight on until the goal is strictly under 0.5 m: 12 m in 0.25 m steps stops after
  // 47 forward steps (at 0.5 m exactly it still walks), 46 if float sums land a hair short.
  InterventionConfig cfg;
  cfg.follower = FollowerRule::Habitat;
  Intervention iv = make(cfg);
  const std::vector<DemoStep> demo = iv.demonstrate({at(2, 10), kFaceMinusZ}, 0, 200);
  ASSERT_GE(demo.size(), 53u);
  EXPECT_LE(demo.size(), 54u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(demo[i].action, Action::TurnRight) << i;
  for (size_t i = 6; i + 1 < demo.size(); ++i) EXPECT_EQ(demo[i].action, Action::MoveForward);
  EXPECT_EQ(demo.back().action, Action::Stop);
  EXPECT_LT(pf_->geodesicDistance(demo.back().state.position, at(14, 10)), 0.5f);
}

// Rolls out a stand-in policy on the open floor under an intervention and reports whether
// the episode ended with a STOP within 3 m (geodesic) of the goal.
struct Rollout {
  bool success = false;
  int steps = 0;
  int expert_decisions = 0;
  InterventionCounters counters;
};
Rollout rollout(const sim::PathFinder& pf, Intervention& iv, uint64_t seed, int max_steps) {
  const sim::ActionSpace space;
  std::mt19937_64 rng(seed);
  const std::vector<sim::Vec3> ref = line(at(4, 10), at(10, 10), 1.f);
  iv.reset(pf, ref, {ref.back()});
  sim::AgentState s{ref.front(), kFacePlusX};
  Rollout r;
  for (; r.steps < max_steps; ++r.steps) {
    const auto proposed = static_cast<Action>(1 + rng() % 3);  // random, never STOP
    const Decision d = iv.step(s, proposed);
    r.expert_decisions += d.source == Source::Expert;
    if (d.action == Action::Stop) {
      r.success = pf.geodesicDistance(s.position, ref.back()) < 3.f;
      ++r.steps;
      break;
    }
    s = sim::applyAction(pf, s, d.action, space).state;
  }
  r.counters = iv.counters();
  return r;
}

TEST_F(InterventionTest, InterventionRaisesTheRandomPolicysSuccessRate) {
  InterventionConfig off;
  off.enable_recovery = false;
  InterventionConfig on;
  Intervention iv_off(off, sim::ActionSpace{}), iv_on(on, sim::ActionSpace{});
  int success_off = 0, success_on = 0, triggered = 0;
  const int n = 40;
  for (int e = 0; e < n; ++e) {
    success_off += rollout(*pf_, iv_off, 1000 + e, 500).success;
    const Rollout r = rollout(*pf_, iv_on, 1000 + e, 500);
    success_on += r.success;
    triggered += r.counters.recoveries_triggered;
    // Oracle Rate is exactly the count of expert decisions over all steps.
    EXPECT_EQ(r.counters.expert_steps, r.expert_decisions);
    EXPECT_EQ(r.counters.steps(), r.steps);
    EXPECT_DOUBLE_EQ(r.counters.oracleRate(), double(r.expert_decisions) / r.steps);
  }
  RecordProperty("success_on", success_on);
  RecordProperty("triggered", triggered);
  EXPECT_EQ(success_off, 0);  // a random walk that never stops never succeeds
  EXPECT_GE(success_on, n * 3 / 4) << "triggers " << triggered;
  EXPECT_GT(triggered, 0);
}

}  // namespace
}  // namespace svln::expert
