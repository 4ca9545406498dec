// Greedy geodesic follower, the expert's legs (habitat-lab's ShortestPathFollower in
// "geodesic_path" mode): look up the navmesh shortest path to a target, face its first
// leg, walk. Used for the SFT labels, for driving during a recovery, and as the
// stand-in "expert" policy of `streamvln expert`.
//
//   heading error e = wrap(desired - heading), desired = yaw of the first path leg
//   |e| <= turn/2          -> MOVE_FORWARD
//   e > turn/2 (or e = pi) -> TURN_LEFT      (positive yaw turns left)
//   e < -turn/2            -> TURN_RIGHT
//
// A turn shrinks |e| by exactly one turn step, and |e - turn| < |e| whenever |e| > turn/2,
// so the follower never alternates left and right at one position: the 15-degree
// quantisation leaves at most turn/2 of error, which a forward step tolerates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "expert/greedy_geodesic_follower.h"
#include "sim/agent.h"
#include "sim/path_finder.h"
#include "sim/vec3.h"

namespace svln::expert {

// How the follower turns the shortest path into actions.
enum class FollowerRule {
  // This project's (the default): forward within turn/2 of the first path leg at least 1 cm
  // long, else the turn towards it (the rule above).
  Heading,
  // VLN-CE's ShortestPathFollowerCompat (habitat-lab 0.1.4 "geodesic_path", behind VLN-CE's
  // `_gt` data): the leg is path[1] - path[0] (forward when the path has under 2 points);
  // forward when the unsigned angle to it is <= turn + 1e-6 rad; else TURN_LEFT when a left
  // turn makes that angle smaller, TURN_RIGHT otherwise. STOP, as above, at <= the radius.
  VlnCe,
  // habitat-sim 0.2.4's GreedyGeodesicFollower (habitat-lab 0.2.4's ShortestPathFollower,
  // greedy_geodesic_follower.h): simulated turn-then-forward primitives, the thrashing fix,
  // STOP at strictly under the radius; its error (no path, or nothing better than colliding
  // in place) is STOP with status Unreachable, as habitat-lab's stop_on_error. Intermediate
  // targets are reached when under the radius too (StreamVLN's trajectory generation moves
  // on to the next reference point on the follower's STOP).
  Habitat,
};
// --follower spellings: "heading", "vlnce", "habitat".
const char* followerRuleName(FollowerRule r);
// Throws std::invalid_argument("--follower: ...") for anything else.
FollowerRule parseFollowerRule(const std::string& name);

enum class FollowStatus {
  Moving,       // action turns or moves towards the target
  Reached,      // within the stop radius of the final goal: action is STOP
  AtWaypoint,   // an intermediate target is within one forward step: move on to the next
  Unreachable,  // no navmesh path from the agent to the target
};
const char* followStatusName(FollowStatus s);

struct FollowResult {
  sim::Action action = sim::Action::Stop;
  FollowStatus status = FollowStatus::Unreachable;
  float geodesic_m = 0.f;         // agent -> target along the navmesh (+inf when unreachable)
  float heading_error_rad = 0.f;  // signed, towards the first leg of the path (0: Habitat rule)
  int target_used = -1;           // see towardsChain
};

class ShortestPathFollower {
 public:
  // VLN-CE's oracle follower stops within 0.5 m of the goal (GOAL_RADIUS default).
  static constexpr float kDefaultStopRadiusM = 0.5f;

  ShortestPathFollower(const sim::PathFinder& pf, const sim::ActionSpace& space,
                       float stop_radius_m = kDefaultStopRadiusM,
                       FollowerRule rule = FollowerRule::Heading);

  // Towards the final goal: STOP once the geodesic distance is <= the stop radius (Habitat
  // rule: < the radius).
  FollowResult towardsGoal(const sim::AgentState& s, const sim::Vec3& goal) const;
  // Towards an intermediate point: never STOP; AtWaypoint within one forward step (Habitat
  // rule: under the stop radius).
  FollowResult towardsPoint(const sim::AgentState& s, const sim::Vec3& target) const;
  // Fallback chain: STOP when the goal is within the stop radius; otherwise tries
  // waypoints[first], waypoints[first + 1], ... as intermediate targets, moving on when one
  // is unreachable or already reached, then the goal.
  // target_used = the waypoint index that produced the action, waypoints.size() for the
  // goal. Unreachable only when nothing is.
  FollowResult towardsChain(const sim::AgentState& s, const std::vector<sim::Vec3>& waypoints,
                            size_t first, const sim::Vec3& goal) const;

  // The rule's turn/forward choice for a signed heading error (exposed for tests).
  sim::Action actionForHeadingError(float heading_error_rad) const;

  float stopRadius() const { return stop_radius_m_; }
  FollowerRule rule() const { return rule_; }
  const sim::ActionSpace& actionSpace() const { return space_; }

 private:
  FollowResult follow(const sim::AgentState& s, const sim::Vec3& target, bool is_goal) const;
  // The Habitat rule. One greedy follower per target (the goal and the current waypoint,
  // least recently used replaced), so a label towards the goal does not wipe the history of
  // the chain's target; a repeated query from the same state returns the same answer
  // without adding it to the history again (callers ask once to look, once to act).
  FollowResult followHabitat(const sim::AgentState& s, const sim::Vec3& target,
                             bool is_goal) const;
  FollowResult chainHabitat(const sim::AgentState& s, const std::vector<sim::Vec3>& waypoints,
                            size_t first, const sim::Vec3& goal) const;
  struct GreedySlot {
    GreedyGeodesicFollower follower;
    sim::Vec3 target;
    std::optional<sim::AgentState> last_state;  // the last query and its answer
    FollowResult last_result;
    uint64_t last_used = 0;
  };

  const sim::PathFinder* pf_;
  sim::ActionSpace space_;
  float stop_radius_m_;
  FollowerRule rule_;
  mutable std::vector<sim::Vec3> path_;  // scratch: no allocation per step once warmed up
  mutable std::vector<GreedySlot> greedy_;  // Habitat rule: at most two
  mutable uint64_t greedy_clock_ = 0;
};

// Drives a follower of `rule` from `start` until its STOP at `goal` (VLN-CE's oracle episode):
// `actions` gets VLN-CE's codes ending with STOP (0), `locations` the position before each
// action. False when the follower finds no path (Habitat: its error) or has not stopped
// after max_steps actions. gen-data's ground truth under --follower.
bool followToGoal(const sim::PathFinder& pf, const sim::AgentState& start, const sim::Vec3& goal,
                  const sim::ActionSpace& space, FollowerRule rule, float stop_radius_m,
                  int max_steps, std::vector<int>& actions, std::vector<sim::Vec3>& locations);

// Yaw (radians) that looks from `from` towards `to` in the horizontal plane (0 = -Z).
float headingTowards(const sim::Vec3& from, const sim::Vec3& to);

}  // namespace svln::expert
