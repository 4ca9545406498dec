// Rewards per curriculum phase (shared/spec/trainer-flags.md, "Rewards"). Every coefficient
// is a named constant in RewardConstants; the trainer prints them at start.
#pragma once

#include <string>
#include <vector>

namespace svln::rl {

struct RewardConstants {
  // Both phases
  double success_bonus = 2.0;  // STOP called (not forced) within the success distance
  // phase1_stop (sparse, at the end)
  double distance_weight = 1.0;     // x (1 - min(d_final / d_start, 1)), in [0, 1]
  double false_stop_penalty = 0.5;  // STOP called farther than the success distance
  double no_stop_penalty = 1.0;     // the episode ended without any STOP
  // The goal-zone patience forced the STOP: the agent did not stop itself, so it is scored
  // as a never-called STOP. A forced STOP must never be a safer bet than trying to stop
  // (it once earned the distance term alone, and GRPO learnt to linger; docs/results.md).
  double forced_stop_penalty = 1.0;
  // phase2_progress (dense)
  double progress_weight = 1.0;     // x (d_{t-1} - d_t) per step, metres of geodesic progress
  double collision_penalty = 0.1;   // per step whose move was cut short
  double step_cost = 0.01;          // per step
  // Formulas, one line each, for training.log.
  std::string describe() const;
};

enum class RewardPhase { Phase1Stop, Phase2Progress };

// One executed step, as the rollout recorded it.
struct RewardStep {
  double distance_to_goal = 0;  // geodesic, after the step
  bool collided = false;
};

// How the episode ended.
struct EpisodeOutcome {
  double start_distance = 0;    // geodesic distance to the goal at the start
  double final_distance = 0;    // at the end
  double success_distance = 3.0;
  bool called_stop = false;     // the last action was STOP (policy or forced)
  bool forced_stop = false;     // that STOP was forced by the goal-zone patience
  double path_length = 0;       // metres walked
  double shortest_path = 0;     // the episode's geodesic_distance
};

// Per-step rewards; the return is their sum. Sparse rewards land on the last step.
//  phase1_stop:      r_T = success ? B : w_d (1 - min(d_T/d_0, 1)) - [STOP far] p_f - [no STOP] p_n
//                                         - [STOP forced] p_forced
//  phase2_progress:  r_t = w_p (d_{t-1} - d_t) - p_c [collided] - c_s ,
//                    r_T += success ? B * shortest / max(path_length, shortest) : 0
// success = STOP called, not forced, final_distance <= success_distance.
std::vector<double> stepRewards(RewardPhase phase, const RewardConstants& k,
                                const std::vector<RewardStep>& steps,
                                const EpisodeOutcome& outcome);

// BudVLN's trajectory step-matching bonus (TDR, G:1936-1963, 2940-2977), added to the return:
//   R += w sum_t gamma^t [match_t]   over the policy's steps t = 0, 1, ... in order;
// strict: the sum stops at the first mismatch. match_t: the executed action equals the
// step's expert label (an unlabelled step does not match). At most w / (1 - gamma).
double tdrBonus(const std::vector<bool>& matches, double weight, double gamma, bool strict);

}  // namespace svln::rl
