// Registers the trainer's flags (shared/spec/trainer-flags.md) on a CLI11 app, grouped as
// the spec groups them, with its spellings, types, defaults and ranges. Each setting's flags
// are declared once, in train_flags.cpp; `streamvln train` registers all of them, the demo's
// pipeline (cli/pipeline.h) the ones it exposes, with its own defaults.
#pragma once

#include <cstdint>
#include <string>

#include "io/train_options.h"
#include "sim/measures.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace svln::io {

void addTrainFlags(CLI::App& app, TrainOptions& o);
// The flags of one setting, named by its main spelling ("--group_size"): every spelling,
// help text and range check as `train` has them; --help shows o's value now as the default.
// In help group `group` (null: train's). Throws std::invalid_argument for another name.
void addTrainFlag(CLI::App& app, TrainOptions& o, const std::string& flag,
                  const char* group = nullptr);
// --ndtw_reference gt|reference_path (sim::NdtwReference), for every command that measures.
void addNdtwReferenceFlag(CLI::App& app, sim::NdtwReference& r, const char* group = nullptr);
// --path_search_limits habitat|unlimited (sim::PathSearchLimits): habitat = true.
void addPathSearchLimitsFlag(CLI::App& app, bool& habitat, const char* group = nullptr);
// --follower heading|vlnce|habitat: the expert's follower (train, sft, expert, gen-data).
CLI::Option* addFollowerFlag(CLI::App& app, FollowerRule& f, const char* group = nullptr);
// --temperature (--sampling_temperature): rl::TrainerConfig::temperature. [Limit: 0.05-10]
void addTemperatureFlag(CLI::App& app, double& temperature, const char* group);
// --lora_r: the rank of LoRA adapters (model::LoraConfig::r). [Limit: 1-4096]
CLI::Option* addLoraRankFlag(CLI::App& app, int64_t& r, const char* group = nullptr);

}  // namespace svln::io
