#include "cli/tokenize_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cli/command.h"
#include "model/tokenizer.h"

namespace svln::cli {
namespace {

std::vector<int> parseIds(const std::string& list) {
  std::vector<int> ids;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw std::runtime_error("--decode: '" + item + "' is not an integer id");
    }
  }
  return ids;
}

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  std::string decode_ids;
  std::string write_synthetic;
  int vocab_size = 1024;
  uint64_t seed = 0;
};

int runTokenize(const TokenizeOptions& o) {
  if (!o.write_synthetic.empty()) {
    model::writeSyntheticTokenizer(o.write_synthetic, o.vocab_size, o.seed);
    const model::Tokenizer tok = model::Tokenizer::fromFile(o.write_synthetic);
    std::cout << nlohmann::json{{"dir", o.write_synthetic}, {"vocab_size", tok.vocabSize()}}.dump()
              << "\n";
    return 0;
  }
  if (o.tokenizer.empty()) throw std::runtime_error("tokenize: --tokenizer is required");
  if (!o.decode_ids.empty()) {
    const model::Tokenizer tok = model::Tokenizer::fromFile(o.tokenizer);
    std::cout << nlohmann::json{{"text", tok.decode(parseIds(o.decode_ids))}}.dump() << "\n";
    return 0;
  }
  return runTokenizeCommand(o.tokenizer, o.text);
}

const RegisterCommand kRegister(
    "tokenize", "token ids of a text (JSON), or write a synthetic tokenizer",
    [](CLI::App& app) -> std::function<int()> {
      auto opts = std::make_shared<TokenizeOptions>();
      app.add_option("--tokenizer", opts->tokenizer, "tokenizer.json or a directory holding one");
      app.add_option("--text", opts->text, "text to encode");
      app.add_option("--decode", opts->decode_ids, "comma-separated ids to decode instead");
      app.add_option("--write-synthetic", opts->write_synthetic,
                     "write a synthetic Qwen2-style tokenizer into this directory");
      app.add_option("--vocab-size", opts->vocab_size, "ids of the synthetic tokenizer");
      app.add_option("--seed", opts->seed, "seed of the synthetic tokenizer's corpus");
      return [opts] { return runTokenize(*opts); };
    });

}  // namespace

int runTokenizeCommand(const std::string& tokenizer_path, const std::string& text) {
  const model::Tokenizer tok = model::Tokenizer::fromFile(tokenizer_path);
  std::cout << nlohmann::json{{"ids", tok.encode(text)}}.dump() << "\n";
  return 0;
}

}  // namespace svln::cli
