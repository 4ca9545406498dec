// The flags of `streamvln train`, as the hybrid trainer's users type them
// (shared/spec/trainer-flags.md is the contract). Plain data with the spec's defaults;
// the CLI fills it, validate() checks cross-field rules.
#pragma once

#include <string>

#include "sim/measures.h"

namespace svln::io {

// phase1_stop and phase2_progress: the guide's rewards (phase1_stop: BudVLN's with
// --rewards budvln); phase2_spl and phase3_instruction: BudVLN's (rl/rewards.h).
enum class Phase { Phase1Stop, Phase2Progress, Phase2Spl, Phase3Instruction };
enum class DecayType { Linear, Cosine, Exponential };
enum class RecoveryMode { Takeover, Rollback };
// How the clipped surrogate averages over policy tokens (verl's loss_agg_mode names):
//   token-mean              sum over the mini-batch's tokens / their count (long
//                           trajectories weigh more)
//   seq-mean-token-mean     mean over each trajectory's tokens, then over trajectories (GRPO
//                           as published; a short trajectory's tokens weigh more: the length
//                           bias of Liu et al. 2025, "Understanding R1-Zero-Like Training")
//   seq-mean-token-sum-norm sum over each trajectory's tokens / a constant (the episode
//                           cap), then the mean over trajectories (Dr. GRPO: every token
//                           weighs the same, whatever its trajectory's length)
enum class LossAggMode { TokenMean, SeqMeanTokenMean, SeqMeanTokenSumNorm };
// The std that divides group advantages (rl/advantages.h): sample = Bessel's (n - 1) plus
// 1e-6; population = numpy's np.std (n), no epsilon, as BudVLN's trainer (G:1992-1998);
// none = no division, A = R - mean R (Dr. GRPO, Liu et al. 2025: dividing by a group's std
// turns tiny return differences, e.g. between trajectories that all failed, into +-1).
enum class AdvantageStd { Sample, Population, None };
// How checkpoint directories are named: streamvln = checkpoint-<u> for every save (the last
// update's included); budvln = the reference's checkpoint_<u> every --save_every updates and
// checkpoint_final after the last (G:613-626, 3044).
enum class CheckpointNaming { Streamvln, Budvln };

const char* phaseName(Phase p);
const char* decayTypeName(DecayType d);
const char* recoveryModeName(RecoveryMode m);
// The expert's follower (expert::FollowerRule; rl::expertFollowerRule maps it): heading =
// this project's, vlnce = VLN-CE's ShortestPathFollowerCompat (behind its _gt data), habitat =
// habitat-sim 0.2.4's GreedyGeodesicFollower (habitat-lab's ShortestPathFollower).
enum class FollowerRule { Heading, VlnCe, Habitat };
const char* followerRuleName(FollowerRule f);
const char* lossAggModeName(LossAggMode m);
const char* advantageStdName(AdvantageStd s);
const char* checkpointNamingName(CheckpointNaming n);

struct TrainOptions {
  // Basic
  std::string model_path;
  std::string habitat_config_path;
  std::string output_path;
  Phase phase = Phase::Phase1Stop;
  // --rewards budvln: phase1_stop scores with BudVLN's rewards (R:188-251) instead of the
  // guide's; the two reference accidents they reproduce, each a flag (rl/rewards.h).
  bool budvln_rewards = false;
  bool reward_spl_accident = true;
  bool reward_collision_accident = true;
  // --fixed_phrase: every observation says "you can see " (BudVLN's RL prompt, G:304-305,
  // 1858), not one of the release's seven phrases drawn at random.
  bool fixed_phrase = false;
  // Hybrid training
  bool use_hybrid_training = false;
  double sft_loss_start_weight = 1.0;
  double sft_loss_end_weight = 0.5;
  int sft_loss_decay_updates = 200;
  DecayType sft_loss_decay_type = DecayType::Cosine;
  bool sft_oracle_only = false;  // false = --sft_use_policy_steps
  // Extension, --sft_false_stop_labels: with sft_oracle_only, also label the policy's false
  // STOPs with the expert's action (rl/update.h UpdateOptions::sft_false_stop_labels).
  bool sft_false_stop_labels = false;
  // Extension, --sft_label_target goal|waypoint: a policy step's SFT label is the oracle's
  // action towards the goal (VLN-CE's DAgger oracle) or along the reference waypoints.
  bool sft_label_towards_goal = true;
  // Extension, --sft_loss_norm weights|token-sum-norm (rl/update.h UpdateOptions).
  bool sft_token_sum_norm = false;
  // Expert intervention
  bool enable_recovery = true;
  double offtrack_dist_thresh = 3.0;
  double offtrack_heading_thresh_deg = 120.0;
  double heading_guard_dist = 3.0;
  int offtrack_patience = 8;
  int lookahead_k = 1;
  double recovery_dist_thresh = 2.0;
  double recovery_heading_thresh_deg = 45.0;
  int recovery_max_steps = 100;
  double goal_radius = 3.0;
  int goal_grace_steps = 7;
  int goal_stop_patience = 5;
  RecoveryMode recovery_mode = RecoveryMode::Takeover;
  FollowerRule follower = FollowerRule::Heading;  // --follower: the expert's rule
  bool greedy_first_sample = false;
  // BudVLN's rollback triggers, pose and demonstration (expert/intervention.h has the rules),
  // each off by default.
  bool rollback_on_premature_stop = false;  // a policy STOP outside the goal zone cuts
  bool goal_zone_timeout_rollback = false;  // the zone timeout cuts (12th step), no STOP
  bool stuck_enable = false;                // same nearest waypoint stuck_patience steps
  int stuck_patience = 60;                  // steps [>= 1]
  int stuck_motion_steps = 30;              // rollback mode: < 0.25 m in N steps cuts (0: off)
  bool rollback_to_own_pose = false;        // restore the agent's pose, not the waypoint
  bool rollback_demo_towards_goal = false;  // the demonstration goes straight to the goal
  double oracle_goal_radius = 0.5;          // m, the demonstration's STOP radius [> 0]
  // GRPO
  int num_updates = 500;
  int num_episodes_per_update = 1;
  int group_size = 2;
  double learning_rate = 5e-7;
  int ppo_epochs = 1;
  int mini_batch_size = 2;
  // --mini_batch_unit steps: a mini-batch is min(12, mini_batch_size) policy steps of one
  // episode's group, an optimizer step each (BudVLN; rl/update.h UpdateOptions).
  bool step_mini_batches = false;
  double max_grad_norm = 0.5;
  double kl_coef = 0.0;
  // Extensions that keep RL from wrecking a good SFT policy (docs/results.md):
  LossAggMode loss_agg_mode = LossAggMode::SeqMeanTokenSumNorm;
  int lr_warmup_updates = 0;  // linear warm-up of the learning rate over these updates
  // Extensions that the budvln preset needs (shared/spec/budvln-reference.md), each off by
  // default. Formulas: rl/advantages.h, rl/losses.h, rl/rewards.h.
  double entropy_coef = 0.0;   // L -= c H(pi) over policy tokens [>= 0]
  double weight_decay = 0.0;   // AdamW's decoupled weight decay [>= 0]
  AdvantageStd advantage_std = AdvantageStd::Sample;
  bool spread_advantages = false;  // A_i / T_i per policy token, z-scored over the update
  bool zero_old_logprob = false;   // the reference's old log-prob placeholder 0: r = pi(a|s)
  bool use_tdr = false;            // + tdr_weight sum_t tdr_gamma^t [a_t = label_t]
  double tdr_weight = 0.2;
  double tdr_gamma = 0.9;          // [0, 1]
  bool tdr_strict = true;          // the sum stops at the first mismatch
  // --disable_grpo_loss: no surrogate (nor its entropy and KL terms); the SFT terms stay
  // (the reference's debugging switch, G:2194,2306).
  bool disable_grpo_loss = false;
  // --sft_only: SFT on expert-controlled steps (and rollback demonstrations) alone, the
  // weighted mean with coefficient 1, no surrogate; an update whose rollouts have no such
  // step is rolled out again with the next episodes (G:523-585, 2847-2930).
  bool sft_only = false;
  // --demo_loss separate: rollback demonstrations form their own loss term (coefficient 1,
  // decay weights from sft_loss_start_weight, also without hybrid training; rl/update.h).
  bool demo_loss_separate = false;
  // --greedy_probe (the BudVLN paper's method, streamvln_sft_train.py --greedy_only_sft):
  // per episode the greedy member rolls out first; not rolled back, the other members
  // sample without intervention and the group trains by GRPO; rolled back, the probe alone
  // is kept and only its demonstration trains (rl/trainer.cpp probeRollout).
  bool greedy_probe = false;
  // --update_mode two_phase (BudVLN's streamvln_sft_train.py, S:2233-2718): the update's
  // rollback demonstrations leave the GRPO pass and train after it in a pass of their own,
  // batches of 4 demonstration steps of one episode, an optimizer step each, loss mean(w)
  // mean(CE) with the decay weights (rl/update.h UpdateOptions::two_phase). false: single.
  bool two_phase_update = false;
  // --sft_on_failures (BudVLN's streamvln_sft_only_train.py): each episode rolled out once,
  // greedily; only the rollback demonstrations of the episodes it failed (was rolled back
  // on) train, in segments of 32 steps, gradient_accumulation_steps segments per optimizer
  // step; no GRPO (rl/update.h UpdateOptions::failures_only).
  bool sft_on_failures = false;
  int gradient_accumulation_steps = 1;  // [>= 1; > 1 only with sft_on_failures]
  CheckpointNaming checkpoint_naming = CheckpointNaming::Streamvln;
  // phase1_stop's penalty for a STOP forced by the goal-zone patience (rl/rewards.h); 0 gives
  // the earlier reward, where a forced STOP earned the distance term alone.
  double forced_stop_penalty = 1.0;
  // phase1_stop: the penalty of a STOP called beyond the success distance.
  double false_stop_penalty = 0.5;
  sim::NdtwReference ndtw_reference = sim::NdtwReference::kGt;  // --ndtw_reference
  bool habitat_path_limits = true;                                // --path_search_limits
  // Every eval_every updates (0: never) the policy is evaluated greedily on eval_split
  // (eval_episodes of it, 0 = all); the best by SR, then SPL, is kept in best/.
  int eval_every = 0;
  std::string eval_split = "val_seen";
  int eval_episodes = 0;
  // > 0: a validation replaces the best only when, paired over the episodes both ran, the
  // successes it gains (g) and loses (l) against the best satisfy g - l >= best_margin *
  // sqrt(g + l) and g > l (McNemar's statistic in standard errors), so that a lucky score
  // among many checkpoints does not displace a policy it does not clearly beat. 0: any
  // higher SR (then SPL) wins.
  double best_margin = 0;
  // Logging
  bool use_wandb = false;
  std::string wandb_project = "streamvln_hybrid";
  std::string wandb_entity;    // extension: W&B user or team (WANDB_ENTITY when empty)
  std::string wandb_run_name;  // generated with a timestamp when empty
  // Scale
  bool use_deepspeed = false;
  std::string deepspeed_config;

  // Cross-flag rules the per-flag ranges cannot express; throws
  // std::runtime_error("--flag: problem").
  void validate() const;
};

// SFT weight w(u), u the 0-based update: t = min(u, D)/D;
//   linear      w = s + (e - s) t
//   cosine      w = e + (s - e) (1 + cos(pi t)) / 2
//   exponential w = s (e / s)^t   (BudVLN's code, G:2837-2840; the spec's e + (s - e) e^{-5t}
//                                  was wrong and is not used)
// each exactly e from u = D on.
double sftWeight(const TrainOptions& o, int update);

}  // namespace svln::io
