#include "expert/shortest_path_follower.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "expert_scenes.h"
#include "sim/agent.h"
#include "sim/path_finder.h"

namespace svln::expert {
namespace {

using sim::Action;
using namespace svln::expert::test;

constexpr float kDeg = kPi / 180.f;

class FollowerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    open_ = new sim::PathFinder();
    open_->build(openFloorWithIsland());
    corridor_ = new sim::PathFinder();
    corridor_->build(lCorridor());
  }
  static void TearDownTestSuite() {
    delete open_;
    delete corridor_;
  }

  struct Run {
    std::vector<Action> actions;
    sim::AgentState final_state;
    float path_length_m = 0.f;
    bool stopped = false;
  };
  // Drives the follower to `goal` until STOP or max_steps.
  static Run drive(const sim::PathFinder& pf, sim::AgentState s, const sim::Vec3& goal,
                   int max_steps = 400, FollowerRule rule = FollowerRule::Heading) {
    const sim::ActionSpace space;
    ShortestPathFollower f(pf, space, ShortestPathFollower::kDefaultStopRadiusM, rule);
    Run run;
    for (int i = 0; i < max_steps; ++i) {
      const FollowResult r = f.towardsGoal(s, goal);
      EXPECT_NE(r.status, FollowStatus::Unreachable);
      run.actions.push_back(r.action);
      if (r.action == Action::Stop) {
        run.stopped = true;
        break;
      }
      const sim::StepOutcome o = sim::applyAction(pf, s, r.action, space);
      run.path_length_m += sim::distance(o.state.position, s.position);
      s = o.state;
    }
    run.final_state = s;
    return run;
  }
  static bool oscillates(const std::vector<Action>& a) {
    for (size_t i = 1; i < a.size(); ++i) {
      if ((a[i - 1] == Action::TurnLeft && a[i] == Action::TurnRight) ||
          (a[i - 1] == Action::TurnRight && a[i] == Action::TurnLeft)) {
        return true;
      }
    }
    return false;
  }

  static sim::PathFinder* open_;
  static sim::PathFinder* corridor_;
};
sim::PathFinder* FollowerTest::open_ = nullptr;
sim::PathFinder* FollowerTest::corridor_ = nullptr;

TEST_F(FollowerTest, TurnsOnlyBeyondHalfATurnStep) {
  ShortestPathFollower f(*open_, sim::ActionSpace{});
  EXPECT_EQ(f.actionForHeadingError(0.f), Action::MoveForward);
  EXPECT_EQ(f.actionForHeadingError(7.4f * kDeg), Action::MoveForward);
  EXPECT_EQ(f.actionForHeadingError(-7.4f * kDeg), Action::MoveForward);
  EXPECT_EQ(f.actionForHeadingError(7.6f * kDeg), Action::TurnLeft);
  EXPECT_EQ(f.actionForHeadingError(-7.6f * kDeg), Action::TurnRight);
  EXPECT_EQ(f.actionForHeadingError(kPi), Action::TurnLeft);  // straight behind: left
  EXPECT_EQ(f.actionForHeadingError(-179.f * kDeg), Action::TurnRight);
  // A 30-degree action space turns only beyond 15 degrees.
  ShortestPathFollower coarse(*open_, sim::ActionSpace{0.25f, 30.f});
  EXPECT_EQ(coarse.actionForHeadingError(14.f * kDeg), Action::MoveForward);
  EXPECT_EQ(coarse.actionForHeadingError(16.f * kDeg), Action::TurnLeft);
}

// VLN-CE's ShortestPathFollowerCompat (habitat_extensions/shortest_path_follower.py):
// forward within a whole turn step (+1e-6 rad), else the turn that shrinks the angle.
TEST_F(FollowerTest, VlnCeRuleGoesForwardWithinAWholeTurnStep) {
  const sim::ActionSpace space;  // 15 degrees
  const ShortestPathFollower f(*open_, space, 0.5f, FollowerRule::VlnCe);
  EXPECT_EQ(f.rule(), FollowerRule::VlnCe);
  EXPECT_EQ(f.actionForHeadingError(10.f * kDeg), Action::MoveForward);  // Heading turns here
  EXPECT_EQ(f.actionForHeadingError(-14.9f * kDeg), Action::MoveForward);
  EXPECT_EQ(f.actionForHeadingError(15.f * kDeg + 5e-7f), Action::MoveForward);
  EXPECT_EQ(f.actionForHeadingError(15.f * kDeg + 5e-6f), Action::TurnLeft);
  EXPECT_EQ(f.actionForHeadingError(-16.f * kDeg), Action::TurnRight);
  EXPECT_EQ(f.actionForHeadingError(kPi), Action::TurnLeft);             // left makes 165 < 180
  EXPECT_EQ(f.actionForHeadingError(-170.f * kDeg), Action::TurnRight);  // left gives 175
  const ShortestPathFollower heading(*open_, space);
  EXPECT_EQ(heading.actionForHeadingError(10.f * kDeg), Action::TurnLeft);

  // Driven to goals from 24 headings: it stops within 0.5 m, never alternates left/right,
  // and takes fewer turns than the default rule, which corrects every 7.5 degrees.
  int turns_vlnce = 0, turns_heading = 0;
  for (const sim::Vec3& goal : {at(15, 12.3f), at(3.7f, 4.1f), at(10, 18)}) {
    for (int k = 0; k < 24; ++k) {
      const sim::AgentState start{at(9, 9), sim::wrapAngle(k * 15.f * kDeg + 0.1f)};
      const Run run = drive(*open_, start, goal, 400, FollowerRule::VlnCe);
      ASSERT_TRUE(run.stopped) << k;
      EXPECT_FALSE(oscillates(run.actions)) << k;
      EXPECT_LE(open_->geodesicDistance(run.final_state.position, goal), 0.5f);
      EXPECT_LE(run.path_length_m, 1.06f * open_->geodesicDistance(start.position, goal)) << k;
      for (Action a : run.actions) turns_vlnce += a == Action::TurnLeft || a == Action::TurnRight;
      for (Action a : drive(*open_, start, goal).actions)
        turns_heading += a == Action::TurnLeft || a == Action::TurnRight;
    }
  }
  EXPECT_LT(turns_vlnce, turns_heading);
}

TEST_F(FollowerTest, FirstActionTurnsTowardsTheGoalSide) {
  ShortestPathFollower f(*open_, sim::ActionSpace{});
  // Facing +x at (5, 10): a goal at (5, 5) lies to the left (-z is left of +x).
  sim::AgentState s{at(5, 10), kFacePlusX};
  FollowResult r = f.towardsGoal(s, at(5, 5));
  EXPECT_EQ(r.status, FollowStatus::Moving);
  EXPECT_EQ(r.action, Action::TurnLeft);
  EXPECT_NEAR(r.heading_error_rad, 90.f * kDeg, 1e-3);
  EXPECT_NEAR(r.geodesic_m, 5.f, 0.05f);
  r = f.towardsGoal(s, at(5, 15));
  EXPECT_EQ(r.action, Action::TurnRight);
  r = f.towardsGoal(s, at(15, 10));
  EXPECT_EQ(r.action, Action::MoveForward);
  // Within the 0.5 m stop radius: STOP.
  r = f.towardsGoal(s, at(5.4f, 10));
  EXPECT_EQ(r.status, FollowStatus::Reached);
  EXPECT_EQ(r.action, Action::Stop);
}

TEST_F(FollowerTest, ReachesGoalsFromEveryHeadingWithoutOscillation) {
  // 24 start headings x 3 goals in the open room: quantisation never makes it alternate
  // left/right, it stops within the 0.5 m radius, and walks at most 6% more than the
  // geodesic distance (plus the 0.5 m it may stop short).
  const std::vector<sim::Vec3> goals = {at(15, 12.3f), at(3.7f, 4.1f), at(10, 18)};
  for (const sim::Vec3& goal : goals) {
    for (int k = 0; k < 24; ++k) {
      const sim::AgentState start{at(9, 9), sim::wrapAngle(k * 15.f * kDeg + 0.1f)};
      const float geo = open_->geodesicDistance(start.position, goal);
      const Run run = drive(*open_, start, goal);
      ASSERT_TRUE(run.stopped) << "goal " << goal.x << "," << goal.z << " heading " << k;
      EXPECT_FALSE(oscillates(run.actions)) << "heading " << k;
      EXPECT_LE(open_->geodesicDistance(run.final_state.position, goal), 0.5f);
      EXPECT_LE(run.path_length_m, 1.06f * geo) << "heading " << k;
      // Up to 12 turns to face the goal; after the first forward step each correction is a
      // single turn between forward steps (a goal between two quantised headings gives
      // R F L F ..., never L R or a spin).
      size_t first_forward = 0;
      while (run.actions[first_forward] != Action::MoveForward) ++first_forward;
      EXPECT_LE(first_forward, 12u) << "heading " << k;
      for (size_t i = first_forward + 1; i + 1 < run.actions.size(); ++i) {
        const bool turn = run.actions[i] == Action::TurnLeft || run.actions[i] == Action::TurnRight;
        const bool next_turn =
            run.actions[i + 1] == Action::TurnLeft || run.actions[i + 1] == Action::TurnRight;
        EXPECT_FALSE(turn && next_turn) << "heading " << k << " step " << i;
      }
    }
  }
}

TEST_F(FollowerTest, FollowsTheLCorridorAroundTheCorner) {
  // Start in the x-leg facing +x, goal at the far end of the z-leg: the straight line
  // crosses off the navmesh, the geodesic goes round the corner (14.8 m).
  const sim::AgentState start{at(1, 1), kFacePlusX};
  const sim::Vec3 goal = at(9, 9.5f);
  const float geo = corridor_->geodesicDistance(start.position, goal);
  EXPECT_GT(geo, 14.f);  // the straight line is 11.7 m
  const Run run = drive(*corridor_, start, goal);
  ASSERT_TRUE(run.stopped);
  EXPECT_FALSE(oscillates(run.actions));
  EXPECT_LE(corridor_->geodesicDistance(run.final_state.position, goal), 0.5f);
  EXPECT_LE(run.path_length_m, 1.05f * geo);
}

TEST_F(FollowerTest, UnreachableTargetIsAClearStatus) {
  ShortestPathFollower f(*open_, sim::ActionSpace{});
  const sim::AgentState s{at(5, 5), 0.f};
  const FollowResult r = f.towardsGoal(s, at(31.5f, 31.5f));  // the island
  EXPECT_EQ(r.status, FollowStatus::Unreachable);
  EXPECT_TRUE(std::isinf(r.geodesic_m));
  // Chain: an unreachable waypoint is skipped in favour of the next one.
  const std::vector<sim::Vec3> wps = {at(31.5f, 31.5f), at(4, 9)};
  FollowResult c = f.towardsChain(s, wps, 0, at(5, 15));
  EXPECT_EQ(c.status, FollowStatus::Moving);
  EXPECT_EQ(c.target_used, 1);
  EXPECT_EQ(c.action, Action::TurnLeft);  // facing -z, target behind on the left (-x)
  // Nothing reachable at all.
  const std::vector<sim::Vec3> lost = {at(31.5f, 31.5f)};
  c = f.towardsChain(s, lost, 0, at(32, 32));
  EXPECT_EQ(c.status, FollowStatus::Unreachable);
}

TEST_F(FollowerTest, ChainSkipsReachedWaypointsAndStopsAtTheGoal) {
  ShortestPathFollower f(*open_, sim::ActionSpace{});
  const sim::AgentState s{at(5, 5), kFacePlusX};
  // First waypoint 0.2 m ahead (within one forward step): move on to the second.
  const std::vector<sim::Vec3> wps = {at(5.2f, 5), at(5, 2), at(5, 1)};
  FollowResult c = f.towardsChain(s, wps, 0, at(5, 1));
  EXPECT_EQ(c.target_used, 1);
  EXPECT_EQ(c.action, Action::TurnLeft);  // (5, 2) is to the left of +x
  // Starting the chain later skips earlier waypoints.
  c = f.towardsChain(s, wps, 2, at(5, 1));
  EXPECT_EQ(c.target_used, 2);
  // A waypoint lying on the goal does not pull the agent past its STOP.
  const std::vector<sim::Vec3> on_goal = {at(5.45f, 5)};
  c = f.towardsChain(s, on_goal, 0, at(5.45f, 5));
  EXPECT_EQ(c.status, FollowStatus::Reached);
  EXPECT_EQ(c.action, Action::Stop);
}

TEST_F(FollowerTest, ActionSequenceReplaysToTheSamePositions) {
  const sim::ActionSpace space;
  const sim::AgentState start{at(1, 1), kFacePlusX};
  const Run run = drive(*corridor_, start, at(9, 9.5f));
  ASSERT_TRUE(run.stopped);
  sim::AgentState s = start;
  for (Action a : run.actions) s = sim::applyAction(*corridor_, s, a, space).state;
  EXPECT_EQ(s.position, run.final_state.position);
  EXPECT_EQ(s.heading_rad, run.final_state.heading_rad);
}

}  // namespace
}  // namespace svln::expert
