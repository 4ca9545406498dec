#include "io/train_flags.h"

#include <CLI/CLI.hpp>

#include <map>
#include <stdexcept>
#include <vector>

namespace svln::io {
namespace {

template <typename E>
CLI::CheckedTransformer enumMap(const std::map<std::string, E>& m) {
  return CLI::CheckedTransformer(m, CLI::ignore_case);
}

// A switch: `--flag` alone sets it, `--flag true|false` sets either value (the form presets
// and the demo's pipeline type). --help shows the value it has at registration.
CLI::Option* addSwitch(CLI::App& app, const std::string& name, bool& v, const std::string& help) {
  return app.add_flag(name, v, help)
      ->type_size(1)
      ->expected(0, 1)
      ->type_name("BOOLEAN")
      ->default_str(v ? "true" : "false");
}

// " (default)" after the help of the flag of a pair that gives the value the setting has.
std::string isDefault(bool is) { return is ? " (default)" : ""; }

// One setting's flags: every spelling, its help, range and shown default (o's value now).
using AddSetting = void (*)(CLI::App& app, TrainOptions& o, const std::string& group);
struct Setting {
  const char* flag;   // the main spelling, the setting's name for addTrainFlag
  const char* group;  // its group in `train --help` (the spec's grouping)
  AddSetting add;
};

constexpr const char* kBasic = "Basic";
constexpr const char* kHybrid = "Hybrid training";
constexpr const char* kRecovery = "Expert intervention (recovery)";
constexpr const char* kGrpo = "GRPO";
constexpr const char* kTdr = "Rewards: step matching (TDR)";
constexpr const char* kLogging = "Logging";
constexpr const char* kScale = "Scale";

using App = CLI::App;
using Opts = TrainOptions;
using Group = const std::string;

std::vector<Setting> basicSettings() {
  return {
    {"--model_path", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--model_path", o.model_path,
                      "pretrained StreamVLN checkpoint directory (Hugging Face layout)")
           ->required()->group(g);
     }},
    {"--habitat_config_path", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--habitat_config_path", o.habitat_config_path,
                      "Habitat-style YAML environment config")
           ->required()->group(g);
     }},
    {"--output_path", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--output_path", o.output_path,
                      "checkpoints, training.log, metrics and reports go here (created if missing)")
           ->required()->group(g);
     }},
    {"--phase", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--phase", o.phase,
                      "reward curriculum stage: phase1_stop teaches when to stop, "
                      "phase2_progress teaches navigation progress; BudVLN's phase2_spl (its "
                      "phase1_stop rewards again) and phase3_instruction (success bonus 10)")
           ->transform(enumMap<Phase>({{"phase1_stop", Phase::Phase1Stop},
                                       {"phase2_progress", Phase::Phase2Progress},
                                       {"phase2_spl", Phase::Phase2Spl},
                                       {"phase3_instruction", Phase::Phase3Instruction}}))
           ->default_str(phaseName(o.phase))->group(g);
     }},
    {"--rewards", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--rewards", o.budvln_rewards,
                      "extension: phase1_stop's rewards. guide: success +2, distance term, STOP "
                      "penalties; budvln: BudVLN's +-0.05 per step, -d/6 + 2 success + SPL-term "
                      "at the end, clipped to +-10, nothing at the end of a rolled-back "
                      "trajectory (phase2_spl and phase3_instruction always use these)")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"guide", false}, {"budvln", true}}))
           ->default_str(o.budvln_rewards ? "budvln" : "guide")->group(g);
     }},
    {"--reward_spl_accident", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--reward_spl_accident", o.reward_spl_accident,
                      "BudVLN's rewards, a reproduction of a reference accident: the success "
                      "SPL-term is L/max(L, 0.25) with L the reference path over x and height, "
                      "about 1 (false: shortest/max(shortest, walked))")
           ->capture_default_str()->group(g);
     }},
    {"--reward_collision_accident", kBasic, [](App& app, Opts& o, Group& g) {
       app.add_option("--reward_collision_accident", o.reward_collision_accident,
                      "BudVLN's rewards, a reproduction of a reference accident: the -0.1 "
                      "collision penalty never fires (it reads a key Habitat does not write; "
                      "false: it fires on every collided step)")
           ->capture_default_str()->group(g);
     }},
    {"--fixed_phrase", kBasic, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--fixed_phrase", o.fixed_phrase,
                 "extension (BudVLN's RL prompt): every observation is introduced with \"you can "
                 "see \", not one of the release's seven phrases at random")
           ->group(g);
     }},
    {"--ndtw_reference", kBasic, [](App& app, Opts& o, Group& g) {
       addNdtwReferenceFlag(app, o.ndtw_reference, g.c_str());
     }},
    {"--path_search_limits", kBasic, [](App& app, Opts& o, Group& g) {
       addPathSearchLimitsFlag(app, o.habitat_path_limits, g.c_str());
     }},
  };
}

std::vector<Setting> hybridSettings() {
  return {
    {"--use_hybrid_training", kHybrid, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--use_hybrid_training", o.use_hybrid_training,
                 "Loss = GRPO_loss + w(u) * SFT_loss; off means pure GRPO")->group(g);
     }},
    {"--sft_loss_start_weight", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_loss_start_weight", o.sft_loss_start_weight, "w(0)")
           ->check(CLI::Range(0.0, 2.0))->capture_default_str()->group(g);
     }},
    {"--sft_loss_end_weight", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_loss_end_weight", o.sft_loss_end_weight, "w(u) for u >= D")
           ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(g);
     }},
    {"--sft_loss_decay_updates", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_loss_decay_updates", o.sft_loss_decay_updates,
                      "D: updates to go from start to end weight")
           ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
     }},
    {"--sft_loss_decay_type", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_loss_decay_type", o.sft_loss_decay_type, "shape of w between 0 and D")
           ->transform(enumMap<DecayType>({{"linear", DecayType::Linear},
                                           {"cosine", DecayType::Cosine},
                                           {"exponential", DecayType::Exponential}}))
           ->default_str(decayTypeName(o.sft_loss_decay_type))->group(g);
     }},
    {"--sft_oracle_only", kHybrid, [](App& app, Opts& o, Group& g) {
       auto* policy = app.add_flag_callback(
           "--sft_use_policy_steps", [&o] { o.sft_oracle_only = false; },
           "SFT on the expert's action at every visited state" +
               isDefault(!o.sft_oracle_only))->group(g);
       auto* oracle = addSwitch(app, "--sft_oracle_only", o.sft_oracle_only,
                                "SFT only on steps the expert controlled")->group(g);
       policy->excludes(oracle);
     }},
    {"--sft_false_stop_labels", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_false_stop_labels", o.sft_false_stop_labels,
                      "extension, with --sft_oracle_only: also an SFT label (the expert's action, "
                      "weighted as an expert step) at each STOP the policy called beyond the "
                      "success distance, so the expert corrects STOPs called too early as well as "
                      "too late (true | false; --sft_use_policy_steps labels them anyway)")
           ->capture_default_str()->group(g);
     }},
    {"--sft_label_target", kHybrid, [](App& app, Opts& o, Group& g) {
       app.add_option("--sft_label_target", o.sft_label_towards_goal,
                      "extension: a policy step's SFT label: goal = the shortest-path oracle's "
                      "action towards the goal (VLN-CE's DAgger oracle); waypoint = along the "
                      "reference path (the takeover expert's target). Expert steps are labelled "
                      "with the expert's action")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"goal", true}, {"waypoint", false}}))
           ->default_str(o.sft_label_towards_goal ? "goal" : "waypoint")->group(g);
     }},
    {"--sft_loss_norm", kHybrid, [](App& app, Opts& o, Group& g) {
       auto* norm = app.add_option(
           "--sft_loss_norm", o.sft_token_sum_norm,
           "extension: weights = the SFT term is the weighted mean over the mini-batch's labels; "
           "token-sum-norm = its sum over the surrogate's constant (the episode cap per "
           "trajectory), so a label weighs what a policy token does")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"weights", false}, {"token-sum-norm", true}}))
           ->default_str(o.sft_token_sum_norm ? "token-sum-norm" : "weights")->group(g);
       app.add_option("--sft_token_sum_norm", o.sft_token_sum_norm,
                      "extension, the demo's spelling of --sft_loss_norm: true = token-sum-norm, "
                      "false = weights")
           ->capture_default_str()->excludes(norm)->group(g);
     }},
  };
}

std::vector<Setting> recoverySettings() {
  return {
    {"--enable_recovery", kRecovery, [](App& app, Opts& o, Group& g) {
       auto* en = app.add_flag_callback("--enable_recovery", [&o] { o.enable_recovery = true; },
                                        "expert intervention on" + isDefault(o.enable_recovery))
                      ->group(g);
       auto* dis = app.add_flag_callback("--disable_recovery", [&o] { o.enable_recovery = false; },
                                         "expert intervention off" + isDefault(!o.enable_recovery))
                       ->group(g);
       en->excludes(dis);
     }},
    {"--offtrack_dist_thresh", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--offtrack_dist_thresh", o.offtrack_dist_thresh,
                      "m; off track when farther than this from the reference path")
           ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
     }},
    {"--offtrack_heading_thresh_deg", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--offtrack_heading_thresh_deg", o.offtrack_heading_thresh_deg,
                      "deg; or when the heading error to the target waypoint exceeds this ...")
           ->check(CLI::Range(0.0, 180.0))->capture_default_str()->group(g);
     }},
    {"--heading_guard_dist", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--heading_guard_dist", o.heading_guard_dist,
                      "m; ... and the agent is also farther than this from the path")
           ->check(CLI::NonNegativeNumber)->capture_default_str()->group(g);
     }},
    {"--offtrack_patience", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--offtrack_patience", o.offtrack_patience,
                      "consecutive off-track steps before the expert takes over")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--lookahead_k", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--lookahead_k", o.lookahead_k,
                      "target waypoint = nearest reference waypoint index + k")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--recovery_dist_thresh", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--recovery_dist_thresh", o.recovery_dist_thresh,
                      "m; control returns when closer than this to the path (< "
                      "offtrack_dist_thresh)")
           ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
     }},
    {"--recovery_heading_thresh_deg", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--recovery_heading_thresh_deg", o.recovery_heading_thresh_deg,
                      "deg; ... and the heading error is below this")
           ->check(CLI::Range(0.0, 180.0))->capture_default_str()->group(g);
     }},
    {"--recovery_max_steps", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--recovery_max_steps", o.recovery_max_steps,
                      "a recovery that lasts this long ends the episode")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--goal_radius", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--goal_radius", o.goal_radius,
                      "m; inside this geodesic distance to the goal the expert never takes over")
           ->check(CLI::NonNegativeNumber)->capture_default_str()->group(g);
     }},
    {"--goal_grace_steps", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--goal_grace_steps", o.goal_grace_steps,
                      "steps allowed inside the goal zone before the stop counter starts")
           ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
     }},
    {"--goal_stop_patience", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--goal_stop_patience", o.goal_stop_patience,
                      "then this many steps without STOP force a STOP; 0 disables")
           ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
     }},
    {"--recovery_mode", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--recovery_mode", o.recovery_mode,
                      "takeover: the expert drives inline; rollback: restore to the last passed "
                      "waypoint and demonstrate to the goal (SFT data only)")
           ->transform(enumMap<RecoveryMode>({{"takeover", RecoveryMode::Takeover},
                                              {"rollback", RecoveryMode::Rollback}}))
           ->default_str(recoveryModeName(o.recovery_mode))->group(g);
     }},
    {"--follower", kRecovery, [](App& app, Opts& o, Group& g) {
       addFollowerFlag(app, o.follower, g.c_str());
     }},
    {"--greedy_probe", kRecovery, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--greedy_probe", o.greedy_probe,
                 "extension (the BudVLN paper's method): per episode the greedy member rolls "
                 "out first; if it is not rolled back the others sample without intervention "
                 "and the group trains by GRPO, else the probe alone is kept and its "
                 "demonstration trains (needs --recovery_mode rollback; one process)")
           ->group(g);
     }},
    {"--rollback_on_premature_stop", kRecovery, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--rollback_on_premature_stop", o.rollback_on_premature_stop,
                 "extension (BudVLN): a STOP the policy calls outside the goal zone is not "
                 "executed; its trajectory is cut and the expert demonstrates from the rollback "
                 "pose, as an off-track rollback")
           ->group(g);
     }},
    {"--goal_zone_timeout", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--goal_zone_timeout", o.goal_zone_timeout_rollback,
                      "extension: what the goal-zone patience does when it runs out. force_stop "
                      "(the guide): the expert executes STOP after grace + patience zone steps; "
                      "rollback (BudVLN): the trajectory is cut at zone step grace + patience "
                      "(the 12th with 7 and 5), the zone counter restarting whenever the agent "
                      "leaves, and the expert demonstrates")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"force_stop", false}, {"rollback", true}}))
           ->default_str(o.goal_zone_timeout_rollback ? "rollback" : "force_stop")->group(g);
     }},
    {"--stuck_enable", kRecovery, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--stuck_enable", o.stuck_enable,
                 "extension (BudVLN): cut and demonstrate after --stuck_patience steps outside "
                 "the goal zone with the same nearest reference waypoint")
           ->group(g);
     }},
    {"--stuck_patience", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--stuck_patience", o.stuck_patience,
                      "steps at one nearest waypoint before --stuck_enable cuts")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--stuck_motion_steps", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--stuck_motion_steps", o.stuck_motion_steps,
                      "extension, --recovery_mode rollback: cut a policy that moved less than "
                      "0.25 m over this many steps outside the goal zone (0: never)")
           ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
     }},
    {"--rollback_pose", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--rollback_pose", o.rollback_to_own_pose,
                      "extension: where a rollback restarts. waypoint: the last reference "
                      "waypoint passed, facing the next; own (BudVLN): the agent's own pose when "
                      "its nearest waypoint last changed (else the episode's start)")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"waypoint", false}, {"own", true}}))
           ->default_str(o.rollback_to_own_pose ? "own" : "waypoint")->group(g);
     }},
    {"--rollback_demo", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--rollback_demo", o.rollback_demo_towards_goal,
                      "extension: the rollback demonstration's route. waypoints: the expert "
                      "along the reference path; goal (BudVLN): the shortest path straight to "
                      "the goal")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"waypoints", false}, {"goal", true}}))
           ->default_str(o.rollback_demo_towards_goal ? "goal" : "waypoints")->group(g);
     }},
    {"--oracle_goal_radius", kRecovery, [](App& app, Opts& o, Group& g) {
       app.add_option("--oracle_goal_radius", o.oracle_goal_radius,
                      "m; the rollback demonstration's STOP radius around the goal (BudVLN: 1.0)")
           ->check(CLI::Range(0.01, 100.0))->capture_default_str()->group(g);
     }},
    {"--greedy_first_sample", kRecovery, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--greedy_first_sample", o.greedy_first_sample,
                 "trajectory 0 of each group is decoded greedily (an anchor)")->group(g);
     }},
  };
}

std::vector<Setting> grpoSettings() {
  return {
    {"--num_updates", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--num_updates", o.num_updates, "training updates")
           ->check(CLI::Range(1, 100000000))->capture_default_str()->group(g);
     }},
    {"--num_episodes_per_update", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--num_episodes_per_update,--episodes_per_update", o.num_episodes_per_update,
                      "distinct episodes (instructions) per update")
           ->check(CLI::Range(1, 1000000))->capture_default_str()->group(g);
     }},
    {"--group_size", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--group_size", o.group_size,
                      "trajectories per instruction; A_i = (R_i - mean R)/(std R + 1e-6). With 1 "
                      "there is no group: A = R - b, b a running mean of returns")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--learning_rate", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--learning_rate", o.learning_rate, "AdamW learning rate")
           ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
     }},
    {"--ppo_epochs", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--ppo_epochs", o.ppo_epochs, "optimisation passes over each update's data")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--mini_batch_size", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--mini_batch_size", o.mini_batch_size, "trajectories per gradient step")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--mini_batch_unit", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--mini_batch_unit", o.step_mini_batches,
                      "extension: what --mini_batch_size counts. trajectories: the guide's; steps "
                      "(BudVLN): min(12, size) policy steps of one episode's group per optimizer "
                      "step, token-mean surrogate, SFT on as many drawn labels, 2 drawn "
                      "demonstration steps (one process only)")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"trajectories", false}, {"steps", true}}))
           ->default_str(o.step_mini_batches ? "steps" : "trajectories")->group(g);
     }},
    {"--update_mode", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--update_mode", o.two_phase_update,
                      "extension: single = one pass (the demonstrations train as --demo_loss "
                      "says); two_phase (BudVLN's streamvln_sft_train.py) = the GRPO pass without "
                      "the rollback demonstrations, then a pass over them alone in batches of 4 "
                      "steps of one episode, an optimizer step each, loss mean(w) mean(CE) with "
                      "the decay weights of --sft_loss_start_weight (--demo_loss then has no "
                      "effect; needs --recovery_mode rollback; one process)")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"single", false}, {"two_phase", true}}))
           ->default_str(o.two_phase_update ? "two_phase" : "single")->group(g);
     }},
    {"--max_grad_norm", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--max_grad_norm", o.max_grad_norm, "global gradient-norm clip")
           ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
     }},
    {"--kl_coef", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--kl_coef", o.kl_coef, "KL penalty to the adapter-free base model")
           ->check(CLI::NonNegativeNumber)->capture_default_str()->group(g);
     }},
    {"--loss_agg_mode", kGrpo, [](App& app, Opts& o, Group& g) {
       CLI::Option* agg =
           app.add_option(
                  "--loss_agg_mode", o.loss_agg_mode,
                  "extension: how the surrogate averages over tokens. seq-mean-token-sum-norm: "
                  "each trajectory's token sum / the episode cap, then the mean over trajectories "
                  "(Dr. GRPO, no length bias); seq-mean-token-mean: GRPO as published (short "
                  "trajectories' tokens weigh more); token-mean: one mean over a mini-batch's "
                  "tokens")
               ->transform(enumMap<LossAggMode>(
                   {{"token-mean", LossAggMode::TokenMean},
                    {"seq-mean-token-mean", LossAggMode::SeqMeanTokenMean},
                    {"seq-mean-token-sum-norm", LossAggMode::SeqMeanTokenSumNorm}}))
               ->default_str(lossAggModeName(o.loss_agg_mode))->group(g);
       app.add_option("--grpo_loss_mean", o.loss_agg_mode,
                      "extension, older spelling of --loss_agg_mode: sequence = "
                      "seq-mean-token-mean, token = token-mean")
           ->transform(enumMap<LossAggMode>({{"sequence", LossAggMode::SeqMeanTokenMean},
                                             {"token", LossAggMode::TokenMean}}))
           ->excludes(agg)->group(g);
     }},
    {"--forced_stop_penalty", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--forced_stop_penalty", o.forced_stop_penalty,
                      "extension: phase1_stop penalty for a STOP forced by the goal-zone patience "
                      "(scored like a never-called STOP; 0: the distance term alone)")
           ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
     }},
    {"--false_stop_penalty", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--false_stop_penalty", o.false_stop_penalty,
                      "extension: phase1_stop penalty for a STOP called beyond the success distance")
           ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
     }},
    {"--lr_warmup_updates", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--lr_warmup_updates", o.lr_warmup_updates,
                      "extension: the learning rate rises linearly from lr/(W+1) to lr over the "
                      "first W updates")
           ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
     }},
    {"--entropy_coef", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--entropy_coef", o.entropy_coef,
                      "extension: entropy bonus, L -= c H over the policy tokens' action "
                      "distribution (aggregated like the surrogate; BudVLN: 0.02)")
           ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
     }},
    {"--weight_decay", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--weight_decay", o.weight_decay,
                      "extension: AdamW weight decay (BudVLN: 0.01)")
           ->check(CLI::Range(0.0, 10.0))->capture_default_str()->group(g);
     }},
    {"--advantage_std", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--advantage_std", o.advantage_std,
                      "extension: sample = (R - mean)/(Bessel std + 1e-6); population = (R - "
                      "mean)/np.std (BudVLN; a group of 2 gives +-1; std < 1e-8: no division); none = R - "
                      "mean (Dr. GRPO: a group whose returns barely differ gets a small step)")
           ->transform(enumMap<AdvantageStd>({{"sample", AdvantageStd::Sample},
                                              {"population", AdvantageStd::Population},
                                              {"none", AdvantageStd::None}}))
           ->default_str(advantageStdName(o.advantage_std))->group(g);
     }},
    {"--spread_advantages", kGrpo, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--spread_advantages", o.spread_advantages,
                 "extension (BudVLN): each of trajectory i's T_i policy tokens gets A_i/T_i, then "
                 "all policy tokens of the update are z-scored, (a - mean)/(Bessel std + 1e-8)")
           ->group(g);
     }},
    {"--zero_old_logprob", kGrpo, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--zero_old_logprob", o.zero_old_logprob,
                 "extension, a reproduction of BudVLN's placeholder old log-prob 0: the ratio is "
                 "pi(a|s), not pi/pi_old (for A < 0 and pi < 0.8 the clipped branch has no "
                 "gradient)")
           ->group(g);
     }},
    {"--disable_grpo_loss", kGrpo, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--disable_grpo_loss", o.disable_grpo_loss,
                 "extension (BudVLN's debugging switch): no clipped surrogate, entropy or KL "
                 "term; the SFT terms alone train")
           ->group(g);
     }},
    {"--sft_only", kGrpo, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--sft_only", o.sft_only,
                 "extension (BudVLN): SFT on the expert's steps and rollback demonstrations "
                 "alone (weighted mean, coefficient 1, expert steps weigh 2), no surrogate; an "
                 "update without any is rolled out again with the next episodes")
           ->group(g);
     }},
    {"--sft_on_failures", kGrpo, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--sft_on_failures", o.sft_on_failures,
                 "extension (BudVLN's streamvln_sft_only_train.py): each episode rolled out once, "
                 "greedily; only the rollback demonstrations of the episodes it failed train, "
                 "in segments of 32 steps, loss mean(w) mean(CE); no GRPO, and an update "
                 "without failures takes no step (needs --recovery_mode rollback, --group_size "
                 "1; one process)")
           ->group(g);
     }},
    {"--gradient_accumulation_steps", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--gradient_accumulation_steps", o.gradient_accumulation_steps,
                      "extension, with --sft_on_failures: segments whose gradients add up "
                      "(each loss / N) before an optimizer step; the update's last step takes "
                      "what is left")
           ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
     }},
    {"--demo_loss", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--demo_loss", o.demo_loss_separate,
                      "extension: where rollback demonstrations train. sft: expert steps of the "
                      "SFT term (weight 2, x w(u), hybrid only); separate (BudVLN): their own "
                      "term, coefficient 1, step j of n weighted s (1/s)^(j/(n-1)) with s = "
                      "--sft_loss_start_weight, also without hybrid training")
           ->transform(CLI::CheckedTransformer(
               std::map<std::string, bool>{{"sft", false}, {"separate", true}}))
           ->default_str(o.demo_loss_separate ? "separate" : "sft")->group(g);
     }},
    {"--checkpoint_naming", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--checkpoint_naming", o.checkpoint_naming,
                      "extension: streamvln = checkpoint-<u> at every save; budvln = BudVLN's "
                      "checkpoint_<u> every --save_every updates and checkpoint_final at the end "
                      "(latest points at the newest either way)")
           ->transform(enumMap<CheckpointNaming>({{"streamvln", CheckpointNaming::Streamvln},
                                                  {"budvln", CheckpointNaming::Budvln}}))
           ->default_str(checkpointNamingName(o.checkpoint_naming))->group(g);
     }},
    {"--eval_every", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--eval_every", o.eval_every,
                      "extension: every K updates evaluate greedily on --eval_split and keep the "
                      "best adapter (SR, then SPL) in OUTPUT/best (0: never)")
           ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
     }},
    {"--eval_split", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--eval_split", o.eval_split,
                      "extension: the validation split of --eval_every")
           ->capture_default_str()->group(g);
     }},
    {"--eval_episodes", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--eval_episodes", o.eval_episodes,
                      "extension: episodes of --eval_split per validation (0: all)")
           ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
     }},
    {"--best_margin", kGrpo, [](App& app, Opts& o, Group& g) {
       app.add_option("--best_margin", o.best_margin,
                      "extension: a validation replaces OUTPUT/best only when its successes "
                      "gained g and lost l against the best, paired by episode, give g - l >= "
                      "Z sqrt(g + l) and g > l (0: any higher SR, then SPL)")
           ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
     }},
  };
}

std::vector<Setting> tdrSettings() {
  return {
    {"--use_tdr", kTdr, [](App& app, Opts& o, Group& g) {
       auto* on = addSwitch(app, "--use_tdr", o.use_tdr,
                            "extension (BudVLN, on there by default): R += tdr_weight * sum_t "
                            "tdr_gamma^t [a_t = expert label_t] over the policy's steps")
                      ->group(g);
       auto* off = app.add_flag_callback("--no_tdr", [&o] { o.use_tdr = false; },
                                         "no step-matching bonus" + isDefault(!o.use_tdr))
                       ->group(g);
       on->excludes(off);
     }},
    {"--tdr_weight", kTdr, [](App& app, Opts& o, Group& g) {
       app.add_option("--tdr_weight", o.tdr_weight, "TDR weight per matching step")
           ->check(CLI::Range(0.0, 100.0))->capture_default_str()->group(g);
     }},
    {"--tdr_gamma", kTdr, [](App& app, Opts& o, Group& g) {
       app.add_option("--tdr_gamma", o.tdr_gamma, "TDR discount per policy step")
           ->check(CLI::Range(0.0, 1.0))->capture_default_str()->group(g);
     }},
    {"--tdr_strict_mode", kTdr, [](App& app, Opts& o, Group& g) {
       auto* strict = app.add_flag_callback(
           "--tdr_strict_mode", [&o] { o.tdr_strict = true; },
           "the TDR sum stops at the first mismatch" + isDefault(o.tdr_strict))->group(g);
       auto* loose = app.add_flag_callback(
           "--tdr_no_strict_mode", [&o] { o.tdr_strict = false; },
           "every matching step counts" + isDefault(!o.tdr_strict))->group(g);
       strict->excludes(loose);
     }},
  };
}

std::vector<Setting> loggingAndScaleSettings() {
  return {
    {"--use_wandb", kLogging, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--use_wandb", o.use_wandb, "log to Weights & Biases")->group(g);
     }},
    {"--wandb_project", kLogging, [](App& app, Opts& o, Group& g) {
       app.add_option("--wandb_project", o.wandb_project, "project name")
           ->capture_default_str()->group(g);
     }},
    {"--wandb_entity", kLogging, [](App& app, Opts& o, Group& g) {
       app.add_option("--wandb_entity", o.wandb_entity,
                      "W&B user or team (extension; default WANDB_ENTITY, else the account's)")
           ->group(g);
     }},
    {"--wandb_run_name", kLogging, [](App& app, Opts& o, Group& g) {
       app.add_option("--wandb_run_name", o.wandb_run_name,
                      "run name (generated with a timestamp when omitted)")->group(g);
     }},
    {"--use_deepspeed", kScale, [](App& app, Opts& o, Group& g) {
       addSwitch(app, "--use_deepspeed", o.use_deepspeed,
                 "data-parallel training across processes/GPUs")->group(g);
     }},
    {"--deepspeed_config", kScale, [](App& app, Opts& o, Group& g) {
       app.add_option("--deepspeed_config", o.deepspeed_config,
                      "DeepSpeed JSON: micro batch, accumulation, clipping, bf16, ZeRO 0-2")
           ->check(CLI::ExistingFile)->group(g);
     }},
  };
}

// Every setting, in `train --help` order.
const std::vector<Setting>& allSettings() {
  static const std::vector<Setting> all = [] {
    std::vector<Setting> v;
    for (auto make : {basicSettings, hybridSettings, recoverySettings, grpoSettings, tdrSettings,
                      loggingAndScaleSettings}) {
      const std::vector<Setting> part = make();
      v.insert(v.end(), part.begin(), part.end());
    }
    return v;
  }();
  return all;
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

CLI::Option* addFollowerFlag(CLI::App& app, FollowerRule& f, const char* group) {
  auto* opt = app.add_option("--follower", f,
                             "the expert's shortest-path follower: heading = turn within half a "
                             "turn step of the path, STOP at <= its radius; vlnce = VLN-CE's "
                             "ShortestPathFollowerCompat (forward within a whole turn step); "
                             "habitat = habitat-sim 0.2.4's greedy geodesic follower "
                             "(simulated turn-then-forward options, STOP at < its radius)")
                  ->transform(enumMap<FollowerRule>({{"heading", FollowerRule::Heading},
                                                     {"vlnce", FollowerRule::VlnCe},
                                                     {"habitat", FollowerRule::Habitat}}))
                  ->default_str(followerRuleName(f));
  return group ? opt->group(group) : opt;
}

void addTemperatureFlag(CLI::App& app, double& temperature, const char* group) {
  app.add_option("--temperature,--sampling_temperature", temperature,
                 "sampling temperature of the non-greedy rollouts (with "
                 "--greedy_first_sample, members 1..G-1) and of their recomputed log-probs")
      ->check(CLI::Range(0.05, 10.0))->capture_default_str()->group(group);
}

CLI::Option* addLoraRankFlag(CLI::App& app, int64_t& r, const char* group) {
  auto* opt = app.add_option("--lora_r", r, "LoRA rank")
                  ->check(CLI::Range(1, 4096))->capture_default_str();
  return group ? opt->group(group) : opt;
}

void addTrainFlag(CLI::App& app, TrainOptions& o, const std::string& flag, const char* group) {
  for (const Setting& s : allSettings())
    if (flag == s.flag) return s.add(app, o, group ? group : s.group);
  throw std::invalid_argument("addTrainFlag: " + flag + " is not a trainer setting");
}

void addTrainFlags(CLI::App& app, TrainOptions& o) {
  for (const Setting& s : allSettings()) s.add(app, o, s.group);
}

}  // namespace svln::io
