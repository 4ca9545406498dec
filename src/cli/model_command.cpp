// `streamvln model ...`: inspection of language-model checkpoints, JSON on stdout.
//   model logits   --model DIR --ids 5,17,250              -> {"last_logits": [...]}
//   model generate --model DIR --ids ... --max_new_tokens N -> {"ids": [...]} (greedy, KV cache)
//   model init     --config tiny|small|7b|config.json --out DIR (random weights + tokenizer)
//   model info     --model DIR                              -> parameter counts, config
//   model merge    --model DIR --adapter DIR --out DIR      -> base + LoRA merged, HF layout
//   model lora-init --model DIR --out DIR [--r --alpha ...] -> a fresh PEFT-layout adapter
//   (logits / generate take --adapter DIR to run with a PEFT adapter)
//   model tokenize --tokenizer FILE --text STR              -> {"ids": [...]}
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <sys/stat.h>

#include "cli/command.h"
#include "model/streamvln.h"
#include "cli/tokenize_command.h"
#include "model/checkpoint.h"
#include "model/peft.h"
#include "model/tokenizer.h"

namespace svln::cli {
namespace {

using nlohmann::json;

struct ModelOptions {
  std::string model_dir;
  std::string ids;
  int64_t max_new_tokens = 16;
  int64_t eos = -1;
  std::string dtype = "float32";
  std::string device = "cpu";
  std::string config = "tiny";
  std::string out;
  uint64_t seed = 0;
  std::string tokenizer;
  std::string text;
  std::string adapter;
  int64_t lora_r = 32;
  double lora_alpha = 64.0;
  double lora_dropout = 0.05;
  std::string lora_targets = "q_proj,v_proj";
  double lora_b_std = 0.0;
  bool streamvln = true;  // init: the full StreamVLN (SigLIP + projector + Qwen2); false: Qwen2 alone
};

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<int64_t> parseIds(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw std::runtime_error("--ids: '" + item + "' is not an integer id");
    }
  }
  if (ids.empty()) throw std::runtime_error("--ids: no ids given");
  return ids;
}

model::Qwen2ForCausalLM loadModel(const ModelOptions& o) {
  model::LoadOptions lo;
  lo.dtype = model::scalarTypeFromName(o.dtype, "--dtype");
  lo.device = c10::Device(o.device);
  model::Qwen2ForCausalLM lm = model::loadQwen2(o.model_dir, lo);
  if (!o.adapter.empty()) {
    model::loadLoraAdapter(*lm, o.adapter);
    lm->eval();
  }
  return lm;
}

void checkIds(const std::vector<int64_t>& ids, const model::Qwen2ForCausalLM& lm) {
  for (int64_t id : ids)
    if (id < 0 || id >= lm->config.vocab_size)
      throw std::runtime_error("--ids: id " + std::to_string(id) + " outside the vocabulary [0, " +
                               std::to_string(lm->config.vocab_size) + ")");
}

int runLogits(const ModelOptions& o) {
  auto lm = loadModel(o);
  std::vector<int64_t> ids = parseIds(o.ids);
  checkIds(ids, lm);
  at::NoGradGuard no_grad;
  model::Qwen2Inputs in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0).to(c10::Device(o.device));
  at::Tensor logits = lm->forward(in, /*last_only=*/true).to(at::kCPU, at::kFloat).flatten();
  std::vector<float> v(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  std::cout << json{{"last_logits", v}}.dump() << "\n";
  return 0;
}

int runGenerate(const ModelOptions& o) {
  auto lm = loadModel(o);
  std::vector<int64_t> ids = parseIds(o.ids);
  checkIds(ids, lm);
  std::cout << json{{"ids", model::greedyGenerate(lm, ids, o.max_new_tokens, o.eos)}}.dump()
            << "\n";
  return 0;
}

// Random weights as transformers initialises Qwen2 (normal(0, 0.02) matrices, zero biases,
// unit norms), drawn from a generator seeded with --seed.
void randomInit(model::Qwen2ForCausalLM& lm, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  for (auto& p : lm->named_parameters(true)) {
    const std::string& name = p.key();
    at::Tensor& t = p.value();
    if (name.size() >= 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0)
      t.fill_(1.0);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      t.zero_();
    else
      t.normal_(0.0, 0.02, gen);
  }
}

int runInit(const ModelOptions& o) {
  if (o.out.empty()) throw std::runtime_error("model init: --out is required");
  model::ModelConfig config;
  struct stat st {};
  if (stat(o.config.c_str(), &st) == 0)
    config = model::loadModelConfig(o.config);
  else
    config.text = model::namedQwen2Config(o.config);
  if (o.streamvln) {
    config = stat(o.config.c_str(), &st) == 0 ? model::loadModelConfig(o.config)
                                              : model::namedStreamVLNConfig(o.config);
    if (!config.mm.present) {
      throw std::runtime_error(o.config + ": a StreamVLN needs a config with mm_* fields "
                               "(--language_only writes a plain Qwen2)");
    }
  }
  ::mkdir(o.out.c_str(), 0755);
  // The tokenizer may hold fewer ids than the embedding (as Qwen2's does), never more.
  const int tok_vocab = static_cast<int>(std::min<int64_t>(config.text.vocab_size, 4096));
  model::writeSyntheticTokenizer(o.out, tok_vocab, o.seed);
  const model::Tokenizer tok = model::Tokenizer::fromFile(o.out);
  config.text.bos_token_id = config.text.eos_token_id = tok.requireTokenId("<|endoftext|>");
  const c10::ScalarType dtype = model::scalarTypeFromName(o.dtype, "--dtype");
  if (o.streamvln) {
    model::StreamVLN m = model::StreamVLN::random(config, c10::Device(o.device), dtype, o.seed);
    m.save(o.out, dtype);
    std::cout << json{{"dir", o.out}, {"parameters", model::countParameters(m.root()).total},
                      {"tokenizer_vocab", tok.vocabSize()}, {"architecture", "StreamVLN"},
                      {"dtype", model::scalarTypeName(dtype)}}
                     .dump()
              << "\n";
    return 0;
  }
  model::Qwen2ForCausalLM lm(config.text);
  randomInit(lm, o.seed);
  model::saveCheckpoint(o.out, config, {{"", lm.get()}}, dtype);
  model::ParamCount n = model::countParameters(*lm);
  std::cout << json{{"dir", o.out}, {"parameters", n.total}, {"tokenizer_vocab", tok.vocabSize()},
                    {"dtype", model::scalarTypeName(dtype)}}
                   .dump()
            << "\n";
  return 0;
}

int runInfo(const ModelOptions& o) {
  model::ModelConfig config;
  auto lm = model::loadQwen2(o.model_dir, {}, &config);
  model::ParamCount n = model::countParameters(*lm);
  std::cout << json{{"architecture", config.architecture},
                    {"layers", config.text.num_hidden_layers},
                    {"hidden_size", config.text.hidden_size},
                    {"vocab_size", config.text.vocab_size},
                    {"rope_theta", config.text.rope_theta},
                    {"tie_word_embeddings", config.text.tie_word_embeddings},
                    {"parameters", n.total},
                    {"trainable", n.trainable}}
                   .dump()
            << "\n";
  return 0;
}

int runMerge(const ModelOptions& o) {
  if (o.adapter.empty()) throw std::runtime_error("model merge: --adapter is required");
  model::ModelConfig config;
  model::Qwen2ForCausalLM lm = model::loadQwen2(o.model_dir, {}, &config);
  model::loadLoraAdapter(*lm, o.adapter);
  model::mergeLora(*lm);
  const c10::ScalarType dtype = model::scalarTypeFromName(o.dtype, "--dtype");
  model::saveCheckpoint(o.out, config, {{"", lm.get()}}, dtype);
  std::cout << json{{"dir", o.out}, {"dtype", model::scalarTypeName(dtype)}}.dump() << "\n";
  return 0;
}

// A fresh adapter as PEFT initialises it (B = 0, a no-op); --b_std > 0 also draws B from
// normal(0, b_std) with the seed, so round-trip checks see a non-trivial adapter.
int runLoraInit(const ModelOptions& o) {
  model::Qwen2ForCausalLM lm = model::loadQwen2(o.model_dir);
  model::LoraConfig cfg;
  cfg.r = o.lora_r;
  cfg.alpha = o.lora_alpha;
  cfg.dropout = o.lora_dropout;
  cfg.target_modules = splitCommas(o.lora_targets);
  cfg.seed = o.seed;
  auto names = model::applyLora(*lm, cfg);
  if (o.lora_b_std > 0.0) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);
    at::NoGradGuard no_grad;
    for (auto& p : lm->named_parameters(true))
      if (p.key().find("lora_B.") != std::string::npos) p.value().normal_(0.0, o.lora_b_std, gen);
  }
  ::mkdir(o.out.c_str(), 0755);
  model::saveLoraAdapter(*lm, cfg, o.out, o.model_dir);
  std::cout << json{{"dir", o.out}, {"modules", names.size()},
                    {"trainable", model::countParameters(*lm).trainable}}
                   .dump()
            << "\n";
  return 0;
}

const RegisterCommand kRegister(
    "model", "language-model checkpoints: logits, greedy generation, random init, info",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ModelOptions>();
      app.require_subcommand(1);
      auto add_model = [&](CLI::App* sub) {
        sub->add_option("--model", o->model_dir, "checkpoint directory")->required();
        sub->add_option("--dtype", o->dtype, "float32, bfloat16 or float16")->capture_default_str();
        sub->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
        sub->add_option("--adapter", o->adapter, "PEFT LoRA adapter directory");
      };
      CLI::App* logits = app.add_subcommand("logits", "logits at the last position");
      add_model(logits);
      logits->add_option("--ids", o->ids, "comma-separated token ids")->required();
      CLI::App* generate = app.add_subcommand("generate", "greedy continuation (KV cache)");
      add_model(generate);
      generate->add_option("--ids", o->ids, "comma-separated token ids")->required();
      generate->add_option("--max_new_tokens", o->max_new_tokens, "tokens to generate")
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
          ->capture_default_str();
      generate->add_option("--eos", o->eos, "stop after this id (-1: never)")->capture_default_str();
      CLI::App* init = app.add_subcommand("init", "write a random-weight model and tokenizer");
      init->add_option("--config", o->config, "tiny, small, 7b or a config.json")
          ->capture_default_str();
      init->add_option("--out", o->out, "output directory")->required();
      init->add_option("--seed", o->seed, "weight and tokenizer seed")->capture_default_str();
      init->add_option("--dtype", o->dtype, "stored dtype")->capture_default_str();
      init->add_option("--device", o->device,
                       "where the weights are drawn (cuda: on the GPU, fast for 7B; --streamvln)")
          ->capture_default_str();
      auto* full = init->add_flag("--streamvln", o->streamvln,
                                  "the full StreamVLN: SigLIP tower + projector + Qwen2 (the default)");
      init->add_flag_callback("--language_only", [o] { o->streamvln = false; },
                              "a plain Qwen2 language model (text only) instead of a StreamVLN")
          ->excludes(full);
      CLI::App* info = app.add_subcommand("info", "configuration and parameter counts");
      info->add_option("--model", o->model_dir, "checkpoint directory")->required();
      CLI::App* merge = app.add_subcommand("merge", "merge a LoRA adapter into the weights");
      merge->add_option("--model", o->model_dir, "base checkpoint directory")->required();
      merge->add_option("--adapter", o->adapter, "PEFT adapter directory")->required();
      merge->add_option("--out", o->out, "output directory")->required();
      merge->add_option("--dtype", o->dtype, "stored dtype")->capture_default_str();
      CLI::App* lora_init = app.add_subcommand("lora-init", "write a fresh LoRA adapter");
      lora_init->add_option("--model", o->model_dir, "base checkpoint directory")->required();
      lora_init->add_option("--out", o->out, "adapter directory")->required();
      lora_init->add_option("--r", o->lora_r, "rank")->capture_default_str();
      lora_init->add_option("--alpha", o->lora_alpha, "alpha")->capture_default_str();
      lora_init->add_option("--dropout", o->lora_dropout, "dropout")->capture_default_str();
      lora_init->add_option("--targets", o->lora_targets, "module names")->capture_default_str();
      lora_init->add_option("--seed", o->seed, "A (and B) seed")->capture_default_str();
      lora_init->add_option("--b_std", o->lora_b_std, "draw B ~ N(0, b_std) instead of 0");
      CLI::App* tokenize = app.add_subcommand("tokenize", "token ids of a text");
      tokenize->add_option("--tokenizer", o->tokenizer, "tokenizer.json or its directory")
          ->required();
      tokenize->add_option("--text", o->text, "text to encode")->required();
      return [o, logits, generate, init, info, merge, lora_init, tokenize]() -> int {
        // stdout carries the JSON answer; log lines go to stderr.
        spdlog::set_default_logger(spdlog::stderr_color_mt("model_cli"));
        if (logits->parsed()) return runLogits(*o);
        if (generate->parsed()) return runGenerate(*o);
        if (init->parsed()) return runInit(*o);
        if (info->parsed()) return runInfo(*o);
        if (merge->parsed()) return runMerge(*o);
        if (lora_init->parsed()) return runLoraInit(*o);
        if (tokenize->parsed()) return runTokenizeCommand(o->tokenizer, o->text);
        return 1;
      };
    });

}  // namespace
}  // namespace svln::cli
