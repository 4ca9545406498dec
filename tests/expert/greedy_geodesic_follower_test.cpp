// habitat-sim 0.2.4's GreedyGeodesicFollower, with numbers worked by hand on the open floor
// (geodesics are straight lines there, so a primitive of n turns then a 0.25 m step towards a
// goal at angle a gains 0.25 cos(a - 15n deg) m: reward = cos(a - 15n deg) - 0.0125 n).
#include "expert/greedy_geodesic_follower.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "expert/shortest_path_follower.h"
#include "expert_scenes.h"
#include "sim/agent.h"
#include "sim/path_finder.h"

namespace svln::expert {
namespace {

using namespace svln::expert::test;
using C = GreedyCode;

class GreedyFollowerTest : public ::testing::Test {
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
  static sim::AgentState state(float x, float z, float heading) {
    return {open_->snapPoint(at(x, z)), heading};
  }
  static std::vector<C> repeat(C c, int n, C last) {
    std::vector<C> v(static_cast<size_t>(n), c);
    v.push_back(last);
    return v;
  }
  static sim::PathFinder* open_;
  static sim::PathFinder* corridor_;
};
sim::PathFinder* GreedyFollowerTest::open_ = nullptr;
sim::PathFinder* GreedyFollowerTest::corridor_ = nullptr;

TEST_F(GreedyFollowerTest, GoalAheadIsOneForwardWithRewardOne) {
  const GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  const sim::Vec3 goal = open_->snapPoint(at(10, 5));
  // 5 m -> 4.75 m: reward 0.25 / 0.25 = 1 > 0.99, so the search ends at n = 0.
  EXPECT_NEAR(f.primitiveReward(s, goal, 5.f, 0), 1.f, 1e-4f);
  EXPECT_EQ(f.nextBestPrimitive(s, goal, open_->geodesicDistance(s.position, goal)),
            std::vector<C>{C::Forward});
}

TEST_F(GreedyFollowerTest, GoalOnTheLeftTurnsSixTimesThenWalks) {
  const GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  const sim::Vec3 goal = open_->snapPoint(at(4, 10));  // 90 deg to the left, 6 m
  const float d = open_->geodesicDistance(s.position, goal);
  // n = 6 faces it: 1 - 0.075 = 0.925; n = 5 and 7: cos 15 - 0.0625 = 0.9034, - 0.0875 =
  // 0.8784. None exceeds 0.99, so all 13 n are tried and n = 6 wins.
  sim::AgentState turned = s;
  for (int n = 0; n < 6; ++n)
    turned = sim::applyAction(*open_, turned, sim::Action::TurnLeft, {}).state;
  EXPECT_NEAR(f.primitiveReward(turned, goal, d, 6), 0.925f, 2e-3f);
  EXPECT_EQ(f.nextBestPrimitive(s, goal, d), repeat(C::Left, 6, C::Forward));
  // The mirror image turns right.
  const sim::Vec3 right_goal = open_->snapPoint(at(16, 10));
  EXPECT_EQ(f.nextBestPrimitive(s, right_goal, open_->geodesicDistance(s.position, right_goal)),
            repeat(C::Right, 6, C::Forward));
}

TEST_F(GreedyFollowerTest, GoalBehindTurnsTwelveTimesBecauseTheFloatLoopReachesPi) {
  // Habitat sums the angle in a float: 12 x 15 deg in float is below M_PI, so n = 12 (a half
  // turn) is tried: 1 - 0.15 = 0.85 beats n = 11's cos 15 - 0.1375 = 0.828. Left comes
  // first and wins the tie with right.
  const GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  const sim::Vec3 goal = open_->snapPoint(at(10, 16));
  EXPECT_EQ(f.nextBestPrimitive(s, goal, open_->geodesicDistance(s.position, goal)),
            repeat(C::Left, 12, C::Forward));
}

TEST_F(GreedyFollowerTest, StopsOnlyStrictlyInsideTheRadius) {
  GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  const sim::Vec3 at_radius = open_->snapPoint(at(10, 9.5f));
  ASSERT_FLOAT_EQ(open_->geodesicDistance(s.position, at_radius), 0.5f);
  EXPECT_EQ(f.nextActionAlong(s, at_radius), C::Forward);  // 0.5 < 0.5 is false
  EXPECT_EQ(f.nextActionAlong(s, open_->snapPoint(at(10, 9.51f))), C::Stop);
  // The heading rule stops at <= the radius.
  const ShortestPathFollower heading(*open_, {}, 0.5f, FollowerRule::Heading);
  EXPECT_EQ(heading.towardsGoal(s, at_radius).status, FollowStatus::Reached);
  const ShortestPathFollower habitat(*open_, {}, 0.5f, FollowerRule::Habitat);
  EXPECT_EQ(habitat.towardsGoal(s, at_radius).action, sim::Action::MoveForward);
}

TEST_F(GreedyFollowerTest, NoPathIsAnErrorThatReadsAsStop) {
  GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  const sim::Vec3 island = open_->snapPoint(at(31.5f, 31.5f));
  EXPECT_EQ(f.nextActionAlong(s, island), C::Error);
  const ShortestPathFollower habitat(*open_, {}, 0.5f, FollowerRule::Habitat);
  const FollowResult r = habitat.towardsGoal(s, island);
  EXPECT_EQ(r.action, sim::Action::Stop);
  EXPECT_EQ(r.status, FollowStatus::Unreachable);
}

TEST_F(GreedyFollowerTest, ABlockedStepCostsTheCollisionAndTheObstaclePenalty) {
  // 0.3 m from the slab's edge at z = 0 (the navmesh ends ~0.1 m inside it), facing it: the
  // step moves ~0.2 m of its 0.25 m (collided: 0.04 + 1e-5 < 0.0625) and ends < 0.2 m from
  // the boundary, so reward = progress / 0.25 - 0.25 - 0.05.
  const GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 0.3f, kFaceMinusZ);
  const sim::Vec3 goal = open_->snapPoint(at(10, 10));
  const float d = open_->geodesicDistance(s.position, goal);
  const sim::Vec3 after = open_->tryStep(
      s.position, s.position + sim::forwardFromHeading(s.heading_rad) * 0.25f);
  ASSERT_LT(sim::distance(after, s.position), 0.249f);
  ASSERT_LT(open_->distanceToClosestObstacle(after, 0.22f), 0.2f);
  const float progress = (d - open_->geodesicDistance(after, goal)) / 0.25f;
  EXPECT_NEAR(f.primitiveReward(s, goal, d, 0), progress - 0.3f, 1e-5f);
}

TEST_F(GreedyFollowerTest, SixteenAlternatingTurnsQueueTheWholePrimitive) {
  // Same goal, two states: facing -z the goal is 90 deg left ([L]*6 + F), facing +z it is
  // 90 deg right ([R]*6 + F). Sixteen alternating answers are thrashing: the 17th, asked
  // facing -z, queues its whole primitive (6 lefts, then forward), which then plays out
  // whatever state the follower is asked from.
  GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::Vec3 goal = open_->snapPoint(at(4, 10));
  const sim::AgentState left_of = state(10, 10, kFaceMinusZ);
  const sim::AgentState right_of = state(10, 10, kFacePlusZ);
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(f.nextActionAlong(i % 2 ? right_of : left_of, goal), i % 2 ? C::Right : C::Left);
  std::vector<C> played{f.nextActionAlong(left_of, goal)};
  for (int i = 0; i < 6; ++i) played.push_back(f.nextActionAlong(right_of, goal));
  EXPECT_EQ(played, repeat(C::Left, 6, C::Forward));
  // Then it plans again.
  EXPECT_EQ(f.nextActionAlong(right_of, goal), C::Right);
  // Without the fix it never stops alternating.
  GreedyGeodesicFollower unfixed(*open_, {}, 0.5f, /*fix_thrashing=*/false);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(unfixed.nextActionAlong(i % 2 ? right_of : left_of, goal),
              i % 2 ? C::Right : C::Left);
}

TEST_F(GreedyFollowerTest, ANewGoalStartsAFreshHistory) {
  GreedyGeodesicFollower f(*open_, {}, 0.5f);
  const sim::AgentState s = state(10, 10, kFaceMinusZ);
  f.nextActionAlong(s, open_->snapPoint(at(4, 10)));
  f.nextActionAlong(s, open_->snapPoint(at(4, 10)) + sim::Vec3{0, 0, 1e-6f});  // allclose
  EXPECT_EQ(f.history().size(), 2u);
  f.nextActionAlong(s, open_->snapPoint(at(5, 10)));
  EXPECT_EQ(f.history().size(), 1u);
}

TEST_F(GreedyFollowerTest, HabitatRuleDrivesRoundTheCornerAndStopsInsideTheRadius) {
  const sim::ActionSpace space;
  const ShortestPathFollower f(*corridor_, space, 0.5f, FollowerRule::Habitat);
  sim::AgentState s{corridor_->snapPoint(at(1, 1)), kFacePlusX};
  const sim::Vec3 goal = corridor_->snapPoint(at(9, 9));
  int steps = 0;
  for (; steps < 200; ++steps) {
    const FollowResult r = f.towardsGoal(s, goal);
    // Asking again from the same state gives the same answer (and no second history entry).
    EXPECT_EQ(f.towardsGoal(s, goal).action, r.action);
    if (r.action == sim::Action::Stop) {
      EXPECT_EQ(r.status, FollowStatus::Reached);
      break;
    }
    s = sim::applyAction(*corridor_, s, r.action, space).state;
  }
  ASSERT_LT(steps, 200);
  EXPECT_LT(corridor_->geodesicDistance(s.position, goal), 0.5f);
  // 8 m + 8 m of corridor with the corner cut: about 14 m, i.e. ~56 steps plus the turns.
  EXPECT_LT(steps, 80);
}

TEST_F(GreedyFollowerTest, FollowerRuleNamesRoundTrip) {
  for (FollowerRule r : {FollowerRule::Heading, FollowerRule::VlnCe, FollowerRule::Habitat})
    EXPECT_EQ(parseFollowerRule(followerRuleName(r)), r);
  EXPECT_THROW(parseFollowerRule("greedy"), std::invalid_argument);
}

}  // namespace
}  // namespace svln::expert
