#include "rl/rewards.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace svln::rl {

std::string RewardConstants::describe(bool with_budvln) const {
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
  if (with_budvln)
    s << "\n  budvln: step_reward=" << budvln_step_reward
      << " collision_penalty=" << budvln_collision_penalty
      << " distance_divisor=" << budvln_distance_divisor
      << " success_bonus=" << budvln_success_bonus
      << " instruction_success_bonus=" << budvln_instruction_success_bonus
      << " spl_weight=" << budvln_spl_weight << " step_length_m=" << budvln_step_length_m
      << " clip=" << budvln_clip << " spl_accident=" << budvln_spl_accident
      << " collision_accident=" << budvln_collision_accident
      << "\n  budvln (phase1_stop with --rewards budvln, phase2_spl, phase3_instruction):"
         " r_t = (d_t < d_{t-1} ? +step_reward : -step_reward)"
         " - collision_penalty*[collided, unless collision_accident] for non-terminal steps"
         " (every step of a rolled-back trajectory); r_T = clip(-d_T/distance_divisor"
         " + success*(bonus + spl_weight*SPL-term), +-clip), bonus = instruction_success_bonus"
         " in phase3_instruction; SPL-term = spl_accident ? L_xy/max(L_xy, step_length_m)"
         " : shortest/max(shortest, path_length)";
  return s.str();
}

namespace {

// BudVLN's semi-sparse reward, R:188-251 (see stepRewards).
std::vector<double> budvlnRewards(const RewardConstants& k, double success_bonus,
                                  const std::vector<RewardStep>& steps, const EpisodeOutcome& o) {
  std::vector<double> r(steps.size(), 0.0);
  double prev = o.start_distance;
  for (size_t t = 0; t < steps.size(); ++t) {
    const double d = steps[t].distance_to_goal;
    r[t] = d < prev ? k.budvln_step_reward : -k.budvln_step_reward;
    if (steps[t].collided && !k.budvln_collision_accident) r[t] -= k.budvln_collision_penalty;
    prev = d;
  }
  if (steps.empty() || o.rolled_back) return r;  // the loop broke before a terminal step
  const bool success =
      o.called_stop && !o.forced_stop && o.final_distance <= o.success_distance;
  double last = -o.final_distance / k.budvln_distance_divisor;
  if (success) {
    double spl;
    if (k.budvln_spl_accident) {
      const double denom = std::max(o.reference_length_xy, k.budvln_step_length_m);
      spl = o.reference_length_xy / denom;
    } else {
      const double denom = std::max(o.shortest_path, o.path_length);
      spl = denom > 0 ? o.shortest_path / denom : 1.0;
    }
    last += success_bonus + k.budvln_spl_weight * spl;
  }
  r.back() = std::clamp(last, -k.budvln_clip, k.budvln_clip);
  return r;
}

}  // namespace

std::vector<double> stepRewards(RewardPhase phase, const RewardConstants& k,
                                const std::vector<RewardStep>& steps,
                                const EpisodeOutcome& o) {
  if (phase == RewardPhase::BudvlnStop) return budvlnRewards(k, k.budvln_success_bonus, steps, o);
  if (phase == RewardPhase::BudvlnInstruction)
    return budvlnRewards(k, k.budvln_instruction_success_bonus, steps, o);
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
