// `streamvln train`: the hybrid GRPO + SFT trainer. Flags: shared/spec/trainer-flags.md
// (io/train_flags.h) plus the run's own: checkpoints, resume, seed, sampling temperature.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/dist_env.h"
#include "cli/wandb_env.h"
#include "io/train_flags.h"
#include "io/train_presets.h"
#include "rl/policy.h"
#include "rl/trainer.h"

namespace svln::cli {
namespace {

const RegisterCommand kRegister(
    "train", "hybrid GRPO + SFT training of a StreamVLN checkpoint with expert recovery",
    [](CLI::App& app) {
      auto cfg = std::make_shared<rl::TrainerConfig>();
      auto preset = std::make_shared<std::string>();
      auto print_config = std::make_shared<bool>(false);
      io::addTrainFlags(app, cfg->options);
      const std::string g = "Run";
      io::addPresetFlag(app, *preset);
      app.get_option("--preset")->group(g);
      app.add_flag("--print_config", *print_config,
                   "print the resolved settings (preset, overrides, final values) and exit")
          ->group(g);
      app.add_option("--save_every", cfg->save_every,
                     "updates between checkpoints (one is always written at the end)")
          ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
      auto* resume =
          app.add_flag("--resume", cfg->resume,
                       "continue from <output_path>/latest (same metrics as an uninterrupted run)")
              ->group(g);
      app.add_option("--resume_from", cfg->resume_from,
                     "continue from this checkpoint directory (BudVLN's spelling; --resume takes "
                     "<output_path>/latest)")
          ->check(CLI::ExistingDirectory)->excludes(resume)->group(g);
      app.add_option("--seed", cfg->seed, "rollout, adapter-init and torch seed")
          ->capture_default_str()->group(g);
      io::addTemperatureFlag(app, cfg->temperature, g.c_str());
      io::addLoraRankFlag(app, cfg->lora.r, g.c_str());
      app.add_option("--lora_alpha", cfg->lora.alpha, "LoRA alpha (scaling = alpha / r)")
          ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
      app.add_option("--device", cfg->device,
                     "extension: auto (this rank's GPU when libtorch sees one), cpu, cuda or "
                     "cuda:N; bf16 base weights and fp32 adapters on a GPU")
          ->capture_default_str()->group(g);
      app.add_option("--precision", cfg->precision, rl::kPrecisionHelp)
          ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
          ->capture_default_str()->group(g);
      app.add_option("--gradient_checkpointing", cfg->gradient_checkpointing,
                     "recompute decoder layers in backward instead of keeping activations "
                     "(true/false)")
          ->capture_default_str()->group(g);
      app.add_option("--num_threads", cfg->num_threads, "simulator threads (0: all cores)")
          ->check(CLI::Range(0, 1024))->capture_default_str()->group(g);
      app.add_option("--max_episode_steps", cfg->max_episode_steps,
                     "cap on episode length (0: the Habitat config's)")
          ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
      app.add_option("--visuals_every", cfg->visuals_every,
                     "extension: every K updates draw maps + videos of the update's rollouts "
                     "into <output_path>/visuals/update-<u>/ and refresh report.html (0: off)")
          ->check(CLI::Range(0, 100000000))->capture_default_str()->group(g);
      app.add_option("--visuals_episodes", cfg->visuals_episodes,
                     "extension: trajectories drawn each time (--visuals_every)")
          ->check(CLI::Range(1, 1000))->capture_default_str()->group(g);
      app.footer(
          "Advantages: A_i = (R_i - mean R) / (std R + 1e-6) within each group; with "
          "--group_size 1 there is no group and A = R - b, b the running mean of all earlier "
          "returns (saved in checkpoints).");
      return [cfg, preset, print_config, &app] {
        cfg->preset = io::applyTrainPreset(app, *preset);
        if (*print_config) {
          cfg->options.validate();
          std::cout << rl::describeConfig(*cfg) << std::endl;
          return 0;
        }
        cfg->wandb_env = wandbEnvironment();
        cfg->command_args = commandArguments();
        cfg->dist = rl::parseDistEnv(distEnvironment());
        const rl::TrainResult r = rl::runTraining(*cfg);
        spdlog::info("train: {} updates, last checkpoint {}", r.updates_done, r.last_checkpoint);
        return 0;
      };
    });

}  // namespace
}  // namespace svln::cli
