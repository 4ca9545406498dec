// Byte-level BPE pre-tokenisation as Hugging Face `tokenizers` does it: the text is cut by
// a regex (Qwen2's or GPT-2's, hand-implemented over code points: no regex engine has
// \p{L} in std::regex), then each piece's UTF-8 bytes are spelled with the GPT-2
// byte -> printable-character map so BPE works on strings of "byte characters".
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace svln::model {

// The exact pattern strings as they appear in tokenizer.json files.
extern const char* const kQwen2SplitRegex;
extern const char* const kGpt2SplitRegex;

enum class SplitPattern { kQwen2, kGpt2 };

// Which hand-implemented pattern a tokenizer.json regex is; nullopt for any other.
std::optional<SplitPattern> recognizeSplitPattern(const std::string& regex);

// Split with behaviour "Isolated": [begin, end) code-point ranges of the regex matches and
// of the unmatched stretches between them, in order, covering the text.
std::vector<std::pair<size_t, size_t>> splitIsolated(std::u32string_view text, SplitPattern pattern);

// GPT-2 bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes
// to U+0100.. in byte order (space -> 'Ġ' U+0120, '\n' -> 'Ċ' U+010A).
const std::array<char32_t, 256>& byteToUnicode();
// Inverse of byteToUnicode(); -1 for a character that is not a byte character.
int unicodeToByte(char32_t cp);
// The byte characters of a UTF-8 string, as UTF-8.
std::string bytesToByteLevel(std::string_view bytes);

}  // namespace svln::model
