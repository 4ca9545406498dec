// UTF-8 <-> code points, the Unicode character classes the pre-tokenizer regexes use
// (\p{L}, \p{N}, \s) and normalisation forms, backed by ICU so the tables follow one
// Unicode version. Torch-free: the tokenizer must compile and run without libtorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace svln::model {

// Decodes UTF-8; throws std::runtime_error("<what>: ...") on malformed input.
std::u32string decodeUtf8(std::string_view text, const std::string& what = "text");
// Invalid sequences become U+FFFD (what Rust's String::from_utf8_lossy does).
std::u32string decodeUtf8Lossy(std::string_view bytes);
std::string encodeUtf8(std::u32string_view cps);
void appendUtf8(char32_t cp, std::string& out);

bool isLetter(char32_t cp);      // general category L* (Lu Ll Lt Lm Lo)
bool isNumber(char32_t cp);      // general category N* (Nd Nl No)
bool isWhitespace(char32_t cp);  // White_Space property, what Oniguruma's \s matches

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };
std::string normalizeUtf8(const std::string& text, NormalForm form);

}  // namespace svln::model
