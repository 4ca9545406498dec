// A StreamVLN policy ready to act: model (+ optional LoRA adapter), tokenizer, action codec,
// placeholder ids wired up. What `eval`, `train` and `sft` load from --model_path.
#pragma once

#include <memory>
#include <string>

#include "model/action_codec.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"

namespace svln::rl {

struct Policy {
  std::unique_ptr<model::Tokenizer> tokenizer;
  std::unique_ptr<model::StreamVLN> model;
  std::unique_ptr<model::ActionCodec> codec;
};

// Loads `model_dir` (config.json, safetensors, tokenizer.json) and, when `adapter_dir` is
// non-empty, a PEFT LoRA adapter on top. Errors name the directory and the problem.
Policy loadPolicy(const std::string& model_dir, const std::string& adapter_dir = "",
                  const model::LoadOptions& options = {});

// Where and in what precision a command's policy runs, from its --device: "cpu", "cuda",
// "cuda:N" or "auto" (the GPU of this rank when libtorch sees one, else the CPU). On a GPU
// the base weights are bf16 (LoRA adapters stay fp32); on the CPU everything is fp32. A
// GPU asked for that is not there is an error naming the flag. `precision` (--precision)
// overrides the dtype: "fp32" everywhere (small models trained in full need fp32 master
// weights), "bf16" (GPU only), "auto" as above.
model::LoadOptions deviceLoadOptions(const std::string& device, int local_rank = 0,
                                     const std::string& precision = "auto");
// The help text of --precision, shared by every command that has one.
extern const char* const kPrecisionHelp;

// Wires the tokenizer's <image>/<memory> ids into the model and builds the codec.
void attachTokenizer(Policy& p);

}  // namespace svln::rl
