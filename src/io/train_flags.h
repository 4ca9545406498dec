// Registers the trainer's flags (shared/spec/trainer-flags.md) on a CLI11 app, grouped as
// the spec groups them, with its spellings, types, defaults and ranges.
#pragma once

#include "io/train_options.h"

namespace CLI {
class App;
}

namespace svln::io {

void addTrainFlags(CLI::App& app, TrainOptions& o);

}  // namespace svln::io
