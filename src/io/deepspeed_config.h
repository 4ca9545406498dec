// `--use_deepspeed --deepspeed_config FILE`: the subset of DeepSpeed's JSON we honour
// (StreamVLN/LLaVA's scripts/zero2.json reads as-is). Every other key is rejected by
// name, so a setting is never silently ignored.
//
//   train_batch_size = train_micro_batch_size_per_gpu * gradient_accumulation_steps * world
//
// "auto" takes the value the trainer's own flags give (DeepSpeedDefaults), as the HF
// Trainer does for DeepSpeed; train_batch_size "auto" is computed from the formula.
#pragma once

#include <string>

namespace svln::io {

// The values "auto" resolves to (the trainer's flags).
struct DeepSpeedDefaults {
  int micro_batch_per_gpu = 1;
  int gradient_accumulation_steps = 1;
  double gradient_clipping = 1.0;
  bool bf16 = false;
};

struct DeepSpeedConfig {
  int micro_batch_per_gpu = 1;
  int gradient_accumulation_steps = 1;
  int train_batch_size = 1;        // = micro * accumulation * world_size
  double gradient_clipping = 0.0;  // max global grad norm; 0 = no clipping
  bool bf16 = false;
  int zero_stage = 0;                // 0: replicated AdamW; 1-2: rl::ShardedAdamW
  long long reduce_bucket_size = 0;  // bytes per gradient all-reduce bucket; 0 = default
};

// Throws std::runtime_error("<path>: <problem>") for a missing/unparsable file, an unknown
// key (named with its JSON path, e.g. "zero_optimization.offload_param"), fp16 enabled,
// ZeRO stage 3, or a train_batch_size that disagrees with the formula above.
DeepSpeedConfig loadDeepSpeedConfig(const std::string& path, int world_size,
                                    const DeepSpeedDefaults& defaults);

// The same, for JSON text already in memory; `name` is used in error messages.
DeepSpeedConfig parseDeepSpeedConfig(const std::string& json_text, const std::string& name,
                                     int world_size, const DeepSpeedDefaults& defaults);

}  // namespace svln::io
