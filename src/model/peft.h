// LoRA adapters in PEFT's on-disk layout, so `PeftModel.from_pretrained(base, dir)` loads
// what we save and we load what peft saves:
//
//   dir/adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha", "lora_dropout",
//                                   "target_modules", "use_rslora", "bias": "none", ...}
//   dir/adapter_model.safetensors  base_model.model.<module>.lora_A.weight  [r, in]   fp32
//                                  base_model.model.<module>.lora_B.weight  [out, r]
//
// <module> is the name in the model root's named_modules(), which equals the Hugging Face
// module path because parameter names do (e.g. model.layers.0.self_attn.q_proj).
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "model/lora.h"
#include "model/model_config.h"

namespace svln::model {

// Reads adapter_config.json; unsupported PEFT options (DoRA, bias != none, rank/alpha
// patterns, layers_to_transform, modules_to_save, fan_in_fan_out) throw naming the key.
LoraConfig loadLoraConfig(const std::string& dir);
void saveLoraConfig(const LoraConfig& config, const std::string& dir,
                    const std::string& base_model_name_or_path = "");

// Saves the adapters under `root` (must have been added with `config`).
void saveLoraAdapter(torch::nn::Module& root, const LoraConfig& config, const std::string& dir,
                     const std::string& base_model_name_or_path = "");
// Adds adapters as adapter_config.json says and fills them from adapter_model.safetensors
// (moved to the base weights' device, fp32). Missing or unexpected adapter tensors throw.
// Returns the adapted module names.
std::vector<std::string> loadLoraAdapter(torch::nn::Module& root, const std::string& dir);

// PEFT's key for a module's adapter matrix ("lora_A" / "lora_B").
std::string peftKey(const std::string& module_name, const std::string& matrix);

// Trainable LoRA parameters for a configuration, by formula (nothing allocated): every
// linear the model would build whose name `config` targets contributes r * (in + out).
// Covers the Qwen2 decoder and, when config.mm.present, the SigLIP layers LLaVA keeps
// and the projector (mm_projector.0 / .2).
int64_t loraTrainableCount(const ModelConfig& model, const LoraConfig& config);

}  // namespace svln::model
