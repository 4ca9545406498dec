// `streamvln sft`: supervised fine-tuning on expert demonstrations generated on the fly;
// writes a full checkpoint directory usable as --model_path by train and eval.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <memory>

#include "cli/command.h"
#include "io/train_flags.h"
#include "rl/policy.h"
#include "rl/sft.h"

namespace svln::cli {
namespace {

const RegisterCommand kRegister(
    "sft", "supervised training on expert demonstrations (LoRA merged, or full)",
    [](CLI::App& app) {
      auto c = std::make_shared<rl::SftConfig>();
      app.add_option("--model_path", c->model_path, "StreamVLN checkpoint directory")->required();
      app.add_option("--habitat_config_path", c->habitat_config_path, "Habitat-style YAML")->required();
      app.add_option("--output_path", c->output_path, "where the trained checkpoint goes")->required();
      app.add_option("--split", c->split, "split the demonstrations come from")->capture_default_str();
      app.add_option("--num_updates", c->num_updates, "optimizer steps")
          ->check(CLI::Range(1, 10000000))->capture_default_str();
      app.add_option("--episodes_per_update", c->episodes_per_update, "demonstrations per step")
          ->check(CLI::Range(1, 4096))->capture_default_str();
      app.add_option("--learning_rate", c->learning_rate, "AdamW learning rate")
          ->check(CLI::PositiveNumber)->capture_default_str();
      app.add_option("--max_grad_norm", c->max_grad_norm, "global gradient-norm clip")
          ->check(CLI::PositiveNumber)->capture_default_str();
      app.add_flag("--full", c->full, "train every parameter (default: LoRA adapters, merged at the end)");
      io::addLoraRankFlag(app, c->lora.r);
      app.add_option("--lora_alpha", c->lora.alpha, "LoRA alpha")->check(CLI::PositiveNumber)->capture_default_str();
      app.add_option("--seed", c->seed, "seed")->capture_default_str();
      app.add_option("--device", c->device,
                     "auto (this machine's GPU when libtorch sees one), cpu, cuda or cuda:N; "
                     "bf16 weights on a GPU")
          ->capture_default_str();
      io::addNdtwReferenceFlag(app, c->ndtw_reference);
      io::addPathSearchLimitsFlag(app, c->habitat_path_limits);
      io::addFollowerFlag(app, c->follower);
      app.add_option("--precision", c->precision, rl::kPrecisionHelp)
          ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
          ->capture_default_str();
      app.add_option("--gradient_checkpointing", c->gradient_checkpointing,
                     "recompute decoder layers in backward instead of keeping activations")
          ->capture_default_str();
      app.add_option("--num_threads", c->num_threads, "simulator threads (0: all cores)")
          ->check(CLI::Range(0, 1024))->capture_default_str();
      app.add_option("--max_episode_steps", c->max_episode_steps, "episode cap (0: the config's)")
          ->check(CLI::Range(0, 100000))->capture_default_str();
      return [c] {
        rl::runSft(*c);
        return 0;
      };
    });

}  // namespace
}  // namespace svln::cli
