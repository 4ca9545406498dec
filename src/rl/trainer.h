// `streamvln train`: the hybrid GRPO + SFT loop (shared/spec/trainer-flags.md).
//
//   load StreamVLN + tokenizer ─► LoRA (or the adapter of --resume's checkpoint)
//   per update u:
//     episodes (seeded, cycling cursor over the train split)
//       ─► RolloutEngine::run (E x G envs, sampling, expert intervention)
//       ─► per-step rewards of the phase ─► returns
//       ─► advantages (group-relative; running baseline when G = 1)
//       ─► PolicyUpdater (GRPO + w(u) SFT [+ KL], AdamW, grad clip, NaN guard)
//          [--update_mode two_phase: then the rollback demonstrations' own pass;
//           --sft_on_failures: greedy rollouts, that pass alone on the failed episodes]
//       ─► metrics.jsonl / training.log / TensorBoard / W&B (rank 0), progress bar
//       ─► every visuals_every updates: visuals/update-<u>/ maps + videos, report.html
//       ─► every save_every updates and at the end: checkpoint-<u>/ + latest
//   data parallel (WORLD_SIZE > 1): each rank rolls out its shard of the episodes; the
//   updater sums token counts, losses and gradients over ranks (rl/update.h)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/train_options.h"
#include "io/train_presets.h"
#include "model/lora.h"
#include "rl/distributed.h"

namespace svln::rl {

struct TrainerConfig {
  io::TrainOptions options;
  io::PresetResolution preset;  // what --preset set and what the command line overrode
  int save_every = 50;        // updates between checkpoints (and one at the end)
  bool resume = false;        // continue from <output_path>/latest
  // Continue from this checkpoint directory instead (BudVLN's --resume_from DIR; any
  // checkpoint of this trainer, e.g. another run's checkpoint_<u>). Excludes `resume`.
  std::string resume_from;
  uint64_t seed = 0;          // rollouts, episode order, adapter init
  double temperature = 1.0;   // rollout sampling temperature
  int num_threads = 0;        // simulator threads (0: hardware concurrency)
  int max_episode_steps = 0;  // 0: the Habitat config's
  // Extension: where the policy trains (rl::deviceLoadOptions: auto = this rank's GPU when
  // there is one; bf16 base weights there, fp32 on the CPU), and layer recomputation in
  // backward (the spec's default: on).
  std::string device = "auto";
  std::string precision = "auto";  // rl::deviceLoadOptions
  bool gradient_checkpointing = true;
  // Extension (not in the spec): every visuals_every updates (0: never) rank 0 draws the
  // top-down maps and videos of visuals_episodes of that update's rollouts into
  // <output_path>/visuals/update-<u>/ and rewrites report.html.
  int visuals_every = 0;
  int visuals_episodes = 2;
  bool tensorboard = true;
  bool progress = true;
  // The WANDB_* variables (io/wandb_run.h) and the command line, for --use_wandb; the CLI
  // fills them from the process environment.
  std::map<std::string, std::string> wandb_env;
  // Where this process sits in a data-parallel job (rl/parseDistEnv of RANK, WORLD_SIZE,
  // ... or SLURM's variables); world_size 1 trains alone.
  DistEnv dist;
  std::vector<std::string> command_args;
  model::LoraConfig lora = [] {
    model::LoraConfig l;  // r 32, alpha 64, q_proj/v_proj (spec); dropout off: the
    l.dropout = 0.0;      // recomputed log-probs must equal the rollout's at ratio 1
    return l;
  }();
};

struct TrainResult {
  int64_t updates_done = 0;
  std::map<std::string, double> last_metrics;
  std::string last_checkpoint;
};

// <output>/best: the adapter with the best validation SR (then SPL) under --eval_every, with
// best.json (its update and figures); "" when the run kept none.
std::string bestCheckpoint(const std::string& output_dir);

// Runs the whole loop; throws std::runtime_error (one line) on bad input or after three
// NaN/Inf updates in a row.
TrainResult runTraining(const TrainerConfig& config);

// The training.log header, --print_config's text and the W&B config: the preset and its
// overrides, every option's value and the reward constants.
std::string describeConfig(const TrainerConfig& config);

}  // namespace svln::rl
