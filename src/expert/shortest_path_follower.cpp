#include "expert/shortest_path_follower.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace svln::expert {
namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kDegToRad = kPi / 180.f;
// Path points closer than this (horizontally) to the agent give no usable direction.
constexpr float kMinLegM = 0.01f;

}  // namespace

const char* followStatusName(FollowStatus s) {
  switch (s) {
    case FollowStatus::Moving:
      return "moving";
    case FollowStatus::Reached:
      return "reached";
    case FollowStatus::AtWaypoint:
      return "at_waypoint";
    case FollowStatus::Unreachable:
      return "unreachable";
  }
  return "?";
}

const char* followerRuleName(FollowerRule r) {
  switch (r) {
    case FollowerRule::Heading:
      return "heading";
    case FollowerRule::VlnCe:
      return "vlnce";
    case FollowerRule::Habitat:
      return "habitat";
  }
  return "?";
}

FollowerRule parseFollowerRule(const std::string& name) {
  for (FollowerRule r : {FollowerRule::Heading, FollowerRule::VlnCe, FollowerRule::Habitat})
    if (name == followerRuleName(r)) return r;
  throw std::invalid_argument("--follower: unknown follower '" + name +
                              "' (habitat, vlnce, heading)");
}

float headingTowards(const sim::Vec3& from, const sim::Vec3& to) {
  // forward(h) = (-sin h, 0, -cos h), so the heading facing d = (dx, dz) is atan2(-dx, -dz).
  return std::atan2(-(to.x - from.x), -(to.z - from.z));
}

ShortestPathFollower::ShortestPathFollower(const sim::PathFinder& pf, const sim::ActionSpace& space,
                                           float stop_radius_m, FollowerRule rule)
    : pf_(&pf), space_(space), stop_radius_m_(stop_radius_m), rule_(rule) {
  path_.reserve(64);
}

sim::Action ShortestPathFollower::actionForHeadingError(float e) const {
  if (rule_ == FollowerRule::VlnCe) {
    // VLN-CE: alpha = angle between the quaternions = |e|; EPSILON = 1e-6 rad.
    const float turn = space_.turn_angle_deg * kDegToRad;
    const float alpha = std::fabs(e);
    if (alpha <= turn + 1e-6f) return sim::Action::MoveForward;
    // It tries TURN_LEFT (heading + turn, error e - turn) and keeps it if the angle shrinks.
    return std::fabs(sim::wrapAngle(e - turn)) < alpha ? sim::Action::TurnLeft
                                                       : sim::Action::TurnRight;
  }
  const float half_turn = 0.5f * space_.turn_angle_deg * kDegToRad;
  if (std::fabs(e) <= half_turn) return sim::Action::MoveForward;
  // e is in (-pi, pi]; e = pi (target straight behind) turns left, deterministically.
  return e > 0 ? sim::Action::TurnLeft : sim::Action::TurnRight;
}

FollowResult ShortestPathFollower::follow(const sim::AgentState& s, const sim::Vec3& target,
                                          bool is_goal) const {
  if (rule_ == FollowerRule::Habitat) return followHabitat(s, target, is_goal);
  FollowResult r;
  float geo = std::numeric_limits<float>::infinity();
  path_.clear();
  if (!pf_->findPath(s.position, target, path_, &geo) || !std::isfinite(geo) || path_.empty()) {
    r.status = FollowStatus::Unreachable;
    r.geodesic_m = std::numeric_limits<float>::infinity();
    return r;
  }
  r.geodesic_m = geo;
  if (is_goal && geo <= stop_radius_m_) {
    r.status = FollowStatus::Reached;
    return r;
  }
  if (rule_ == FollowerRule::VlnCe) {
    // VLN-CE steers by the first straight-path leg from the snapped start, and walks
    // forward when there is none.
    if (path_.size() < 2) {
      r.action = sim::Action::MoveForward;
    } else {
      r.heading_error_rad = sim::wrapAngle(headingTowards(path_[0], path_[1]) - s.heading_rad);
      r.action = actionForHeadingError(r.heading_error_rad);
    }
    r.status = (!is_goal && geo <= space_.forward_step_m) ? FollowStatus::AtWaypoint
                                                          : FollowStatus::Moving;
    return r;
  }
  const sim::Vec3* leg_end = nullptr;
  for (const sim::Vec3& p : path_) {
    if (sim::horizontalDistance(s.position, p) > kMinLegM) {
      leg_end = &p;
      break;
    }
  }
  if (leg_end == nullptr) {
    // Standing on the target's spot (only height differs): nothing left to walk.
    r.status = is_goal ? FollowStatus::Reached : FollowStatus::AtWaypoint;
    return r;
  }
  r.heading_error_rad = sim::wrapAngle(headingTowards(s.position, *leg_end) - s.heading_rad);
  r.action = actionForHeadingError(r.heading_error_rad);
  r.status =
      (!is_goal && geo <= space_.forward_step_m) ? FollowStatus::AtWaypoint : FollowStatus::Moving;
  return r;
}

FollowResult ShortestPathFollower::followHabitat(const sim::AgentState& s,
                                                 const sim::Vec3& target, bool is_goal) const {
  FollowResult r;
  r.geodesic_m = pf_->geodesicDistance(s.position, target);
  if (!is_goal && r.geodesic_m < stop_radius_m_) {
    r.status = FollowStatus::AtWaypoint;
    return r;
  }
  GreedySlot* slot = nullptr;
  for (GreedySlot& g : greedy_)
    if (g.target == target) slot = &g;
  if (slot == nullptr) {
    GreedySlot fresh{GreedyGeodesicFollower(*pf_, space_, stop_radius_m_), target, {}, {}, 0};
    if (greedy_.size() < 2) {
      slot = &greedy_.emplace_back(std::move(fresh));
    } else {
      slot = greedy_[0].last_used < greedy_[1].last_used ? &greedy_[0] : &greedy_[1];
      *slot = std::move(fresh);
    }
  }
  slot->last_used = ++greedy_clock_;
  if (slot->last_state && slot->last_state->position == s.position &&
      slot->last_state->heading_rad == s.heading_rad)
    return slot->last_result;
  const GreedyCode code = slot->follower.nextActionAlong(s, target);
  r.action = actionOf(code);
  if (code == GreedyCode::Error) {
    r.status = FollowStatus::Unreachable;
  } else if (code == GreedyCode::Stop) {
    r.status = is_goal ? FollowStatus::Reached : FollowStatus::AtWaypoint;
  } else {
    r.status = FollowStatus::Moving;
  }
  slot->last_state = s;
  slot->last_result = r;
  return r;
}

FollowResult ShortestPathFollower::chainHabitat(const sim::AgentState& s,
                                                const std::vector<sim::Vec3>& waypoints,
                                                size_t first, const sim::Vec3& goal) const {
  // Only the chosen target is planned for: planning records the answer in its history.
  const int goal_index = static_cast<int>(waypoints.size());
  if (pf_->geodesicDistance(s.position, goal) >= stop_radius_m_) {
    for (size_t i = first; i < waypoints.size(); ++i) {
      if (!(pf_->geodesicDistance(s.position, waypoints[i]) >= stop_radius_m_)) continue;
      FollowResult r = followHabitat(s, waypoints[i], /*is_goal=*/false);
      if (r.status == FollowStatus::Moving) {
        r.target_used = static_cast<int>(i);
        return r;
      }
    }
  }
  FollowResult at_goal = followHabitat(s, goal, /*is_goal=*/true);
  at_goal.target_used = goal_index;
  return at_goal;
}

FollowResult ShortestPathFollower::towardsGoal(const sim::AgentState& s,
                                               const sim::Vec3& goal) const {
  return follow(s, goal, /*is_goal=*/true);
}

FollowResult ShortestPathFollower::towardsPoint(const sim::AgentState& s,
                                                const sim::Vec3& target) const {
  return follow(s, target, /*is_goal=*/false);
}

FollowResult ShortestPathFollower::towardsChain(const sim::AgentState& s,
                                                const std::vector<sim::Vec3>& waypoints,
                                                size_t first, const sim::Vec3& goal) const {
  if (rule_ == FollowerRule::Habitat) return chainHabitat(s, waypoints, first, goal);
  // The goal's STOP wins over any waypoint: a last waypoint lying on the goal must not
  // pull the agent on once it is within the stop radius.
  FollowResult at_goal = follow(s, goal, /*is_goal=*/true);
  at_goal.target_used = static_cast<int>(waypoints.size());
  if (at_goal.status == FollowStatus::Reached) return at_goal;
  for (size_t i = first; i < waypoints.size(); ++i) {
    FollowResult r = follow(s, waypoints[i], /*is_goal=*/false);
    if (r.status == FollowStatus::Moving) {
      r.target_used = static_cast<int>(i);
      return r;
    }
  }
  return at_goal;
}

bool followToGoal(const sim::PathFinder& pf, const sim::AgentState& start, const sim::Vec3& goal,
                  const sim::ActionSpace& space, FollowerRule rule, float stop_radius_m,
                  int max_steps, std::vector<int>& actions, std::vector<sim::Vec3>& locations) {
  actions.clear();
  locations.clear();
  const ShortestPathFollower follower(pf, space, stop_radius_m, rule);
  sim::AgentState s = start;
  for (int i = 0; i < max_steps; ++i) {
    const FollowResult r = follower.towardsGoal(s, goal);
    if (r.status == FollowStatus::Unreachable) return false;
    locations.push_back(s.position);
    actions.push_back(static_cast<int>(r.action));
    if (r.action == sim::Action::Stop) return true;
    s = sim::applyAction(pf, s, r.action, space).state;
  }
  return false;
}

}  // namespace svln::expert
