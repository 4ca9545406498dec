#include "cli/policy_source.h"

#include <CLI/CLI.hpp>

namespace svln::cli {

void addPolicySourceFlags(CLI::App& app, PolicySource& s) {
  app.add_option("--model_path", s.model_path, "StreamVLN checkpoint directory")->required();
  app.add_option("--adapter", s.adapter, "PEFT LoRA adapter directory (optional)");
  app.add_option("--habitat_config_path", s.config, "Habitat-style YAML config")->required();
  app.add_option("--max_episode_steps", s.max_episode_steps,
                 "episode cap (0: the config's; the demo evaluates with 100)")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--device", s.device,
                 "auto (this machine's GPU when libtorch sees one), cpu, cuda or cuda:N; "
                 "bf16 weights on a GPU")
      ->capture_default_str();
  app.add_option("--precision", s.precision, rl::kPrecisionHelp)
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))->capture_default_str();
}

sim::HabitatConfig loadSourceConfig(const PolicySource& s) {
  sim::HabitatConfig cfg = sim::loadHabitatConfig(s.config);
  if (s.max_episode_steps > 0) cfg.max_episode_steps = s.max_episode_steps;
  return cfg;
}

rl::Policy loadSourcePolicy(const PolicySource& s) {
  return rl::loadPolicy(s.model_path, s.adapter, rl::deviceLoadOptions(s.device, 0, s.precision));
}

}  // namespace svln::cli
