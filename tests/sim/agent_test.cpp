#include "sim/agent.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sim/path_finder.h"
#include "test_scenes.h"

namespace svln::sim {
namespace {

constexpr float kPi = 3.14159265358979323846f;

const PathFinder& nav() {
  static PathFinder pf = [] {
    PathFinder p;
    p.build(test::wallWithDoor());
    return p;
  }();
  return pf;
}

TEST(Agent, ActionNamesAndNumbers) {
  EXPECT_EQ(std::string(actionName(Action::Stop)), "STOP");
  EXPECT_EQ(std::string(actionName(Action::MoveForward)), "MOVE_FORWARD");
  EXPECT_EQ(std::string(actionName(Action::TurnLeft)), "TURN_LEFT");
  EXPECT_EQ(std::string(actionName(Action::TurnRight)), "TURN_RIGHT");
  EXPECT_EQ(static_cast<int>(Action::TurnRight), 3);
}

TEST(Agent, TurnsRotateAboutYAndWrap) {
  const ActionSpace space;  // 15 degrees
  AgentState s{nav().snapPoint({2, 0, 2}), 0.f};
  const StepOutcome left = applyAction(nav(), s, Action::TurnLeft, space);
  EXPECT_NEAR(left.state.heading_rad, 15.f * kPi / 180.f, 1e-6f);
  EXPECT_EQ(left.state.position, s.position);
  EXPECT_FALSE(left.collided);
  const StepOutcome right = applyAction(nav(), s, Action::TurnRight, space);
  EXPECT_NEAR(right.state.heading_rad, -15.f * kPi / 180.f, 1e-6f);
  // 12 left turns of 15 degrees from 0 reach pi; the 13th wraps to -165 degrees.
  AgentState t = s;
  for (int i = 0; i < 13; ++i) t = applyAction(nav(), t, Action::TurnLeft, space).state;
  EXPECT_NEAR(t.heading_rad, -165.f * kPi / 180.f, 1e-5f);
}

TEST(Agent, ForwardMovesAlongMinusZAtHeadingZero) {
  const ActionSpace space;  // 0.25 m
  const AgentState s{nav().snapPoint({2, 0, 3}), 0.f};
  const StepOutcome o = applyAction(nav(), s, Action::MoveForward, space);
  EXPECT_NEAR(o.state.position.x, 2.f, 1e-4f);
  EXPECT_NEAR(o.state.position.z, 2.75f, 1e-4f);
  EXPECT_FALSE(o.collided);
  // Heading +90 degrees (turned left) looks along -X: forward = (-sin h, 0, -cos h).
  const StepOutcome l = applyAction(nav(), {s.position, kPi / 2}, Action::MoveForward, space);
  EXPECT_NEAR(l.state.position.x, 1.75f, 1e-4f);
  EXPECT_NEAR(l.state.position.z, 3.f, 1e-4f);
  EXPECT_FALSE(l.collided);
}

TEST(Agent, WallCutsTheStepShortAndCountsACollision) {
  const ActionSpace space;
  // Facing +X (heading -90 degrees) 0.1 m before the eroded wall face at x = 4.85.
  const AgentState s{nav().snapPoint({4.75f, 0, 2}), -kPi / 2};
  const StepOutcome o = applyAction(nav(), s, Action::MoveForward, space);
  EXPECT_NEAR(o.state.position.x, 4.85f, 0.05f);
  EXPECT_NEAR(o.state.position.z, 2.f, 1e-4f);
  EXPECT_TRUE(o.collided);
  // Diagonal into the wall: slides along it, still a collision (moved < 0.24998 m).
  const AgentState d{nav().snapPoint({4.8f, 0, 2}), -kPi / 4};
  const StepOutcome od = applyAction(nav(), d, Action::MoveForward, space);
  EXPECT_GT(od.state.position.z, 1.8f - 1e-3f);  // forward has z component -sin(45)*0.25
  EXPECT_LT(od.state.position.z, 2.f - 0.17f);
  EXPECT_TRUE(od.collided);
  // STOP never moves.
  const StepOutcome st = applyAction(nav(), s, Action::Stop, space);
  EXPECT_EQ(st.state.position, s.position);
  EXPECT_EQ(st.state.heading_rad, s.heading_rad);
  EXPECT_FALSE(st.collided);
}

TEST(Agent, AnyShortfallIsACollisionAsInHabitat) {
  // habitat-sim: collided = |moved|^2 + 1e-5 < |intended|^2. A step cut 5 mm short (0.245 m:
  // 0.060025 + 0.00001 < 0.0625) is a collision; a full free step (0.0625 + 1e-5) is not.
  const ActionSpace space;
  const AgentState probe{nav().snapPoint({4.75f, 0, 2}), -kPi / 2};
  const float face_x = applyAction(nav(), probe, Action::MoveForward, space).state.position.x;
  const AgentState s{nav().snapPoint({face_x - 0.245f, 0, 2}), -kPi / 2};
  const StepOutcome o = applyAction(nav(), s, Action::MoveForward, space);
  EXPECT_NEAR(distance(o.state.position, s.position), 0.245f, 1e-4f);
  EXPECT_TRUE(o.collided);
  const AgentState free{nav().snapPoint({2, 0, 3}), 0.f};
  const StepOutcome f = applyAction(nav(), free, Action::MoveForward, space);
  EXPECT_NEAR(distance(f.state.position, free.position), 0.25f, 1e-6f);
  EXPECT_FALSE(f.collided);
}

TEST(Agent, WithoutSlidingTheStepStopsAtTheWallAndCountsACollision) {
  ActionSpace space;
  space.allow_sliding = false;
  // The diagonal of the test above: sliding moved z on to below 1.83; without sliding the
  // step stops where its line meets the wall face (x = 4.85), 0.05 m further in x and z.
  const AgentState d{nav().snapPoint({4.8f, 0, 2}), -kPi / 4};
  const StepOutcome od = applyAction(nav(), d, Action::MoveForward, space);
  EXPECT_NEAR(od.state.position.x, 4.85f, 0.05f);
  EXPECT_NEAR(d.position.z - od.state.position.z, od.state.position.x - d.position.x, 1e-4f);
  EXPECT_GT(od.state.position.z, 2.f - 0.1f);
  EXPECT_TRUE(od.collided);
  // A free step is the same either way.
  const AgentState s{nav().snapPoint({2, 0, 3}), 0.f};
  EXPECT_EQ(applyAction(nav(), s, Action::MoveForward, space).state.position,
            applyAction(nav(), s, Action::MoveForward, ActionSpace{}).state.position);
}

TEST(Agent, StepSizeComesFromTheActionSpace) {
  ActionSpace space;
  space.forward_step_m = 0.5f;
  space.turn_angle_deg = 30.f;
  const AgentState s{nav().snapPoint({2, 0, 3}), 0.f};
  EXPECT_NEAR(applyAction(nav(), s, Action::MoveForward, space).state.position.z, 2.5f, 1e-4f);
  EXPECT_NEAR(applyAction(nav(), s, Action::TurnLeft, space).state.heading_rad, kPi / 6, 1e-6f);
}

}  // namespace
}  // namespace svln::sim
