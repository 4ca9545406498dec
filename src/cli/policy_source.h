// What the commands that run a saved policy over a split share (`eval`, `dagger`): the
// checkpoint and optional PEFT adapter, the device and precision it loads on, and the
// Habitat config it runs in with an optional episode cap. One declaration of their flags.
#pragma once

#include <string>

#include "rl/policy.h"
#include "sim/habitat_config.h"

namespace CLI {
class App;
}

namespace svln::cli {

struct PolicySource {
  std::string model_path;
  std::string adapter;  // empty: none
  std::string device = "auto";
  std::string precision = "auto";
  std::string config;         // --habitat_config_path
  int max_episode_steps = 0;  // 0: the config's
};

// --model_path, --adapter, --habitat_config_path, --max_episode_steps, --device, --precision.
void addPolicySourceFlags(CLI::App& app, PolicySource& s);
// The config with the episode cap applied.
sim::HabitatConfig loadSourceConfig(const PolicySource& s);
rl::Policy loadSourcePolicy(const PolicySource& s);

}  // namespace svln::cli
