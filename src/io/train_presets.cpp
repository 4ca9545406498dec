#include "io/train_presets.h"

#include <CLI/CLI.hpp>

#include <stdexcept>

namespace svln::io {
namespace {

// Today's defaults written out (shared/spec/trainer-flags.md and the run flags): the
// CLI test checks that `--preset seed-guide` prints the same configuration as no preset.
TrainPreset seedGuide() {
  return {"seed-guide",
          "the guide's trainer (shared/spec/trainer-flags.md): takeover, forced STOP; today's "
          "defaults",
          {
              {"--phase", "phase1_stop"},
              {"--rewards", "guide"},
              {"--reward_spl_accident", "true"},
              {"--reward_collision_accident", "true"},
              {"--fixed_phrase", "false"},
              {"--path_search_limits", "habitat"},
              {"--use_hybrid_training", "false"},
              {"--sft_loss_start_weight", "1.0"},
              {"--sft_loss_end_weight", "0.5"},
              {"--sft_loss_decay_updates", "200"},
              {"--sft_loss_decay_type", "cosine"},
              {"--sft_use_policy_steps", "true"},
              {"--sft_label_target", "goal"},
              {"--sft_loss_norm", "weights"},
              {"--enable_recovery", "true"},
              {"--offtrack_dist_thresh", "3.0"},
              {"--offtrack_heading_thresh_deg", "120"},
              {"--heading_guard_dist", "3.0"},
              {"--offtrack_patience", "8"},
              {"--lookahead_k", "1"},
              {"--recovery_dist_thresh", "2.0"},
              {"--recovery_heading_thresh_deg", "45"},
              {"--recovery_max_steps", "100"},
              {"--goal_radius", "3.0"},
              {"--goal_grace_steps", "7"},
              {"--goal_stop_patience", "5"},
              {"--recovery_mode", "takeover"},
              {"--greedy_first_sample", "false"},
              {"--greedy_probe", "false"},
              {"--rollback_on_premature_stop", "false"},
              {"--goal_zone_timeout", "force_stop"},
              {"--stuck_enable", "false"},
              {"--stuck_patience", "60"},
              {"--stuck_motion_steps", "30"},
              {"--rollback_pose", "waypoint"},
              {"--rollback_demo", "waypoints"},
              {"--oracle_goal_radius", "0.5"},
              {"--num_updates", "500"},
              {"--num_episodes_per_update", "1"},
              {"--group_size", "2"},
              {"--learning_rate", "5e-7"},
              {"--ppo_epochs", "1"},
              {"--mini_batch_size", "2"},
              {"--mini_batch_unit", "trajectories"},
              {"--update_mode", "single"},
              {"--max_grad_norm", "0.5"},
              {"--kl_coef", "0"},
              {"--loss_agg_mode", "seq-mean-token-sum-norm"},
              {"--forced_stop_penalty", "1.0"},
              {"--false_stop_penalty", "0.5"},
              {"--lr_warmup_updates", "0"},
              {"--entropy_coef", "0"},
              {"--weight_decay", "0"},
              {"--advantage_std", "sample"},
              {"--spread_advantages", "false"},
              {"--zero_old_logprob", "false"},
              {"--no_tdr", "true"},
              {"--tdr_weight", "0.2"},
              {"--tdr_gamma", "0.9"},
              {"--tdr_strict_mode", "true"},
              {"--wandb_project", "streamvln_hybrid"},
              {"--disable_grpo_loss", "false"},
              {"--sft_only", "false"},
              {"--sft_on_failures", "false"},
              {"--gradient_accumulation_steps", "1"},
              {"--demo_loss", "sft"},
              {"--checkpoint_naming", "streamvln"},
              {"--save_every", "50"},
              {"--temperature", "1.0"},
              {"--max_episode_steps", "0"},
              {"--lora_r", "32"},
              {"--lora_alpha", "64"},
          }};
}

// BudVLN's shipped run, scripts/train_hybrid.sh -> streamvln_grpo_train.py, as far as this
// trainer has the mechanisms (shared/spec/budvln-reference.md sections 1-2; H: = the script,
// G: = the trainer). docs/training.md lists what it does not reproduce yet.
TrainPreset budvln() {
  return {"budvln",
          "BudVLN's train_hybrid.sh as coded: rollback only, greedy sample 0, T 0.5, TDR, "
          "population-std advantages spread over steps, entropy 0.02, weight decay 0.01",
          {
              {"--phase", "phase1_stop"},               // H:21,30
              {"--rewards", "budvln"},                  // R:188-251
              {"--reward_spl_accident", "true"},        // R:312-334 (accidental)
              {"--reward_collision_accident", "true"},  // R:205 (accidental)
              {"--fixed_phrase", "true"},               // G:304-305,1858
              {"--use_hybrid_training", "true"},        // H:26-57
              {"--sft_loss_start_weight", "1.0"},       // H: SFT 1.0 -> 0.9 over 600, cosine
              {"--sft_loss_end_weight", "0.9"},
              {"--sft_loss_decay_updates", "600"},
              {"--sft_loss_decay_type", "cosine"},
              {"--sft_use_policy_steps", "true"},       // G:2076-2086
              {"--enable_recovery", "true"},
              {"--offtrack_dist_thresh", "3.0"},        // H: recovery 3.0 m / 120 deg / 8
              {"--offtrack_heading_thresh_deg", "120"},
              {"--heading_guard_dist", "3.0"},
              {"--offtrack_patience", "8"},
              {"--lookahead_k", "1"},
              {"--recovery_dist_thresh", "2.0"},        // H: exit 2.0 m, 45 deg, max 100
              {"--recovery_heading_thresh_deg", "45"},  // (unused by a rollback)
              {"--recovery_max_steps", "100"},
              {"--goal_radius", "3.0"},                 // H: goal radius 3, grace 7, patience 5
              {"--goal_grace_steps", "7"},
              {"--goal_stop_patience", "5"},
              {"--recovery_mode", "rollback"},          // G:831-1064: takeover is dead code
              {"--rollback_on_premature_stop", "true"}, // G:1299-1341
              {"--goal_zone_timeout", "rollback"},      // G:869-895,1252-1296: 12th zone step
              {"--stuck_enable", "false"},              // G:3137 argparse off; H: omits it
              {"--stuck_patience", "60"},               // G:3135
              {"--stuck_motion_steps", "0"},            // the reference has no motion rule
              {"--rollback_pose", "own"},               // G:902-916,1003-1011
              {"--rollback_demo", "goal"},              // G:1579-1752: follower to the goal
              {"--oracle_goal_radius", "1.0"},          // G:3125, 1744-1752
              {"--greedy_first_sample", "true"},        // G:689
              {"--greedy_probe", "false"},              // S:722-765 (--greedy_only_sft) off
              {"--sampling_temperature", "0.5"},        // G:1216-1217
              {"--max_episode_steps", "300"},           // G:153
              {"--num_updates", "500"},                 // H: 500 updates of E 1 x G 2
              {"--num_episodes_per_update", "1"},
              {"--group_size", "2"},
              {"--learning_rate", "5e-7"},
              {"--ppo_epochs", "1"},
              {"--mini_batch_size", "2"},
              {"--mini_batch_unit", "steps"},           // G:2131-2325: 2 steps per AdamW step
              {"--update_mode", "single"},              // G:2146-2325: one pass
              {"--max_grad_norm", "0.5"},               // G:2321-2324
              {"--kl_coef", "0"},                       // G:9-13: no KL, no reference model
              {"--loss_agg_mode", "token-mean"},        // G:2196-2203: mean over the batch's steps
              {"--entropy_coef", "0.02"},               // G:128,2206,2313
              {"--weight_decay", "0.01"},               // G:257-261
              {"--advantage_std", "population"},        // G:1992-1998
              {"--spread_advantages", "true"},          // G:2003-2008,2114-2116
              {"--zero_old_logprob", "true"},           // G:1366,2109-2112 (accidental)
              {"--use_tdr", "true"},                    // G:3141, on by default
              {"--tdr_weight", "0.2"},                  // G:1936-1963
              {"--tdr_gamma", "0.9"},
              {"--tdr_strict_mode", "true"},
              {"--disable_grpo_loss", "false"},         // G:146 (a debugging switch)
              {"--sft_only", "false"},                  // G:149
              {"--sft_on_failures", "false"},           // streamvln_sft_only_train.py's
              {"--gradient_accumulation_steps", "1"},   // none in G:
              {"--demo_loss", "separate"},              // G:1710-1739,2274-2316
              {"--save_every", "10"},                   // G:157
              {"--checkpoint_naming", "budvln"},        // G:613-626,3044: checkpoint_{N}, _final
              {"--lora_r", "32"},                       // G:3252-3259
              {"--lora_alpha", "64"},
              {"--wandb_project", "streamvln_hybrid"},  // H:39 (G:'s default: streamvln_grpo)
          }};
}

// The paper's method ("greedy probe -> GRPO if proficient, else rollback SFT", the project
// page's "Adaptive Mutual Exclusion"; in code streamvln_sft_train.py --greedy_only_sft, S:
// 722-765, 2336-2373): budvln's run with a greedy probe per episode, GRPO alone for a
// proficient probe's group and the demonstration alone for a failed probe, through that
// trainer's two-phase update (S: = streamvln_sft_train.py).
TrainPreset budvlnPaper() {
  TrainPreset p = budvln();
  p.name = "budvln-paper";
  p.summary =
      "the BudVLN paper's method: budvln's run with a greedy probe per episode, GRPO when it "
      "is not rolled back, its rollback demonstration alone (SFT) when it is, in a pass of "
      "its own after the GRPO pass (two-phase update)";
  auto set = [&p](const std::string& flag, const std::string& value) {
    for (PresetSetting& s : p.settings)
      if (s.flag == flag) {
        s.value = value;
        return;
      }
    p.settings.push_back({flag, value});
  };
  set("--greedy_probe", "true");            // S:722-765
  set("--use_hybrid_training", "false");    // mutual exclusion: no SFT term beside GRPO
  set("--demo_loss", "separate");           // the failed probe's demonstration trains
  set("--update_mode", "two_phase");        // S:2233-2718: GRPO pass, then demo pass of 4s
  set("--mini_batch_size", "4");            // S:2441: the GRPO pass's 4 steps per step
  set("--sampling_temperature", "0.5");     // S: passes --sampling_temperature to sampling
  return p;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// True when the command line gave `opt` or a flag that excludes it.
bool givenOnCommandLine(const CLI::Option& opt, std::string& given) {
  if (opt.count() > 0) {
    given = joined(opt.results());
    return true;
  }
  for (const CLI::Option* other : opt.get_excludes()) {
    if (other->count() > 0) {
      given = other->get_name() + (other->get_expected_min() > 0 ? " " + joined(other->results()) : "");
      return true;
    }
  }
  return false;
}

}  // namespace

const std::vector<TrainPreset>& trainPresets() {
  static const std::vector<TrainPreset> presets = {seedGuide(), budvln(), budvlnPaper()};
  return presets;
}

std::string PresetResolution::nameText() const { return name.empty() ? "none" : name; }

std::string PresetResolution::overridesText() const {
  if (overridden.empty()) return "none";
  std::string s;
  for (const Override& o : overridden)
    s += (s.empty() ? "" : ", ") + o.flag + " " + o.given_value + " (preset: " + o.preset_value + ")";
  return s;
}

void addPresetFlag(CLI::App& app, std::string& name) {
  std::vector<std::string> names;
  std::string help = "set many flags at once; flags given explicitly override it:";
  for (const TrainPreset& p : trainPresets()) {
    names.push_back(p.name);
    help += "\n  " + p.name + ": " + p.summary;
  }
  app.add_option("--preset", name, help)->check(CLI::IsMember(names));
}

PresetResolution applyTrainPreset(CLI::App& app, const std::string& name) {
  PresetResolution r;
  if (name.empty()) return r;
  const TrainPreset* preset = nullptr;
  for (const TrainPreset& p : trainPresets())
    if (p.name == name) preset = &p;
  if (!preset) throw std::runtime_error("--preset: unknown preset '" + name + "'");
  r.name = name;
  for (const PresetSetting& s : preset->settings) {
    CLI::Option* opt = app.get_option_no_throw(s.flag);
    if (!opt) throw std::runtime_error("--preset " + name + ": sets " + s.flag + ", which this command does not have");
    std::string given;
    if (givenOnCommandLine(*opt, given)) {
      r.overridden.push_back({s.flag, s.value, given});
      continue;
    }
    opt->add_result(s.value);
    try {
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw std::runtime_error("--preset " + name + ": " + s.flag + " " + s.value + ": " + e.what());
    }
    r.applied.push_back(s);
  }
  return r;
}

}  // namespace svln::io
