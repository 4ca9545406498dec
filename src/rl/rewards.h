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
  // BudVLN's rewards (streamvln/rewards/vln_reward.py = R:, R:188-251): its phase1_stop
  // (--rewards budvln), phase2_spl (the same) and phase3_instruction (success 10).
  double budvln_step_reward = 0.05;      // +/- per non-terminal step, by distance change
  double budvln_collision_penalty = 0.1; // per collided non-terminal step (see below)
  double budvln_distance_divisor = 6.0;  // terminal -d_T / divisor
  double budvln_success_bonus = 2.0;     // phase1_stop, phase2_spl
  double budvln_instruction_success_bonus = 10.0;  // phase3_instruction
  double budvln_spl_weight = 1.0;        // terminal + weight x SPL-term on success
  double budvln_step_length_m = 0.25;    // R:'s assumed agent path length per step
  double budvln_clip = 10.0;             // the terminal reward is clipped to +-clip
  // Reproductions of two reference accidents (their flags: --reward_spl_accident,
  // --reward_collision_accident). SPL-term: R: reads keys Habitat does not write, so the
  // agent's length is one assumed step, and sums the reference path over x and the height
  // y: term = L_xy / max(L_xy, 0.25), about 1 (false: shortest / max(shortest, walked)).
  // Collision: R: reads 'collided'/'collision', Habitat writes 'collisions': it never fires
  // (false: -penalty on every collided step).
  bool budvln_spl_accident = true;
  bool budvln_collision_accident = true;
  // Formulas, one line each, for training.log; with_budvln adds BudVLN's.
  std::string describe(bool with_budvln = false) const;
};

enum class RewardPhase {
  Phase1Stop,             // the guide's
  Phase2Progress,         // the guide's
  BudvlnStop,             // BudVLN's phase1_stop (--rewards budvln) and phase2_spl
  BudvlnInstruction,      // BudVLN's phase3_instruction: success bonus 10
};

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
  // BudVLN's rewards: a rolled-back trajectory never reaches a terminal step; the
  // reference path's length over x and the height y (the SPL accident's numerator).
  bool rolled_back = false;
  double reference_length_xy = 0;
};

// Per-step rewards; the return is their sum. Sparse rewards land on the last step.
//  phase1_stop:      r_T = success ? B : w_d (1 - min(d_T/d_0, 1)) - [STOP far] p_f - [no STOP] p_n
//                                         - [STOP forced] p_forced
//  phase2_progress:  r_t = w_p (d_{t-1} - d_t) - p_c [collided] - c_s ,
//                    r_T += success ? B * shortest / max(path_length, shortest) : 0
//  BudVLN (R:188-251), d_{-1} = start distance; non-terminal steps (all of them when the
//  trajectory was rolled back):
//                    r_t = (d_t < d_{t-1} ? +s : -s) - p_c [collided, not the accident]
//                    terminal (the last step otherwise):
//                    r_T = clip(-d_T / 6 + B [success] + w_spl SPL-term [success], +-10)
//                    B = 2 (BudvlnStop) or 10 (BudvlnInstruction); SPL-term as
//                    RewardConstants says.
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
