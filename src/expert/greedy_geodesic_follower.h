// habitat-sim 0.2.4's GreedyGeodesicFollower (src/esp/nav/GreedyFollower.cpp), which
// habitat-lab 0.2.4's ShortestPathFollower wraps and StreamVLN's trajectory generation calls:
// it plans over motion primitives instead of steering by the path's heading.
//
//   geodesic d = inf               -> error (habitat-lab's stop_on_error reads it as STOP)
//   d < goal_radius (strict)       -> STOP
//   otherwise, for n = 0, 1, ... while n * turn < pi (the angle summed in float, as Habitat):
//     simulate [LEFT]*n + FORWARD, then [RIGHT]*n + FORWARD, each with the real step filter
//     reward = (d - d_after) / forward_step - 0.0125 n - 0.25 [collided]
//              - 0.05 [distance_to_closest_obstacle(after) < 0.2 m]
//     keep the first primitive whose reward beats the best so far (start: -0.25, i.e.
//     colliding in place); stop searching once the best exceeds 0.99
//   no primitive beats -0.25       -> error
//   the action is the best primitive's first one.
//
// Thrashing fix: when the last `thrashing_threshold` (16) answers alternate LEFT/RIGHT, the
// whole best primitive is queued and played out before planning again (even past STOP's
// radius, as Habitat does). collided = |moved|^2 + 1e-5 < |intended|^2 (habitat-sim's
// ObjectControls). The history belongs to one goal: a different goal (not np.allclose)
// starts a fresh one, as habitat-sim's Python wrapper does.
#pragma once

#include <optional>
#include <vector>

#include "sim/agent.h"
#include "sim/path_finder.h"
#include "sim/vec3.h"

namespace svln::expert {

// Habitat's GreedyFollowerCodes.
enum class GreedyCode : int { Error = -2, Stop = -1, Forward = 0, Left = 1, Right = 2 };

class GreedyGeodesicFollower {
 public:
  static constexpr int kDefaultThrashingThreshold = 16;
  static constexpr float kCloseToObstacleM = 0.2f;   // closeToObsThreshold_
  static constexpr float kCollisionCost = 0.25f;     // collisionCost_
  static constexpr float kGoodEnoughReward = 0.99f;  // goodEnoughRewardThresh

  GreedyGeodesicFollower(const sim::PathFinder& pf, const sim::ActionSpace& space,
                         float goal_radius_m, bool fix_thrashing = true,
                         int thrashing_threshold = kDefaultThrashingThreshold);

  // Habitat's next_action_along: the next answer towards `goal` from `s`, appended to the
  // history. Error is Habitat's GreedyFollowerError.
  GreedyCode nextActionAlong(const sim::AgentState& s, const sim::Vec3& goal);

  // The best primitive from `s` given the geodesic distance d from there ({Error} when d is
  // infinite, {Stop} within the radius, empty when nothing beats colliding in place).
  std::vector<GreedyCode> nextBestPrimitive(const sim::AgentState& s, const sim::Vec3& goal,
                                            float geodesic_m) const;
  // The reward of walking forward from `turned` (the state after `turns` turns).
  float primitiveReward(const sim::AgentState& turned, const sim::Vec3& goal, float geodesic_m,
                        int turns) const;

  void reset();
  const std::vector<GreedyCode>& history() const { return actions_; }
  float goalRadius() const { return goal_radius_m_; }

 private:
  bool isThrashing() const;

  const sim::PathFinder* pf_;
  sim::ActionSpace space_;
  float goal_radius_m_;
  bool fix_thrashing_;
  int thrashing_threshold_;
  std::vector<GreedyCode> actions_;          // every answer since the last reset
  std::vector<GreedyCode> thrashing_queue_;  // a queued primitive, last action first
  std::optional<sim::Vec3> last_goal_;
};

// sim::Action of a move code (Stop for Stop and Error).
sim::Action actionOf(GreedyCode c);

}  // namespace svln::expert
