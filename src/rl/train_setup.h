// Small pieces train, sft and the demo share: a fresh StreamVLN checkpoint directory and
// the trainer's intervention flags in the expert layer's terms.
#pragma once

#include <cstdint>
#include <string>

#include "expert/intervention.h"
#include "io/train_options.h"

namespace svln::rl {

// Writes a random-weight StreamVLN of a named size ("tiny", "small") and a synthetic
// tokenizer of its vocabulary into `dir` (config.json, model.safetensors, tokenizer files):
// a directory every --model_path accepts.
void initStreamVLNCheckpoint(const std::string& dir, const std::string& size, uint64_t seed);

// The trainer's intervention flags as expert::Intervention takes them.
expert::InterventionConfig interventionConfig(const io::TrainOptions& o);
// --follower's value in the expert layer's terms.
expert::FollowerRule expertFollowerRule(io::FollowerRule f);

}  // namespace svln::rl
