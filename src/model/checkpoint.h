// Hugging Face checkpoint directories <-> modules. A checkpoint is a flat map of names to
// tensors; a route sends every name under a prefix to one module, with the prefix
// stripped (the longest matching prefix wins):
//
//   model.layers.0.self_attn.q_proj.weight             ─ route ""                  ─► Qwen2ForCausalLM
//   model.mm_projector.0.weight                        ─ route "model.mm_projector." ─► projector ("0.weight")
//   model.vision_tower.vision_tower.vision_model.…     ─ route "model.vision_tower.vision_tower." ─► SigLIP
//
// Loading streams one tensor at a time from the memory-mapped files to the target
// dtype/device. Missing tensors are an error (listed by name); unexpected ones are
// returned as a list and logged as a warning.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/qwen2.h"
#include "model/safetensors.h"

namespace svln::model {

struct CheckpointRoute {
  std::string prefix;
  torch::nn::Module* module;
};

// The same for saving, which only reads the modules.
struct SaveRoute {
  std::string prefix;
  const torch::nn::Module* module;
};

struct LoadOptions {
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
};

struct LoadReport {
  std::vector<std::string> loaded;      // checkpoint names
  std::vector<std::string> unexpected;  // in the checkpoint, no parameter takes them
};

// Loads every routed parameter/buffer (LoRA adapter weights excepted) and moves the whole
// module to options.dtype/device. Shape mismatch or missing tensors throw naming the
// checkpoint and the tensors.
LoadReport loadCheckpointInto(const SafetensorsCheckpoint& checkpoint, const std::string& source,
                              const std::vector<CheckpointRoute>& routes,
                              const LoadOptions& options);

// Parameters (and buffers) under the routes as checkpoint names, in `dtype`; LoRA adapter
// weights are left out (merge first to export them).
NamedTensors checkpointTensors(const std::vector<SaveRoute>& routes, c10::ScalarType dtype);

// Writes config.json (torch_dtype = dtype) and the weights (sharded past max_shard_bytes).
void saveCheckpoint(const std::string& dir, const ModelConfig& config,
                    const std::vector<SaveRoute>& routes, c10::ScalarType dtype,
                    uint64_t max_shard_bytes = 5ull << 30);

// A text-only Qwen2ForCausalLM checkpoint (or the language-model part of a StreamVLN one:
// its vision/projector tensors are reported as unexpected).
Qwen2ForCausalLM loadQwen2(const std::string& dir, const LoadOptions& options = {},
                           ModelConfig* config_out = nullptr, LoadReport* report_out = nullptr);

struct ParamCount {
  int64_t trainable = 0;
  int64_t total = 0;
};
ParamCount countParameters(const torch::nn::Module& module);

}  // namespace svln::model
