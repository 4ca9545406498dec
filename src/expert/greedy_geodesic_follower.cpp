#include "expert/greedy_geodesic_follower.h"

#include <cmath>
#include <limits>

namespace svln::expert {
namespace {

constexpr double kPiD = 3.14159265358979323846;

// np.allclose(a, b): |a - b| <= 1e-8 + 1e-5 |b| per coordinate.
bool allClose(const sim::Vec3& a, const sim::Vec3& b) {
  auto close = [](float x, float y) {
    return std::fabs(double(x) - y) <= 1e-8 + 1e-5 * std::fabs(double(y));
  };
  return close(a.x, b.x) && close(a.y, b.y) && close(a.z, b.z);
}

}  // namespace

sim::Action actionOf(GreedyCode c) {
  switch (c) {
    case GreedyCode::Forward:
      return sim::Action::MoveForward;
    case GreedyCode::Left:
      return sim::Action::TurnLeft;
    case GreedyCode::Right:
      return sim::Action::TurnRight;
    case GreedyCode::Stop:
    case GreedyCode::Error:
      break;
  }
  return sim::Action::Stop;
}

GreedyGeodesicFollower::GreedyGeodesicFollower(const sim::PathFinder& pf,
                                               const sim::ActionSpace& space, float goal_radius_m,
                                               bool fix_thrashing, int thrashing_threshold)
    : pf_(&pf),
      space_(space),
      goal_radius_m_(goal_radius_m),
      fix_thrashing_(fix_thrashing),
      thrashing_threshold_(thrashing_threshold) {}

void GreedyGeodesicFollower::reset() {
  actions_.clear();
  thrashing_queue_.clear();
  last_goal_.reset();
}

float GreedyGeodesicFollower::primitiveReward(const sim::AgentState& turned,
                                              const sim::Vec3& goal, float geodesic_m,
                                              int turns) const {
  // The forward step through the simulator's step filter, collision as ObjectControls counts it.
  const sim::Vec3 intended = sim::forwardFromHeading(turned.heading_rad) * space_.forward_step_m;
  const sim::Vec3 target = turned.position + intended;
  const sim::Vec3 after = space_.allow_sliding ? pf_->tryStep(turned.position, target)
                                               : pf_->tryStepNoSliding(turned.position, target);
  const bool collided =
      sim::dot(after - turned.position, after - turned.position) + 1e-5f < sim::dot(intended, intended);
  const float geodesic_after = pf_->geodesicDistance(after, goal);
  const float obstacle_m = pf_->distanceToClosestObstacle(after, 1.1f * kCloseToObstacleM);
  // Progress in forward steps, minus the costs (Habitat sums the costs in float, then adds).
  const double progress = double(geodesic_m - geodesic_after) / double(space_.forward_step_m);
  const float costs = -0.0125f * static_cast<float>(turns) - (collided ? kCollisionCost : 0.f) -
                      (obstacle_m < kCloseToObstacleM ? 0.05f : 0.f);
  return static_cast<float>(progress + costs);
}

std::vector<GreedyCode> GreedyGeodesicFollower::nextBestPrimitive(const sim::AgentState& s,
                                                                  const sim::Vec3& goal,
                                                                  float geodesic_m) const {
  if (geodesic_m == std::numeric_limits<float>::infinity()) return {GreedyCode::Error};
  if (geodesic_m < goal_radius_m_) return {GreedyCode::Stop};
  float best = -kCollisionCost;
  std::vector<GreedyCode> best_prim;
  sim::AgentState left = s, right = s;
  const double turn_rad = double(space_.turn_angle_deg) * kPiD / 180.0;  // np.deg2rad
  int turns = 0;
  // Habitat's loop variable is a float compared with M_PI: it decides whether n reaches 12.
  for (float angle = 0; angle < kPiD; angle = static_cast<float>(angle + turn_rad)) {
    for (const auto& [state, code] : {std::pair{&left, GreedyCode::Left},
                                      std::pair{&right, GreedyCode::Right}}) {
      const float reward = primitiveReward(*state, goal, geodesic_m, turns);
      if (reward > best) {
        best = reward;
        best_prim.assign(static_cast<size_t>(turns), code);
        best_prim.push_back(GreedyCode::Forward);
      }
    }
    if (best > kGoodEnoughReward) break;
    left = sim::applyAction(*pf_, left, sim::Action::TurnLeft, space_).state;
    right = sim::applyAction(*pf_, right, sim::Action::TurnRight, space_).state;
    ++turns;
  }
  return best_prim;
}

bool GreedyGeodesicFollower::isThrashing() const {
  const auto n = static_cast<int>(actions_.size());
  if (n < thrashing_threshold_) return false;
  GreedyCode last = actions_.back();
  bool thrashing = last == GreedyCode::Left || last == GreedyCode::Right;
  for (int i = 2; i <= thrashing_threshold_ && thrashing; ++i) {
    const GreedyCode before = actions_[static_cast<size_t>(n - i)];
    thrashing = (before == GreedyCode::Right && last == GreedyCode::Left) ||
                (before == GreedyCode::Left && last == GreedyCode::Right);
    last = before;
  }
  return thrashing;
}

GreedyCode GreedyGeodesicFollower::nextActionAlong(const sim::AgentState& s,
                                                   const sim::Vec3& goal) {
  if (!last_goal_ || !allClose(goal, *last_goal_)) {
    reset();
    last_goal_ = goal;
  }
  GreedyCode next;
  if (fix_thrashing_ && !thrashing_queue_.empty()) {
    next = thrashing_queue_.back();
    thrashing_queue_.pop_back();
  } else {
    const std::vector<GreedyCode> prim =
        nextBestPrimitive(s, goal, pf_->geodesicDistance(s.position, goal));
    if (prim.empty()) {
      next = GreedyCode::Error;
    } else if (fix_thrashing_ && isThrashing()) {
      thrashing_queue_.assign(prim.rbegin(), prim.rend());
      next = thrashing_queue_.back();
      thrashing_queue_.pop_back();
    } else {
      next = prim.front();
    }
  }
  actions_.push_back(next);
  return next;
}

}  // namespace svln::expert
