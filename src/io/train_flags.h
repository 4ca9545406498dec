// Registers the trainer's flags (shared/spec/trainer-flags.md) on a CLI11 app, grouped as
// the spec groups them, with its spellings, types, defaults and ranges.
#pragma once

#include "io/train_options.h"
#include "sim/measures.h"

namespace CLI {
class App;
}

namespace svln::io {

void addTrainFlags(CLI::App& app, TrainOptions& o);
// --ndtw_reference gt|reference_path (sim::NdtwReference), for every command that measures.
void addNdtwReferenceFlag(CLI::App& app, sim::NdtwReference& r, const char* group = nullptr);
// --path_search_limits habitat|unlimited (sim::PathSearchLimits): habitat = true.
void addPathSearchLimitsFlag(CLI::App& app, bool& habitat, const char* group = nullptr);

}  // namespace svln::io
