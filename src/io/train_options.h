// The flags of `streamvln train`, as the hybrid trainer's users type them
// (shared/spec/trainer-flags.md is the contract). Plain data with the spec's defaults;
// the CLI fills it, validate() checks cross-field rules.
#pragma once

#include <string>

namespace svln::io {

enum class Phase { Phase1Stop, Phase2Progress };
enum class DecayType { Linear, Cosine, Exponential };
enum class RecoveryMode { Takeover, Rollback };

const char* phaseName(Phase p);
const char* decayTypeName(DecayType d);
const char* recoveryModeName(RecoveryMode m);

struct TrainOptions {
  // Basic
  std::string model_path;
  std::string habitat_config_path;
  std::string output_path;
  Phase phase = Phase::Phase1Stop;
  // Hybrid training
  bool use_hybrid_training = false;
  double sft_loss_start_weight = 1.0;
  double sft_loss_end_weight = 0.5;
  int sft_loss_decay_updates = 200;
  DecayType sft_loss_decay_type = DecayType::Cosine;
  bool sft_oracle_only = false;  // false = --sft_use_policy_steps
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
  bool greedy_first_sample = false;
  // GRPO
  int num_updates = 500;
  int num_episodes_per_update = 1;
  int group_size = 2;
  double learning_rate = 5e-7;
  int ppo_epochs = 1;
  int mini_batch_size = 2;
  double max_grad_norm = 0.5;
  double kl_coef = 0.0;
  // Extension: how the surrogate averages over tokens (rl/update.h): true = per trajectory,
  // then over trajectories (GRPO as published); false = over all tokens of a mini-batch.
  bool grpo_sequence_mean = true;
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

// SFT weight w(u) of the spec: t = min(u, D)/D;
//   linear      w = s + (e - s) t
//   cosine      w = e + (s - e) (1 + cos(pi t)) / 2
//   exponential w = e + (s - e) exp(-5 t) for t < 1, exactly e from u = D on.
double sftWeight(const TrainOptions& o, int update);

}  // namespace svln::io
