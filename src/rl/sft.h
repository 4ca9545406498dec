// `streamvln sft`: supervised training on expert demonstrations generated on the fly.
//
//   train-split episodes ─► RolloutEngine (kExpertDemo: the expert answers every turn,
//   num_future_steps actions then <|im_end|>, StreamVLN's multi-turn format)
//   ─► windowLogits at every answer token ─► CE over the action alphabet
//      (STOP, ↑, ←, →, <|im_end|>) ─► AdamW on LoRA adapters or on every parameter
//   ─► output: a full StreamVLN checkpoint (LoRA merged) + tokenizer files, loadable by
//      train / eval as --model_path
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/train_options.h"
#include "model/lora.h"
#include "rl/rollout.h"
#include "sim/measures.h"

namespace svln::rl {

struct SftConfig {
  std::string model_path;
  std::string habitat_config_path;
  std::string output_path;
  std::string split = "train";
  int num_updates = 100;
  int episodes_per_update = 4;  // demonstrations per optimizer step
  double learning_rate = 1e-3;
  double max_grad_norm = 1.0;
  bool full = false;            // train every parameter instead of LoRA adapters
  std::string device = "auto";     // rl::deviceLoadOptions
  std::string precision = "auto";  // rl::deviceLoadOptions
  sim::NdtwReference ndtw_reference = sim::NdtwReference::kGt;  // --ndtw_reference
  bool habitat_path_limits = true;                                // --path_search_limits
  io::FollowerRule follower = io::FollowerRule::Heading;          // --follower: the expert's
  bool gradient_checkpointing = true;  // recompute decoder layers in backward
  model::LoraConfig lora = [] {
    model::LoraConfig l;
    l.dropout = 0.0;
    return l;
  }();
  uint64_t seed = 0;
  int num_threads = 0;          // simulator threads (0: hardware concurrency)
  int max_episode_steps = 0;    // 0: the Habitat config's
  bool progress = true;
};

struct SftResult {
  std::vector<double> losses;  // per update, mean CE per answer token
  std::string output_path;
};

// Mean cross-entropy over the alphabet of every answer token of `trajs` (with gradients).
// Returns an undefined tensor when there are no answer tokens.
torch::Tensor demonstrationLoss(model::StreamVLN& model, const model::ActionCodec& codec,
                                const std::vector<Trajectory>& trajs);

SftResult runSft(const SftConfig& config);

// Copies a checkpoint directory's tokenizer files (tokenizer.json, tokenizer_config.json,
// special_tokens_map.json, when present) into `dst`.
void copyTokenizerFiles(const std::string& src, const std::string& dst);

}  // namespace svln::rl
