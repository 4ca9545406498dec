#include "rl/rewards.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace svln::rl {

std::string RewardConstants::describe() const {
  std::ostringstream s;
  s << "success_bonus=" << success_bonus << " distance_weight=" << distance_weight
    << " false_stop_penalty=" << false_stop_penalty << " no_stop_penalty=" << no_stop_penalty
    << " forced_stop_penalty=" << forced_stop_penalty
    << " progress_weight=" << progress_weight << " collision_penalty=" << collision_penalty
    << " step_cost=" << step_cost << "\n"
    << "  phase1_stop:     r_T = success ? success_bonus : distance_weight*(1-min(d_T/d_0,1))"
       " - false_stop_penalty*[STOP beyond success distance] - no_stop_penalty*[no STOP]"
       " - forced_stop_penalty*[STOP forced by the goal-zone patience]\n"
    << "  phase2_progress: r_t = progress_weight*(d_{t-1}-d_t) - collision_penalty*[collided]"
       " - step_cost; r_T += success ? success_bonus*shortest/max(path_length,shortest) : 0";
  return s.str();
}

std::vector<double> stepRewards(RewardPhase phase, const RewardConstants& k,
                                const std::vector<RewardStep>& steps,
                                const EpisodeOutcome& o) {
  std::vector<double> r(steps.size(), 0.0);
  if (steps.empty()) return r;
  const bool within = o.final_distance <= o.success_distance;
  const bool success = o.called_stop && !o.forced_stop && within;
  double& last = r.back();
  if (phase == RewardPhase::Phase1Stop) {
    if (success) {
      last = k.success_bonus;
    } else {
      const double ratio = o.start_distance > 0 ? o.final_distance / o.start_distance : 1.0;
      last = k.distance_weight * (1.0 - std::min(ratio, 1.0));
      if (o.called_stop && !o.forced_stop && !within) last -= k.false_stop_penalty;
      if (!o.called_stop) last -= k.no_stop_penalty;
      if (o.forced_stop) last -= k.forced_stop_penalty;
    }
    return r;
  }
  double prev = o.start_distance;
  for (size_t t = 0; t < steps.size(); ++t) {
    // No progress is measured to or from a place with no path to the goal (Habitat's inf).
    const double d = steps[t].distance_to_goal;
    const double progress = std::isfinite(prev) && std::isfinite(d) ? prev - d : 0.0;
    r[t] = k.progress_weight * progress - (steps[t].collided ? k.collision_penalty : 0.0) -
           k.step_cost;
    prev = steps[t].distance_to_goal;
  }
  if (success) {
    const double denom = std::max(o.path_length, o.shortest_path);
    last += k.success_bonus * (denom > 0 ? o.shortest_path / denom : 1.0);
  }
  return r;
}

double tdrBonus(const std::vector<bool>& matches, double weight, double gamma, bool strict) {
  double bonus = 0, discount = 1;
  for (bool m : matches) {
    if (m) bonus += discount;
    else if (strict) break;
    discount *= gamma;
  }
  return weight * bonus;
}

}  // namespace svln::rl
