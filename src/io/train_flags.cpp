#include "io/train_flags.h"

#include <CLI/CLI.hpp>

#include <map>

namespace svln::io {
namespace {

template <typename E>
CLI::CheckedTransformer enumMap(const std::map<std::string, E>& m) {
  return CLI::CheckedTransformer(m, CLI::ignore_case);
}

void addBasic(CLI::App& app, TrainOptions& o) {
  const char* g = "Basic";
  app.add_option("--model_path", o.model_path,
                 "pretrained StreamVLN checkpoint directory (Hugging Face layout)")
      ->required()->group(g);
  app.add_option("--habitat_config_path", o.habitat_config_path,
                 "Habitat-style YAML environment config")
      ->required()->group(g);
  app.add_option("--output_path", o.output_path,
                 "checkpoints, training.log, metrics and reports go here (created if missing)")
      ->required()->group(g);
  app.add_option("--phase", o.phase,
                 "reward curriculum stage: phase1_stop teaches when to stop, "
                 "phase2_progress teaches navigation progress")
      ->transform(enumMap<Phase>({{"phase1_stop", Phase::Phase1Stop},
                                  {"phase2_progress", Phase::Phase2Progress}}))
      ->default_str("phase1_stop")->group(g);
  addNdtwReferenceFlag(app, o.ndtw_reference, g);
  addPathSearchLimitsFlag(app, o.habitat_path_limits, g);
}

void addHybrid(CLI::App& app, TrainOptions& o) {
  const char* g = "Hybrid training";
  app.add_flag("--use_hybrid_training", o.use_hybrid_training,
               "Loss = GRPO_loss + w(u) * SFT_loss; off means pure GRPO")->group(g);
  app.add_option("--sft_loss_start_weight", o.sft_loss_start_weight, "w(0)")
      ->check(CLI::Range(0.0, 2.0))->capture_default_str()->group(g);
  app.add_option("--sft_loss_end_weight", o.sft_loss_end_weight, "w(u) for u >= D")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(g);
  app.add_option("--sft_loss_decay_updates", o.sft_loss_decay_updates,
                 "D: updates to go from start to end weight")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  app.add_option("--sft_loss_decay_type", o.sft_loss_decay_type, "shape of w between 0 and D")
      ->transform(enumMap<DecayType>({{"linear", DecayType::Linear},
                                      {"cosine", DecayType::Cosine},
                                      {"exponential", DecayType::Exponential}}))
      ->default_str("cosine")->group(g);
  auto* policy = app.add_flag_callback(
      "--sft_use_policy_steps", [&o] { o.sft_oracle_only = false; },
      "SFT on the expert's action at every visited state (default)")->group(g);
  auto* oracle = app.add_flag("--sft_oracle_only", o.sft_oracle_only,
                              "SFT only on steps the expert controlled")->group(g);
  policy->excludes(oracle);
  app.add_option("--sft_false_stop_labels", o.sft_false_stop_labels,
                 "extension, with --sft_oracle_only: also an SFT label (the expert's action, "
                 "weighted as an expert step) at each STOP the policy called beyond the success "
                 "distance, so the expert corrects STOPs called too early as well as too late "
                 "(true | false; --sft_use_policy_steps labels them anyway)")
      ->capture_default_str()->group(g);
  app.add_option("--sft_label_target", o.sft_label_towards_goal,
                 "extension: a policy step's SFT label: goal = the shortest-path oracle's action "
                 "towards the goal (VLN-CE's DAgger oracle); waypoint = along the reference path "
                 "(the takeover expert's target). Expert steps are labelled with the expert's action")
      ->transform(CLI::CheckedTransformer(std::map<std::string, bool>{{"goal", true}, {"waypoint", false}}))
      ->default_str("goal")->group(g);
  app.add_option("--sft_loss_norm", o.sft_token_sum_norm,
                 "extension: weights = the SFT term is the weighted mean over the mini-batch's "
                 "labels; token-sum-norm = its sum over the surrogate's constant (the episode cap "
                 "per trajectory), so a label weighs what a policy token does")
      ->transform(CLI::CheckedTransformer(std::map<std::string, bool>{{"weights", false}, {"token-sum-norm", true}}))
      ->default_str("weights")->group(g);
}

void addRecovery(CLI::App& app, TrainOptions& o) {
  const char* g = "Expert intervention (recovery)";
  auto* en = app.add_flag_callback("--enable_recovery", [&o] { o.enable_recovery = true; },
                                   "expert intervention on (default)")->group(g);
  auto* dis = app.add_flag_callback("--disable_recovery", [&o] { o.enable_recovery = false; },
                                    "expert intervention off")->group(g);
  en->excludes(dis);
  const auto nonneg = CLI::NonNegativeNumber;
  app.add_option("--offtrack_dist_thresh", o.offtrack_dist_thresh,
                 "m; off track when farther than this from the reference path")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  app.add_option("--offtrack_heading_thresh_deg", o.offtrack_heading_thresh_deg,
                 "deg; or when the heading error to the target waypoint exceeds this ...")
      ->check(CLI::Range(0.0, 180.0))->capture_default_str()->group(g);
  app.add_option("--heading_guard_dist", o.heading_guard_dist,
                 "m; ... and the agent is also farther than this from the path")
      ->check(nonneg)->capture_default_str()->group(g);
  app.add_option("--offtrack_patience", o.offtrack_patience,
                 "consecutive off-track steps before the expert takes over")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--lookahead_k", o.lookahead_k,
                 "target waypoint = nearest reference waypoint index + k")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--recovery_dist_thresh", o.recovery_dist_thresh,
                 "m; control returns when closer than this to the path (< offtrack_dist_thresh)")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  app.add_option("--recovery_heading_thresh_deg", o.recovery_heading_thresh_deg,
                 "deg; ... and the heading error is below this")
      ->check(CLI::Range(0.0, 180.0))->capture_default_str()->group(g);
  app.add_option("--recovery_max_steps", o.recovery_max_steps,
                 "a recovery that lasts this long ends the episode")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--goal_radius", o.goal_radius,
                 "m; inside this geodesic distance to the goal the expert never takes over")
      ->check(nonneg)->capture_default_str()->group(g);
  app.add_option("--goal_grace_steps", o.goal_grace_steps,
                 "steps allowed inside the goal zone before the stop counter starts")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
  app.add_option("--goal_stop_patience", o.goal_stop_patience,
                 "then this many steps without STOP force a STOP; 0 disables")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
  app.add_option("--recovery_mode", o.recovery_mode,
                 "takeover: the expert drives inline; rollback: restore to the last passed "
                 "waypoint and demonstrate to the goal (SFT data only)")
      ->transform(enumMap<RecoveryMode>({{"takeover", RecoveryMode::Takeover},
                                         {"rollback", RecoveryMode::Rollback}}))
      ->default_str("takeover")->group(g);
  app.add_flag("--greedy_first_sample", o.greedy_first_sample,
               "trajectory 0 of each group is decoded greedily (an anchor)")->group(g);
}

void addGrpo(CLI::App& app, TrainOptions& o) {
  const char* g = "GRPO";
  app.add_option("--num_updates", o.num_updates, "training updates")
      ->check(CLI::Range(1, 100000000))->capture_default_str()->group(g);
  app.add_option("--num_episodes_per_update", o.num_episodes_per_update,
                 "distinct episodes (instructions) per update")
      ->check(CLI::Range(1, 1000000))->capture_default_str()->group(g);
  app.add_option("--group_size", o.group_size,
                 "trajectories per instruction; A_i = (R_i - mean R)/(std R + 1e-6). With 1 "
                 "there is no group: A = R - b, b a running mean of returns")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--learning_rate", o.learning_rate, "AdamW learning rate")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  app.add_option("--ppo_epochs", o.ppo_epochs, "optimisation passes over each update's data")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--mini_batch_size", o.mini_batch_size, "trajectories per gradient step")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--max_grad_norm", o.max_grad_norm, "global gradient-norm clip")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  app.add_option("--kl_coef", o.kl_coef, "KL penalty to the adapter-free base model")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group(g);
  CLI::Option* agg = app.add_option("--loss_agg_mode", o.loss_agg_mode,
                 "extension: how the surrogate averages over tokens. seq-mean-token-sum-norm: "
                 "each trajectory's token sum / the episode cap, then the mean over trajectories "
                 "(Dr. GRPO, no length bias); seq-mean-token-mean: GRPO as published (short "
                 "trajectories' tokens weigh more); token-mean: one mean over a mini-batch's tokens")
      ->transform(enumMap<LossAggMode>({{"token-mean", LossAggMode::TokenMean},
                                        {"seq-mean-token-mean", LossAggMode::SeqMeanTokenMean},
                                        {"seq-mean-token-sum-norm", LossAggMode::SeqMeanTokenSumNorm}}))
      ->default_str("seq-mean-token-sum-norm")->group(g);
  app.add_option("--grpo_loss_mean", o.loss_agg_mode,
                 "extension, older spelling of --loss_agg_mode: sequence = seq-mean-token-mean, "
                 "token = token-mean")
      ->transform(enumMap<LossAggMode>({{"sequence", LossAggMode::SeqMeanTokenMean},
                                        {"token", LossAggMode::TokenMean}}))
      ->excludes(agg)->group(g);
  app.add_option("--forced_stop_penalty", o.forced_stop_penalty,
                 "extension: phase1_stop penalty for a STOP forced by the goal-zone patience "
                 "(scored like a never-called STOP; 0: the distance term alone)")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
  app.add_option("--false_stop_penalty", o.false_stop_penalty,
                 "extension: phase1_stop penalty for a STOP called beyond the success distance")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
  app.add_option("--lr_warmup_updates", o.lr_warmup_updates,
                 "extension: the learning rate rises linearly from lr/(W+1) to lr over the first W updates")
      ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
  app.add_option("--entropy_coef", o.entropy_coef,
                 "extension: entropy bonus, L -= c H over the policy tokens' action distribution "
                 "(aggregated like the surrogate; BudVLN: 0.02)")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
  app.add_option("--weight_decay", o.weight_decay, "extension: AdamW weight decay (BudVLN: 0.01)")
      ->check(CLI::Range(0.0, 10.0))->capture_default_str()->group(g);
  app.add_option("--advantage_std", o.advantage_std,
                 "extension: sample = (R - mean)/(Bessel std + 1e-6); population = (R - mean)/"
                 "np.std (BudVLN; a group of 2 gives +-1; std < 1e-8: no division)")
      ->transform(enumMap<AdvantageStd>({{"sample", AdvantageStd::Sample},
                                         {"population", AdvantageStd::Population}}))
      ->default_str("sample")->group(g);
  app.add_flag("--spread_advantages", o.spread_advantages,
               "extension (BudVLN): each of trajectory i's T_i policy tokens gets A_i/T_i, then "
               "all policy tokens of the update are z-scored, (a - mean)/(Bessel std + 1e-8)")
      ->group(g);
  app.add_flag("--zero_old_logprob", o.zero_old_logprob,
               "extension, a reproduction of BudVLN's placeholder old log-prob 0: the ratio is "
               "pi(a|s), not pi/pi_old (for A < 0 and pi < 0.8 the clipped branch has no gradient)")
      ->group(g);
  app.add_option("--eval_every", o.eval_every,
                 "extension: every K updates evaluate greedily on --eval_split and keep the best "
                 "adapter (SR, then SPL) in OUTPUT/best (0: never)")
      ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
  app.add_option("--eval_split", o.eval_split, "extension: the validation split of --eval_every")
      ->capture_default_str()->group(g);
  app.add_option("--eval_episodes", o.eval_episodes,
                 "extension: episodes of --eval_split per validation (0: all)")
      ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
}

void addTdr(CLI::App& app, TrainOptions& o) {
  const char* g = "Rewards: step matching (TDR)";
  auto* on = app.add_flag("--use_tdr", o.use_tdr,
                          "extension (BudVLN, on there by default): R += tdr_weight * sum_t "
                          "tdr_gamma^t [a_t = expert label_t] over the policy's steps")->group(g);
  auto* off = app.add_flag_callback("--no_tdr", [&o] { o.use_tdr = false; },
                                    "no step-matching bonus (default)")->group(g);
  on->excludes(off);
  app.add_option("--tdr_weight", o.tdr_weight, "TDR weight per matching step")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
  app.add_option("--tdr_gamma", o.tdr_gamma, "TDR discount per policy step")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(g);
  auto* strict = app.add_flag_callback("--tdr_strict_mode", [&o] { o.tdr_strict = true; },
                                       "the TDR sum stops at the first mismatch (default)")->group(g);
  auto* loose = app.add_flag_callback("--tdr_no_strict_mode", [&o] { o.tdr_strict = false; },
                                      "every matching step counts")->group(g);
  strict->excludes(loose);
}

void addLoggingAndScale(CLI::App& app, TrainOptions& o) {
  const char* g = "Logging";
  app.add_flag("--use_wandb", o.use_wandb, "log to Weights & Biases")->group(g);
  app.add_option("--wandb_project", o.wandb_project, "project name")
      ->capture_default_str()->group(g);
  app.add_option("--wandb_entity", o.wandb_entity,
                 "W&B user or team (extension; default WANDB_ENTITY, else the account's)")
      ->group(g);
  app.add_option("--wandb_run_name", o.wandb_run_name,
                 "run name (generated with a timestamp when omitted)")->group(g);
  const char* s = "Scale";
  app.add_flag("--use_deepspeed", o.use_deepspeed,
               "data-parallel training across processes/GPUs")->group(s);
  app.add_option("--deepspeed_config", o.deepspeed_config,
                 "DeepSpeed JSON: micro batch, accumulation, clipping, bf16, ZeRO 0-2")
      ->check(CLI::ExistingFile)->group(s);
}

}  // namespace

void addNdtwReferenceFlag(CLI::App& app, sim::NdtwReference& r, const char* group) {
  auto* opt = app.add_option("--ndtw_reference", r,
                             "what nDTW/SDTW measure against: gt = the split's _gt.json.gz "
                             "locations, as VLN-CE (their absence is an error); reference_path = "
                             "the episodes' reference_path")
                  ->transform(enumMap<sim::NdtwReference>(
                      {{"gt", sim::NdtwReference::kGt},
                       {"reference_path", sim::NdtwReference::kReferencePath}}))
                  ->default_str("gt");
  if (group) opt->group(group);
}

void addPathSearchLimitsFlag(CLI::App& app, bool& habitat, const char* group) {
  auto* opt = app.add_option("--path_search_limits", habitat,
                             "shortest-path search: habitat = habitat-sim's limits (256-polygon "
                             "paths, 2048 A* nodes; beyond them no path, as Habitat reports); "
                             "unlimited = Detour's")
                  ->transform(CLI::CheckedTransformer(
                      std::map<std::string, bool>{{"habitat", true}, {"unlimited", false}}))
                  ->default_str("habitat");
  if (group) opt->group(group);
}

void addTrainFlags(CLI::App& app, TrainOptions& o) {
  addBasic(app, o);
  addHybrid(app, o);
  addRecovery(app, o);
  addGrpo(app, o);
  addTdr(app, o);
  addLoggingAndScale(app, o);
}

}  // namespace svln::io
