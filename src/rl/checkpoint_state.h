// Training checkpoints: everything `streamvln train --resume` needs to continue as if never
// stopped, in one directory per save, published atomically.
//
//   <output>/checkpoint-<u>/adapter_config.json        PEFT layout (PeftModel loads it)
//                          adapter_model.safetensors
//                          optimizer.pt                AdamW moments and step counts
//                          rng.pt                      torch's CPU generator state
//                          trainer_state.json          update counter, episode cursor,
//                                                      baseline, NaN streak, trainer RNG
//   <output>/latest                                    "checkpoint-<u>" (written atomically)
//
// The directory's name is checkpointName(u) unless the caller names it (BudVLN's
// checkpoint_<u> / checkpoint_final, --checkpoint_naming budvln).
//
// A save is built in checkpoint-<u>.tmp and renamed, then `latest` moves: a crash at any
// point leaves the previous checkpoint and pointer intact.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "model/lora.h"

namespace svln::rl {

struct TrainerState {
  int64_t update = 0;          // updates completed
  int64_t episodes_drawn = 0;  // episodes taken from the split's (seeded) iterator
  double baseline_mean = 0;    // RunningBaseline (group_size 1)
  int64_t baseline_count = 0;
  int nonfinite_streak = 0;    // consecutive updates with a NaN/Inf step
  std::string rng;             // the trainer's std::mt19937_64, as operator<< writes it
  // Data parallel: ranks and ZeRO stage of the run; with stage >= 1 each rank's optimizer
  // shard is its own file (optimizerFileName), so a resume needs the same layout.
  int world_size = 1;
  int zero_stage = 0;
};

// Writes a torch archive the way every other file is written: serialised in memory, then
// temp file + rename, so a full disk is one runtime_error naming the file (libtorch's own
// file writer aborted the process: its destructor throws while unwinding).
void saveArchiveAtomic(torch::serialize::OutputArchive& archive, const std::string& path);

// "optimizer.pt" for rank 0 (and every unsharded run), "optimizer.rank<k>.pt" otherwise.
std::string optimizerFileName(int rank);
// "checkpoint-<update>", the default directory name.
std::string checkpointName(int64_t update);
// Where saveTrainCheckpoint builds checkpoint `name` before publishing it.
std::string checkpointBuildDir(const std::string& output_dir, const std::string& name);

// Saves into output_dir/<name> (checkpointName(state.update) when empty); returns that
// directory. before_publish runs once everything is in the build directory and before it is
// renamed (the other ranks add their optimizer shards there).
std::string saveTrainCheckpoint(const std::string& output_dir, const TrainerState& state,
                                torch::nn::Module& root, const model::LoraConfig& lora,
                                torch::optim::Optimizer& optimizer,
                                const std::string& base_model_path,
                                const std::function<void(const std::string& build_dir)>&
                                    before_publish = {},
                                const std::string& name = "");
// The directory `latest` points at ("" when there is no checkpoint).
std::string latestCheckpoint(const std::string& output_dir);
TrainerState loadTrainerState(const std::string& checkpoint_dir);
// Restores the optimizer and torch's CPU generator (adapters: model::loadLoraAdapter).
// `rank` picks the optimizer shard file (0: optimizer.pt); the optimizer's state tensors
// are loaded onto `device` (where the parameters are).
void loadOptimizerAndRng(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer,
                         int rank = 0, c10::Device device = c10::Device(c10::kCPU));


}  // namespace svln::rl
