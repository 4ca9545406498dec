#include "model/tokenizer.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "model/pretokenizer.h"
#include "model/unicode_text.h"

namespace svln::model {
namespace {

// Ids index dense tables: far above any real vocabulary (Qwen2's has 151,665), far below what
// a corrupt file could make us allocate.
constexpr int64_t kMaxTokenId = int64_t{1} << 22;


using Json = nlohmann::json;

struct AddedToken {
  std::string content;
  int id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

struct PreTokenizerStep {
  bool byte_level = false;  // else a regex Split
  SplitPattern pattern = SplitPattern::kQwen2;
  bool add_prefix_space = false;
  bool use_regex = false;
};

// A stretch of text still to be tokenised, or an added token already recognised.
struct Segment {
  std::string text;
  int added_id = -1;
};

uint64_t pairKey(int a, int b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

bool isWordChar(char32_t c) { return isLetter(c) || isNumber(c); }

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  std::unordered_map<std::string, int> vocab;
  std::vector<std::string> id_to_token;  // "" for ids nobody uses
  std::vector<char> special;
  std::unordered_map<uint64_t, std::pair<int, int>> merges;  // (left, right) -> (rank, merged id)
  std::vector<AddedToken> added;
  std::vector<NormalForm> normalizers;
  std::vector<PreTokenizerStep> pre_steps;
  bool ignore_merges = false;

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(source + ": " + problem);
  }

  void parse(const Json& root);
  void parseModel(const Json& model);
  void parseNormalizer(const Json& node);
  void parsePreTokenizer(const Json& node);
  void parseAddedTokens(const Json& list);

  std::vector<Segment> splitAdded(const std::string& text, bool normalized_pass) const;
  std::vector<std::string> preTokenize(const std::string& text) const;
  void bpe(const std::string& byte_level_word, std::vector<int>& out) const;
  std::string normalize(std::string text) const {
    for (NormalForm f : normalizers) text = normalizeUtf8(text, f);
    return text;
  }
};

void Tokenizer::Impl::parse(const Json& root) {
  if (!root.is_object()) fail("not a JSON object");
  if (!root.contains("model") || !root["model"].is_object()) fail("missing \"model\"");
  parseModel(root["model"]);
  if (root.contains("normalizer")) parseNormalizer(root["normalizer"]);
  if (root.contains("pre_tokenizer")) parsePreTokenizer(root["pre_tokenizer"]);
  if (pre_steps.empty() || !pre_steps.back().byte_level) {
    fail("pre_tokenizer does not end with ByteLevel: only byte-level BPE tokenizers are supported");
  }
  if (root.contains("decoder") && !root["decoder"].is_null()) {
    const std::string type = root["decoder"].value("type", "");
    if (type != "ByteLevel") fail("decoder type '" + type + "' is not supported (ByteLevel expected)");
  }
  if (root.contains("added_tokens")) parseAddedTokens(root["added_tokens"]);
}

void Tokenizer::Impl::parseModel(const Json& model) {
  const std::string type = model.value("type", "BPE");
  if (type != "BPE") fail("model type '" + type + "' is not supported (byte-level BPE expected)");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() > 0) {
    fail("BPE dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty()) {
      fail(std::string("model.") + key + " is not supported");
    }
  }
  ignore_merges = model.value("ignore_merges", false);
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("missing model.vocab");
  int max_id = -1;
  for (const auto& [token, id_json] : model["vocab"].items()) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() >= kMaxTokenId) {
      fail("model.vocab['" + token + "'] is not an id in [0, " + std::to_string(kMaxTokenId) + ")");
    }
    vocab.emplace(token, id_json.get<int>());
    max_id = std::max(max_id, id_json.get<int>());
  }
  id_to_token.assign(max_id + 1, std::string());
  for (const auto& [token, id] : vocab) id_to_token[id] = token;

  if (!model.contains("merges") || !model["merges"].is_array()) fail("missing model.merges");
  int rank = 0;
  for (const Json& m : model["merges"]) {
    std::string left, right;
    if (m.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        fail("merge " + std::to_string(rank) + " '" + s + "' is not two tokens");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();  // ["a", "b"] (tokenizers >= 0.20)
      right = m[1].get<std::string>();
    } else {
      fail("merge " + std::to_string(rank) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto l = vocab.find(left), r = vocab.find(right), lr = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || lr == vocab.end()) {
      fail("merge " + std::to_string(rank) + " ('" + left + "', '" + right +
           "') uses a token missing from the vocabulary");
    }
    merges.emplace(pairKey(l->second, r->second), std::make_pair(rank, lr->second));
    ++rank;
  }
}

void Tokenizer::Impl::parseNormalizer(const Json& node) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    for (const Json& n : node.value("normalizers", Json::array())) parseNormalizer(n);
  } else if (type == "NFC") {
    normalizers.push_back(NormalForm::kNFC);
  } else if (type == "NFD") {
    normalizers.push_back(NormalForm::kNFD);
  } else if (type == "NFKC") {
    normalizers.push_back(NormalForm::kNFKC);
  } else if (type == "NFKD") {
    normalizers.push_back(NormalForm::kNFKD);
  } else {
    fail("normalizer type '" + type + "' is not supported");
  }
}

void Tokenizer::Impl::parsePreTokenizer(const Json& node) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    for (const Json& p : node.value("pretokenizers", Json::array())) parsePreTokenizer(p);
    return;
  }
  if (!pre_steps.empty() && pre_steps.back().byte_level) {
    fail("pre_tokenizer '" + type + "' after ByteLevel is not supported");
  }
  PreTokenizerStep step;
  if (type == "ByteLevel") {
    step.byte_level = true;
    step.add_prefix_space = node.value("add_prefix_space", false);
    step.use_regex = node.value("use_regex", true);
  } else if (type == "Split") {
    const Json& pattern = node.value("pattern", Json::object());
    if (!pattern.contains("Regex")) fail("Split pre_tokenizer without a Regex pattern");
    const auto recognized = recognizeSplitPattern(pattern["Regex"].get<std::string>());
    if (!recognized) fail("Split regex is neither Qwen2's nor GPT-2's pattern");
    if (node.value("behavior", "") != "Isolated" || node.value("invert", false)) {
      fail("Split pre_tokenizer must have behavior Isolated and invert false");
    }
    step.pattern = *recognized;
  } else {
    fail("pre_tokenizer type '" + type + "' is not supported");
  }
  pre_steps.push_back(step);
}

void Tokenizer::Impl::parseAddedTokens(const Json& list) {
  for (const Json& t : list) {
    AddedToken a;
    a.content = t.value("content", "");
    if (a.content.empty() || !t.contains("id")) fail("added token without content or id");
    if (!t["id"].is_number_integer() || t["id"].get<int64_t>() >= kMaxTokenId)
      fail("added token '" + a.content + "' has no integer id below " + std::to_string(kMaxTokenId));
    a.id = t["id"].get<int>();
    a.single_word = t.value("single_word", false);
    a.lstrip = t.value("lstrip", false);
    a.rstrip = t.value("rstrip", false);
    a.normalized = t.value("normalized", !t.value("special", false));
    a.special = t.value("special", false);
    if (a.id < 0) fail("added token '" + a.content + "' has a negative id");
    if (a.id >= static_cast<int>(id_to_token.size())) id_to_token.resize(a.id + 1);
    id_to_token[a.id] = a.content;
    added.push_back(a);
  }
  special.assign(id_to_token.size(), 0);
  for (const AddedToken& a : added) special[a.id] = a.special;
}

// Leftmost-longest scan for added tokens (what the Aho-Corasick matcher of `tokenizers`
// does), with single_word / lstrip / rstrip applied to each match.
std::vector<Segment> Tokenizer::Impl::splitAdded(const std::string& text,
                                                 bool normalized_pass) const {
  std::vector<Segment> out;
  size_t emitted = 0;  // text before this offset is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* best = nullptr;
    for (const AddedToken& a : added) {
      if (a.normalized != normalized_pass) continue;
      if (text.compare(pos, a.content.size(), a.content) == 0 &&
          (!best || a.content.size() > best->content.size())) {
        best = &a;
      }
    }
    if (!best) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + best->content.size();
    pos = stop;
    if (best->single_word) {
      const std::u32string before = decodeUtf8(std::string_view(text).substr(0, start));
      const std::u32string after = decodeUtf8(std::string_view(text).substr(stop));
      if ((!before.empty() && isWordChar(before.back())) ||
          (!after.empty() && isWordChar(after.front()))) {
        continue;
      }
    }
    if (best->lstrip) {
      std::u32string before = decodeUtf8(std::string_view(text).substr(emitted, start - emitted));
      while (!before.empty() && isWhitespace(before.back())) before.pop_back();
      start = emitted + encodeUtf8(before).size();
    }
    if (best->rstrip) {
      const std::u32string after = decodeUtf8(std::string_view(text).substr(stop));
      size_t k = 0;
      while (k < after.size() && isWhitespace(after[k])) ++k;
      stop += encodeUtf8(after.substr(0, k)).size();
    }
    if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1});
    out.push_back({std::string(), best->id});
    emitted = stop;
    pos = std::max(pos, stop);
  }
  if (emitted < text.size()) out.push_back({text.substr(emitted), -1});
  return out;
}

std::vector<std::string> Tokenizer::Impl::preTokenize(const std::string& text) const {
  std::vector<std::string> pieces{text};
  for (const PreTokenizerStep& step : pre_steps) {
    std::vector<std::string> next;
    for (std::string& piece : pieces) {
      if (step.byte_level && step.add_prefix_space && piece.rfind(' ', 0) != 0) {
        piece.insert(piece.begin(), ' ');
      }
      if (step.byte_level && !step.use_regex) {
        next.push_back(std::move(piece));
        continue;
      }
      const std::u32string cps = decodeUtf8(piece, source + ": input text");
      const SplitPattern pattern = step.byte_level ? SplitPattern::kGpt2 : step.pattern;
      for (const auto& [b, e] : splitIsolated(cps, pattern)) {
        next.push_back(encodeUtf8(std::u32string_view(cps).substr(b, e - b)));
      }
    }
    if (step.byte_level) {
      for (std::string& p : next) p = bytesToByteLevel(p);
    }
    pieces = std::move(next);
  }
  return pieces;
}

// Merges the adjacent pair of lowest rank (leftmost on ties) until none is in the merge
// table: the order of `tokenizers`' BPE (a min-heap on (rank, position)).
void Tokenizer::Impl::bpe(const std::string& word, std::vector<int>& out) const {
  if (ignore_merges) {
    if (auto it = vocab.find(word); it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int> symbols;
  const std::u32string chars = decodeUtf8(word, source);
  for (char32_t c : chars) {
    std::string s;
    appendUtf8(c, s);
    if (auto it = vocab.find(s); it != vocab.end()) symbols.push_back(it->second);
  }
  while (symbols.size() > 1) {
    int best_rank = INT_MAX, best_id = -1;
    size_t best_pos = 0;
    for (size_t k = 0; k + 1 < symbols.size(); ++k) {
      auto it = merges.find(pairKey(symbols[k], symbols[k + 1]));
      if (it != merges.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best_id = it->second.second;
        best_pos = k;
      }
    }
    if (best_id < 0) break;
    symbols[best_pos] = best_id;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::fromFile(const std::string& path) {
  std::filesystem::path file(path);
  if (std::filesystem::is_directory(file)) file /= "tokenizer.json";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open tokenizer file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return fromJsonText(buffer.str(), file.string());
}

Tokenizer Tokenizer::fromJsonText(const std::string& json_text, const std::string& source) {
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    impl->fail(std::string("invalid JSON: ") + e.what());
  }
  try {
    impl->parse(root);
  } catch (const Json::exception& e) {
    impl->fail(std::string("unexpected value: ") + e.what());
  }
  return Tokenizer(std::move(impl));
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  decodeUtf8(text, impl_->source + ": input text");  // reject invalid UTF-8 up front
  std::vector<int> ids;
  for (const Segment& raw : impl_->splitAdded(text, /*normalized_pass=*/false)) {
    if (raw.added_id >= 0) {
      ids.push_back(raw.added_id);
      continue;
    }
    for (const Segment& seg : impl_->splitAdded(impl_->normalize(raw.text), true)) {
      if (seg.added_id >= 0) {
        ids.push_back(seg.added_id);
        continue;
      }
      for (const std::string& piece : impl_->preTokenize(seg.text)) impl_->bpe(piece, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int id : ids) {
    if (skip_special_tokens && isSpecial(id)) continue;
    const std::string token = idToToken(id);
    // A token made only of byte characters is spelled back as bytes; any other (an added
    // token such as CJK text) is copied as its UTF-8, like the ByteLevel decoder.
    std::string spelled;
    bool all_bytes = true;
    for (char32_t c : decodeUtf8(token, impl_->source)) {
      const int b = unicodeToByte(c);
      if (b < 0) {
        all_bytes = false;
        break;
      }
      spelled.push_back(static_cast<char>(b));
    }
    bytes += all_bytes ? spelled : token;
  }
  return encodeUtf8(decodeUtf8Lossy(bytes));
}

std::optional<int> Tokenizer::tokenToId(const std::string& token) const {
  for (const AddedToken& a : impl_->added) {
    if (a.content == token) return a.id;
  }
  if (auto it = impl_->vocab.find(token); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

int Tokenizer::requireTokenId(const std::string& token) const {
  if (auto id = tokenToId(token)) return *id;
  impl_->fail("token '" + token + "' is not in the vocabulary");
}

std::string Tokenizer::idToToken(int id) const {
  if (id < 0 || id >= vocabSize() || impl_->id_to_token[id].empty()) {
    impl_->fail("token id " + std::to_string(id) + " is out of the vocabulary");
  }
  return impl_->id_to_token[id];
}

int Tokenizer::vocabSize() const { return static_cast<int>(impl_->id_to_token.size()); }

bool Tokenizer::isSpecial(int id) const {
  return id >= 0 && id < static_cast<int>(impl_->special.size()) && impl_->special[id];
}

const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace svln::model
