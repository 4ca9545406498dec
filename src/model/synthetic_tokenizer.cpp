// writeSyntheticTokenizer: a Qwen2-style byte-level BPE trained on a generated corpus of
// navigation instructions and the StreamVLN prompt strings, so random-weight models and
// tests have a real tokenizer without downloads.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "model/chat_template.h"
#include "model/pretokenizer.h"
#include "model/tokenizer.h"
#include "model/unicode_text.h"

namespace svln::model {
namespace {

using Json = nlohmann::ordered_json;

const std::vector<std::string> kAddedTokens = {kEndOfText, kImStart, kImEnd, kImageToken,
                                               kMemoryToken};

// Qwen2-7B-Instruct's chat template (tokenizer_config.json).
const char* const kQwen2ChatTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// std::uniform_int_distribution differs between standard libraries; this does not.
size_t pick(std::mt19937_64& rng, size_t n) { return static_cast<size_t>(rng() % n); }

template <typename T>
const T& pickFrom(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[pick(rng, v.size())];
}

std::string makeInstruction(std::mt19937_64& rng) {
  static const std::vector<std::string> verbs = {
      "Walk", "Go", "Turn", "Exit", "Head", "Move", "Proceed", "Continue", "Enter", "Climb"};
  static const std::vector<std::string> ways = {
      "forward", "straight", "left", "right", "past", "through", "into", "out of", "around",
      "down", "up", "towards", "along", "across", "between"};
  static const std::vector<std::string> places = {
      "the kitchen", "the bedroom", "the hallway", "the stairs", "the living room",
      "the bathroom", "the door", "the table", "the couch", "the dining room", "the window",
      "the fireplace", "the rug", "the plant", "the refrigerator", "the sink", "the mirror",
      "the office", "the closet", "the bed", "the counter", "the chairs", "the painting",
      "the doorway", "the staircase", "the balcony", "the garage", "the laundry room"};
  static const std::vector<std::string> stops = {
      "Stop", "Wait", "Stop there", "Stand still", "Stop once you're inside",
      "Wait near", "Stop when you reach"};
  std::string s;
  const size_t clauses = 1 + pick(rng, 3);
  for (size_t c = 0; c < clauses; ++c) {
    if (c > 0) s += pick(rng, 2) ? " and " : ". ";
    s += pickFrom(rng, verbs);
    s += " " + pickFrom(rng, ways) + " " + pickFrom(rng, places);
    if (pick(rng, 3) == 0) s += ", then take " + std::to_string(1 + pick(rng, 12)) + " steps";
  }
  s += ". " + pickFrom(rng, stops) + " " + pickFrom(rng, places) + ".";
  return s;
}

std::string makeActions(std::mt19937_64& rng) {
  static const std::vector<std::string> symbols = {"\u2191", "\u2191", "\u2190", "\u2192"};
  if (pick(rng, 10) == 0) return "STOP";
  std::string a;
  const size_t n = 1 + pick(rng, 4);
  for (size_t i = 0; i < n; ++i) a += pickFrom(rng, symbols);
  return a;
}

// Text of the corpus with the added tokens cut out (they never reach BPE).
std::vector<std::string> makeCorpus(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> texts;
  const auto& phrases = observationPhrases();
  for (int i = 0; i < 600; ++i) {
    const std::string instruction = makeInstruction(rng);
    const std::string& phrase = pickFrom(rng, phrases);
    std::string prompt = renderWindowPrompt(instruction, pick(rng, 2) == 1, phrase) +
                         renderAssistantAnswer(makeActions(rng)) + renderFollowUpPrompt(phrase) +
                         renderAssistantAnswer(makeActions(rng));
    for (const std::string& t : kAddedTokens) {
      for (size_t p = prompt.find(t); p != std::string::npos; p = prompt.find(t, p)) {
        prompt.replace(p, t.size(), "\n");
      }
    }
    texts.push_back(std::move(prompt));
  }
  texts.push_back("0 1 2 3 4 5 6 7 8 9 15 25 degrees centimeters meters");
  return texts;
}

struct TrainedBpe {
  std::vector<std::string> tokens;  // id -> byte-level string
  std::vector<std::pair<int, int>> merges;
};

// Classic BPE training: repeatedly merge the most frequent adjacent pair (ties: lowest
// ids), counting pairs inside the Qwen2-regex pieces of the corpus only.
TrainedBpe trainBpe(const std::vector<std::string>& corpus, int max_tokens) {
  TrainedBpe bpe;
  std::unordered_map<std::string, int> ids;
  const auto& byte_chars = byteToUnicode();
  // Byte tokens in bytes_to_unicode order: printable bytes first, as GPT-2 / Qwen2 list them.
  std::vector<int> order;
  for (int b = 0; b < 256; ++b) {
    if (byte_chars[b] < 256) order.push_back(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (byte_chars[b] >= 256) order.push_back(b);
  }
  std::vector<int> byte_id(256);
  for (int b : order) {
    std::string s;
    appendUtf8(byte_chars[b], s);
    byte_id[b] = static_cast<int>(bpe.tokens.size());
    ids.emplace(s, byte_id[b]);
    bpe.tokens.push_back(s);
  }

  std::map<std::string, int64_t> word_counts;  // ordered: deterministic iteration
  for (const std::string& text : corpus) {
    const std::u32string cps = decodeUtf8(text, "synthetic corpus");
    for (const auto& [b, e] : splitIsolated(cps, SplitPattern::kQwen2)) {
      ++word_counts[encodeUtf8(std::u32string_view(cps).substr(b, e - b))];
    }
  }
  std::vector<std::pair<std::vector<int>, int64_t>> words;
  for (const auto& [w, count] : word_counts) {
    std::vector<int> symbols;
    for (char c : w) symbols.push_back(byte_id[static_cast<unsigned char>(c)]);
    words.emplace_back(std::move(symbols), count);
  }

  while (static_cast<int>(bpe.tokens.size()) < max_tokens) {
    std::map<std::pair<int, int>, int64_t> pair_counts;
    for (const auto& [symbols, count] : words) {
      for (size_t k = 0; k + 1 < symbols.size(); ++k) pair_counts[{symbols[k], symbols[k + 1]}] += count;
    }
    std::pair<int, int> best{-1, -1};
    int64_t best_count = 1;  // a pair seen once teaches nothing
    for (const auto& [pair, count] : pair_counts) {
      if (count > best_count) {
        best = pair;
        best_count = count;
      }
    }
    if (best.first < 0) break;
    const std::string merged = bpe.tokens[best.first] + bpe.tokens[best.second];
    auto [it, inserted] = ids.emplace(merged, static_cast<int>(bpe.tokens.size()));
    if (inserted) bpe.tokens.push_back(merged);
    bpe.merges.push_back(best);
    for (auto& [symbols, count] : words) {
      for (size_t k = 0; k + 1 < symbols.size(); ++k) {
        if (symbols[k] == best.first && symbols[k + 1] == best.second) {
          symbols[k] = it->second;
          symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(k) + 1);
        }
      }
    }
  }
  return bpe;
}

Json addedTokenJson(const std::string& content, int id) {
  return Json{{"id", id},           {"content", content}, {"single_word", false},
              {"lstrip", false},    {"rstrip", false},    {"normalized", false},
              {"special", true}};
}

void writeFileAtomic(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp.string() + ": cannot open for writing");
    out << text;
    if (!out.flush()) throw std::runtime_error(tmp.string() + ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

struct SyntheticFiles {
  Json tokenizer, config, special_map;
};

SyntheticFiles buildSynthetic(int vocab_size, uint64_t seed) {
  const int n_added = static_cast<int>(kAddedTokens.size());
  if (vocab_size < 256 + n_added) {
    throw std::runtime_error("synthetic tokenizer: vocab_size " + std::to_string(vocab_size) +
                             " < 261 (256 bytes + 5 added tokens)");
  }
  const TrainedBpe bpe = trainBpe(makeCorpus(seed), vocab_size - n_added);
  const int first_added = static_cast<int>(bpe.tokens.size());

  Json vocab = Json::object();
  for (size_t id = 0; id < bpe.tokens.size(); ++id) vocab[bpe.tokens[id]] = id;
  Json merges = Json::array();
  for (const auto& [a, b] : bpe.merges) merges.push_back({bpe.tokens[a], bpe.tokens[b]});
  Json added = Json::array();
  Json added_decoder = Json::object();
  for (int k = 0; k < n_added; ++k) {
    added.push_back(addedTokenJson(kAddedTokens[k], first_added + k));
    Json entry = addedTokenJson(kAddedTokens[k], first_added + k);
    entry.erase("id");
    added_decoder[std::to_string(first_added + k)] = entry;
  }
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                           {"trim_offsets", false}, {"use_regex", false}};
  SyntheticFiles f;
  f.tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", kQwen2SplitRegex}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}}};
  f.config = {{"add_prefix_space", false},
              {"added_tokens_decoder", added_decoder},
              {"additional_special_tokens", {kImStart, kImEnd, kImageToken, kMemoryToken}},
              {"bos_token", nullptr},
              {"chat_template", kQwen2ChatTemplate},
              {"clean_up_tokenization_spaces", false},
              {"eos_token", kImEnd},
              {"errors", "replace"},
              {"model_max_length", 4096},
              {"pad_token", kEndOfText},
              {"split_special_tokens", false},
              {"tokenizer_class", "Qwen2Tokenizer"},
              {"unk_token", nullptr}};
  f.special_map = {{"additional_special_tokens", {kImStart, kImEnd, kImageToken, kMemoryToken}},
                   {"eos_token", kImEnd},
                   {"pad_token", kEndOfText}};
  if (first_added + n_added < vocab_size) {
    spdlog::info("synthetic tokenizer: corpus gives {} ids of the {} asked for", first_added + n_added,
                 vocab_size);
  }
  return f;
}

}  // namespace

std::string syntheticTokenizerJson(int vocab_size, uint64_t seed) {
  return buildSynthetic(vocab_size, seed).tokenizer.dump(2);
}

void writeSyntheticTokenizer(const std::string& dir, int vocab_size, uint64_t seed) {
  const SyntheticFiles f = buildSynthetic(vocab_size, seed);
  const std::filesystem::path root(dir);
  std::filesystem::create_directories(root);
  writeFileAtomic(root / "tokenizer.json", f.tokenizer.dump(2) + "\n");
  writeFileAtomic(root / "tokenizer_config.json", f.config.dump(2) + "\n");
  writeFileAtomic(root / "special_tokens_map.json", f.special_map.dump(2) + "\n");
}

}  // namespace svln::model
