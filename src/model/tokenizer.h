// Byte-level BPE tokenizer loaded from a Hugging Face `tokenizer.json` (Qwen2 / GPT-2
// family), giving the ids `tokenizers` gives:
//
//   text ──split out added tokens (<|im_start|>, <image>, ...)──┐
//     └─ other stretches: normalise (NFC) ─ regex split ─ bytes→byte chars ─ BPE merges ─┤→ ids
//
// Torch-free so that it compiles fast and the CLI can use it without a model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace svln::model {

class Tokenizer {
 public:
  // `path` is a tokenizer.json file or a directory holding one. Throws
  // std::runtime_error("<file>: <problem>") for a missing/corrupt file or an unsupported
  // tokenizer type (WordPiece, Unigram, an unknown normaliser or regex, ...).
  static Tokenizer fromFile(const std::string& path);
  // `source` names the text in error messages.
  static Tokenizer fromJsonText(const std::string& json_text, const std::string& source);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Ids for `text` (UTF-8; invalid UTF-8 throws). Added tokens in the text are recognised
  // and never split; no BOS/EOS is added (Qwen2 adds none).
  std::vector<int> encode(const std::string& text) const;
  // Byte-level decoding; bytes that do not form UTF-8 become U+FFFD, as in `tokenizers`.
  std::string decode(const std::vector<int>& ids, bool skip_special_tokens = false) const;

  // Id of a vocabulary or added token, nullopt if absent.
  std::optional<int> tokenToId(const std::string& token) const;
  // Like tokenToId but throws naming the tokenizer file when absent.
  int requireTokenId(const std::string& token) const;
  // The token string (byte characters for vocabulary entries); throws for an unknown id.
  std::string idToToken(int id) const;
  // One past the largest id (vocabulary and added tokens).
  int vocabSize() const;
  bool isSpecial(int id) const;
  const std::string& source() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds a small Qwen2-style tokenizer for tests and random-weight models: the 256 byte
// tokens, BPE merges learned on English navigation instructions and the StreamVLN prompt
// strings (the seed picks the generated instructions), then the added tokens
// <|endoftext|>, <|im_start|>, <|im_end|>, <image>, <memory> as the last five ids. Ids run
// 0..vocab_size-1, or stop earlier when the corpus has no pair seen twice left to merge
// (about 1.5 k ids): a model's embedding may be larger than its tokenizer, as Qwen2's 152064
// rows are for 151646 tokens. Writes tokenizer.json, tokenizer_config.json (with Qwen2's
// chat template) and special_tokens_map.json into `dir` (created if needed), each
// atomically. Same arguments, same bytes. Throws if vocab_size < 261.
void writeSyntheticTokenizer(const std::string& dir, int vocab_size, uint64_t seed);

// The tokenizer.json text writeSyntheticTokenizer writes (for tests and in-memory use).
std::string syntheticTokenizerJson(int vocab_size, uint64_t seed);

}  // namespace svln::model
