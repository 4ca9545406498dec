#include "expert/intervention.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace svln::expert {
namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kDegToRad = kPi / 180.f;
constexpr float kRadToDeg = 180.f / kPi;

template <typename T>
[[noreturn]] void fail(const char* flag, const char* rule, T got) {
  std::ostringstream os;
  os << "--" << flag << ": must be " << rule << ", got " << got;
  throw std::runtime_error(os.str());
}

void requireFinite(const char* flag, float v) {
  if (!std::isfinite(v)) fail(flag, "a finite number", v);
}

// Squared horizontal distance from p to the segment [a, b].
float segmentDistance2d(const sim::Vec3& p, const sim::Vec3& a, const sim::Vec3& b) {
  const float abx = b.x - a.x, abz = b.z - a.z;
  const float apx = p.x - a.x, apz = p.z - a.z;
  const float len2 = abx * abx + abz * abz;
  // t = clamp(((p - a) . (b - a)) / |b - a|^2, 0, 1); closest point a + t (b - a).
  const float t = len2 > 0 ? std::clamp((apx * abx + apz * abz) / len2, 0.f, 1.f) : 0.f;
  const float dx = apx - t * abx, dz = apz - t * abz;
  return std::sqrt(dx * dx + dz * dz);
}

}  // namespace

const char* recoveryModeName(RecoveryMode m) {
  return m == RecoveryMode::Takeover ? "takeover" : "rollback";
}

RecoveryMode parseRecoveryMode(const std::string& s) {
  if (s == "takeover") return RecoveryMode::Takeover;
  if (s == "rollback") return RecoveryMode::Rollback;
  throw std::runtime_error("--recovery_mode: must be takeover or rollback, got '" + s + "'");
}

const char* sourceName(Source s) { return s == Source::Policy ? "policy" : "expert"; }

const char* reasonName(Reason r) {
  switch (r) {
    case Reason::None:
      return "none";
    case Reason::OfftrackDistance:
      return "offtrack_distance";
    case Reason::OfftrackHeading:
      return "offtrack_heading";
    case Reason::GoalZone:
      return "goal_zone";
    case Reason::ForcedStop:
      return "forced_stop";
    case Reason::SafetyStop:
      return "safety_stop";
    case Reason::Stuck:
      return "stuck";
    case Reason::StuckAtWaypoint:
      return "stuck_at_waypoint";
    case Reason::PrematureStop:
      return "premature_stop";
    case Reason::ZoneTimeout:
      return "zone_timeout";
    case Reason::Recovered:
      return "recovered";
  }
  return "?";
}

void InterventionConfig::validate() const {
  for (auto [flag, v] : {std::pair{"offtrack_dist_thresh", offtrack_dist_thresh},
                         std::pair{"offtrack_heading_thresh_deg", offtrack_heading_thresh_deg},
                         std::pair{"heading_guard_dist", heading_guard_dist},
                         std::pair{"recovery_dist_thresh", recovery_dist_thresh},
                         std::pair{"recovery_heading_thresh_deg", recovery_heading_thresh_deg},
                         std::pair{"goal_radius", goal_radius},
                         std::pair{"expert_stop_radius", expert_stop_radius_m},
                         std::pair{"oracle_goal_radius", oracle_goal_radius_m}}) {
    requireFinite(flag, v);
  }
  if (offtrack_dist_thresh <= 0) fail("offtrack_dist_thresh", "> 0", offtrack_dist_thresh);
  if (offtrack_heading_thresh_deg < 0 || offtrack_heading_thresh_deg > 180)
    fail("offtrack_heading_thresh_deg", "in [0, 180]", offtrack_heading_thresh_deg);
  if (heading_guard_dist < 0) fail("heading_guard_dist", ">= 0", heading_guard_dist);
  if (offtrack_patience < 1) fail("offtrack_patience", ">= 1", offtrack_patience);
  if (lookahead_k < 1) fail("lookahead_k", ">= 1", lookahead_k);
  if (recovery_dist_thresh <= 0) fail("recovery_dist_thresh", "> 0", recovery_dist_thresh);
  if (recovery_dist_thresh >= offtrack_dist_thresh) {
    std::ostringstream rule;
    rule << "< --offtrack_dist_thresh (" << offtrack_dist_thresh << ")";
    fail("recovery_dist_thresh", rule.str().c_str(), recovery_dist_thresh);
  }
  if (recovery_heading_thresh_deg < 0 || recovery_heading_thresh_deg > 180)
    fail("recovery_heading_thresh_deg", "in [0, 180]", recovery_heading_thresh_deg);
  if (recovery_max_steps < 1) fail("recovery_max_steps", ">= 1", recovery_max_steps);
  if (goal_radius < 0) fail("goal_radius", ">= 0", goal_radius);
  if (goal_grace_steps < 0) fail("goal_grace_steps", ">= 0", goal_grace_steps);
  if (goal_stop_patience < 0) fail("goal_stop_patience", ">= 0", goal_stop_patience);
  if (expert_stop_radius_m <= 0) fail("expert_stop_radius", "> 0", expert_stop_radius_m);
  if (oracle_goal_radius_m < 0) fail("oracle_goal_radius", ">= 0", oracle_goal_radius_m);
  if (stuck_steps < 0) fail("stuck_motion_steps", ">= 0", stuck_steps);
  if (stuck_patience < 1) fail("stuck_patience", ">= 1", stuck_patience);
}

InterventionCounters& InterventionCounters::operator+=(const InterventionCounters& o) {
  recoveries_triggered += o.recoveries_triggered;
  recoveries_completed += o.recoveries_completed;
  forced_stops += o.forced_stops;
  expert_steps += o.expert_steps;
  policy_steps += o.policy_steps;
  return *this;
}

float polylineDistance2d(const sim::Vec3& p, const std::vector<sim::Vec3>& polyline) {
  if (polyline.empty()) return std::numeric_limits<float>::infinity();
  if (polyline.size() == 1) return sim::horizontalDistance(p, polyline[0]);
  float best = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i + 1 < polyline.size(); ++i) {
    best = std::min(best, segmentDistance2d(p, polyline[i], polyline[i + 1]));
  }
  return best;
}

Intervention::Intervention(const InterventionConfig& cfg, const sim::ActionSpace& space)
    : cfg_(cfg),
      space_(space),
      offtrack_heading_rad_(cfg.offtrack_heading_thresh_deg * kDegToRad),
      recovery_heading_rad_(cfg.recovery_heading_thresh_deg * kDegToRad) {
  cfg_.validate();
}

void Intervention::reset(const sim::PathFinder& pf, const std::vector<sim::Vec3>& reference_path,
                         const std::vector<sim::Vec3>& goals) {
  if (reference_path.empty()) throw std::invalid_argument("Intervention: empty reference path");
  if (goals.empty()) throw std::invalid_argument("Intervention: no goal");
  pf_ = &pf;
  follower_.emplace(pf, space_, cfg_.expert_stop_radius_m, cfg_.follower);
  path_ = reference_path;
  goals_ = goals;
  nearest_ = 0;
  recovering_ = false;
  offtrack_count_ = 0;
  recent_.clear();
  recovery_steps_ = 0;
  goal_zone_steps_ = 0;
  pose_waypoint_ = -1;
  steps_at_waypoint_ = 0;
  waypoint_pose_.reset();
  start_state_.reset();
  over_ = false;
  counters_ = {};
}

void Intervention::requireReset(const char* what) const {
  if (pf_ == nullptr)
    throw std::logic_error(std::string("Intervention::") + what + " before reset");
}

int Intervention::nearestIndex(const sim::Vec3& p, int floor_index) const {
  int best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < path_.size(); ++i) {
    const float d = sim::horizontalDistance(p, path_[i]);
    if (d < best_d) {  // strict: ties keep the earlier waypoint
      best_d = d;
      best = static_cast<int>(i);
    }
  }
  return std::max(best, floor_index);
}

int Intervention::targetIndex(int nearest) const {
  return std::min(nearest + cfg_.lookahead_k, static_cast<int>(path_.size()) - 1);
}

const sim::Vec3& Intervention::nearestGoal(const sim::Vec3& p) const {
  if (goals_.size() == 1) return goals_[0];
  size_t best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < goals_.size(); ++i) {
    const float d = pf_->geodesicDistance(p, goals_[i]);
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  return goals_[best];
}

PathMeasures Intervention::measureAt(const sim::AgentState& s, int nearest) const {
  PathMeasures m;
  m.nearest_index = nearest;
  m.target_index = targetIndex(nearest);
  m.path_distance_m = polylineDistance2d(s.position, path_);
  const sim::Vec3& target = path_[m.target_index];
  if (sim::horizontalDistance(s.position, target) > 1e-3f) {
    const float e = sim::wrapAngle(headingTowards(s.position, target) - s.heading_rad);
    m.heading_error_deg = std::fabs(e) * kRadToDeg;
  }
  m.goal_geodesic_m = pf_->geodesicDistance(s.position, goals_);
  m.in_goal_zone = m.goal_geodesic_m < cfg_.goal_radius;
  const bool far = m.path_distance_m > cfg_.offtrack_dist_thresh;
  const bool facing_away = m.heading_error_deg > cfg_.offtrack_heading_thresh_deg &&
                           m.path_distance_m > cfg_.heading_guard_dist;
  m.offtrack = !m.in_goal_zone && (far || facing_away);
  return m;
}

bool Intervention::recoveredAt(const PathMeasures& m) const {
  return m.path_distance_m < cfg_.recovery_dist_thresh &&
         m.heading_error_deg < cfg_.recovery_heading_thresh_deg;
}

bool Intervention::expertControls(const sim::AgentState& s) const {
  if (!cfg_.enable_recovery || !recovering_ || over_) return false;
  const PathMeasures m = measure(s);
  return !m.in_goal_zone && !recoveredAt(m);
}

PathMeasures Intervention::measure(const sim::AgentState& s) const {
  requireReset("measure");
  return measureAt(s, nearestIndex(s.position, nearest_));
}

FollowResult Intervention::expertFrom(const sim::AgentState& s, int target_index) const {
  return follower_->towardsChain(s, path_, static_cast<size_t>(target_index),
                                 nearestGoal(s.position));
}

FollowResult Intervention::expertAction(const sim::AgentState& s) const {
  requireReset("expertAction");
  return expertFrom(s, targetIndex(nearestIndex(s.position, nearest_)));
}

Decision Intervention::step(const sim::AgentState& s, sim::Action policy_action) {
  requireReset("step");
  if (over_) throw std::logic_error("Intervention::step after the episode ended");
  Decision d;
  nearest_ = nearestIndex(s.position, nearest_);
  d.measures = measureAt(s, nearest_);
  const PathMeasures& m = d.measures;
  const FollowResult ex = expertFrom(s, m.target_index);
  d.expert_action = ex.action;
  d.expert_status = ex.status;
  const bool expert_ok = ex.status != FollowStatus::Unreachable;
  if (!start_state_) start_state_ = s;
  if (cfg_.enable_recovery && (cfg_.stuck_enable || cfg_.rollback_to_own_pose))
    trackWaypoint(s, m);

  auto policy_acts = [&] {
    d.action = policy_action;
    d.source = Source::Policy;
  };
  auto expert_acts = [&] {
    d.action = ex.action;
    d.source = Source::Expert;
  };
  auto safety_stop = [&] {
    d.action = sim::Action::Stop;
    d.source = Source::Expert;
    d.reason = Reason::SafetyStop;
    d.episode_over = true;
    recovering_ = false;
  };
  // A BudVLN trigger: the policy's trajectory ends here, nothing is executed.
  auto cut = [&](Reason why) {
    ++counters_.recoveries_triggered;
    d.reason = why;
    d.rollback = true;
    d.episode_over = true;
    d.action = sim::Action::Stop;
    d.source = Source::Expert;
    over_ = true;
    spdlog::debug("intervention: rollback at waypoint {} ({})", nearest_, reasonName(why));
    return d;
  };
  auto end_recovery = [&](Reason why) {
    recovering_ = false;
    recovery_steps_ = 0;
    offtrack_count_ = 0;
    d.reason = why;
    ++counters_.recoveries_completed;
  };

  if (!cfg_.enable_recovery) {
    // Observe only: the label and the measures are still recorded.
    offtrack_count_ = m.offtrack ? offtrack_count_ + 1 : 0;
    policy_acts();
  } else if (m.in_goal_zone) {
    offtrack_count_ = 0;
    recent_.clear();
    if (recovering_) end_recovery(Reason::GoalZone);
    // Steps 1..grace are free, the next `patience` are counted, the one after is STOP.
    const int before = goal_zone_steps_++;
    // BudVLN: zone step k = before + 1 cuts once k - grace >= patience (G:1252-1259).
    if (cfg_.goal_zone_rollback) {
      if (cfg_.goal_stop_patience > 0 &&
          before + 1 - cfg_.goal_grace_steps >= cfg_.goal_stop_patience &&
          policy_action != sim::Action::Stop)
        return cut(Reason::ZoneTimeout);
      policy_acts();
    } else if (cfg_.goal_stop_patience > 0 &&
               before >= cfg_.goal_grace_steps + cfg_.goal_stop_patience &&
               policy_action != sim::Action::Stop) {
      d.action = sim::Action::Stop;
      d.source = Source::Expert;
      d.reason = Reason::ForcedStop;
      ++counters_.forced_stops;
    } else {
      policy_acts();
    }
  } else if (recovering_) {
    if (recoveredAt(m)) {
      end_recovery(Reason::Recovered);
      policy_acts();
    } else if (recovery_steps_ >= cfg_.recovery_max_steps || !expert_ok) {
      safety_stop();
    } else {
      ++recovery_steps_;
      expert_acts();
    }
  } else {
    if (cfg_.goal_zone_rollback) goal_zone_steps_ = 0;  // the reference's counter restarts
    offtrack_count_ = m.offtrack ? offtrack_count_ + 1 : 0;
    if (cfg_.stuck_enable && steps_at_waypoint_ >= cfg_.stuck_patience)
      return cut(Reason::StuckAtWaypoint);
    bool stuck = false;
    if (cfg_.recovery_mode == RecoveryMode::Rollback && cfg_.stuck_steps > 0) {
      // The window holds the last stuck_steps positions before this one.
      recent_.push_back(s.position);
      if (static_cast<int>(recent_.size()) > cfg_.stuck_steps + 1) recent_.erase(recent_.begin());
      stuck = static_cast<int>(recent_.size()) == cfg_.stuck_steps + 1 &&
              sim::horizontalDistance(recent_.front(), s.position) < cfg_.stuck_move_m;
    }
    if (stuck) {
      ++counters_.recoveries_triggered;
      d.reason = Reason::Stuck;
      d.rollback = true;
      d.episode_over = true;
      d.action = sim::Action::Stop;
      d.source = Source::Expert;
      over_ = true;
      spdlog::debug("intervention: rollback at waypoint {} (stuck)", nearest_);
      return d;
    }
    if (offtrack_count_ >= cfg_.offtrack_patience) {
      ++counters_.recoveries_triggered;
      d.reason = m.path_distance_m > cfg_.offtrack_dist_thresh ? Reason::OfftrackDistance
                                                               : Reason::OfftrackHeading;
      d.offtrack_count = offtrack_count_;
      offtrack_count_ = 0;
      if (cfg_.recovery_mode == RecoveryMode::Rollback) {
        // The policy's trajectory ends here; nothing is executed (see rollbackStart).
        d.rollback = true;
        d.episode_over = true;
        d.action = sim::Action::Stop;
        d.source = Source::Expert;
        over_ = true;
        spdlog::debug("intervention: rollback at waypoint {} ({})", nearest_, reasonName(d.reason));
        return d;
      }
      if (!expert_ok) {
        safety_stop();
      } else {
        recovering_ = true;
        recovery_steps_ = 1;
        expert_acts();
      }
    } else if (cfg_.premature_stop_rollback && policy_action == sim::Action::Stop) {
      return cut(Reason::PrematureStop);  // outside the zone, the expert not driving
    } else {
      policy_acts();
    }
  }

  if (d.source == Source::Policy && cfg_.label_towards_goal) {
    const FollowResult g = follower_->towardsGoal(s, nearestGoal(s.position));
    d.expert_action = g.status == FollowStatus::Reached ? sim::Action::Stop : g.action;
    d.expert_status = g.status;
  }
  if (d.offtrack_count == 0) d.offtrack_count = offtrack_count_;
  d.recovery_steps = recovering_ ? recovery_steps_ : 0;
  d.goal_zone_steps = goal_zone_steps_;
  if (d.action == sim::Action::Stop) d.episode_over = true;
  over_ = d.episode_over;
  if (d.source == Source::Expert) {
    ++counters_.expert_steps;
  } else {
    ++counters_.policy_steps;
  }
  if (d.reason != Reason::None) {
    spdlog::debug("intervention: {} at waypoint {} (path {:.2f} m, heading {:.0f} deg)",
                  reasonName(d.reason), nearest_, m.path_distance_m, m.heading_error_deg);
  }
  return d;
}

void Intervention::trackWaypoint(const sim::AgentState& s, const PathMeasures& m) {
  if (m.in_goal_zone) return;
  const int raw = nearestIndex(s.position, 0);
  if (raw != pose_waypoint_) {
    pose_waypoint_ = raw;
    waypoint_pose_ = s;
    steps_at_waypoint_ = 0;
  } else {
    ++steps_at_waypoint_;
  }
}

sim::AgentState Intervention::rollbackStart() const {
  requireReset("rollbackStart");
  if (cfg_.rollback_to_own_pose) {
    if (waypoint_pose_) return *waypoint_pose_;
    if (start_state_) return *start_state_;
  }
  sim::AgentState s;
  s.position = path_[nearest_];
  const sim::Vec3 snapped = pf_->snapPoint(s.position);
  if (std::isfinite(snapped.x)) s.position = snapped;
  const sim::Vec3& next =
      nearest_ + 1 < static_cast<int>(path_.size()) ? path_[nearest_ + 1] : goals_[0];
  if (sim::horizontalDistance(s.position, next) > 1e-3f) {
    s.heading_rad = headingTowards(s.position, next);
  }
  return s;
}

std::vector<DemoStep> Intervention::demonstrate(const sim::AgentState& start, int first_waypoint,
                                                int max_steps) const {
  requireReset("demonstrate");
  std::vector<DemoStep> demo;
  sim::AgentState s = start;
  int nearest = std::clamp(first_waypoint, 0, static_cast<int>(path_.size()) - 1);
  // The expert's follower, or one of its own when the demonstration stops elsewhere
  // (oracle_goal_radius_m) or goes straight to the goal.
  const float radius =
      cfg_.oracle_goal_radius_m > 0 ? cfg_.oracle_goal_radius_m : cfg_.expert_stop_radius_m;
  std::optional<ShortestPathFollower> own;
  if (cfg_.demo_towards_goal || radius != cfg_.expert_stop_radius_m)
    own.emplace(*pf_, space_, radius, cfg_.follower);
  const ShortestPathFollower& follower = own ? *own : *follower_;
  for (int i = 0; i < max_steps; ++i) {
    nearest = nearestIndex(s.position, nearest);
    const sim::Vec3& goal = nearestGoal(s.position);
    const FollowResult r =
        cfg_.demo_towards_goal
            ? follower.towardsGoal(s, goal)
            : follower.towardsChain(s, path_, static_cast<size_t>(targetIndex(nearest)), goal);
    if (r.status == FollowStatus::Unreachable) return {};
    demo.push_back({s, r.action});
    if (r.action == sim::Action::Stop) break;
    s = sim::applyAction(*pf_, s, r.action, space_).state;
  }
  return demo;
}

}  // namespace svln::expert
