#include "model/pretokenizer.h"

#include "model/unicode_text.h"

namespace svln::model {

const char* const kQwen2SplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt2SplitRegex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

bool isNewline(char32_t c) { return c == U'\r' || c == U'\n'; }
bool isOther(char32_t c) { return !isWhitespace(c) && !isLetter(c) && !isNumber(c); }
char32_t asciiLower(char32_t c) { return (c >= U'A' && c <= U'Z') ? c + 32 : c; }

size_t skipWhile(std::u32string_view t, size_t j, bool (*pred)(char32_t)) {
  while (j < t.size() && pred(t[j])) ++j;
  return j;
}

// End of the contraction at i ('s 't 're 've 'm 'll 'd), 0 if none.
size_t matchContraction(std::u32string_view t, size_t i, bool ignore_case) {
  if (t[i] != U'\'' || i + 1 >= t.size()) return 0;
  auto low = [&](size_t k) { return ignore_case ? asciiLower(t[k]) : t[k]; };
  const char32_t a = low(i + 1);
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
  if (i + 2 >= t.size()) return 0;
  const char32_t b = low(i + 2);
  if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return i + 3;
  return 0;
}

// The whitespace alternatives shared by both patterns: \s+(?!\S) | \s+ . Called with t[i]
// whitespace; j is the end of the whitespace run.
size_t matchTrailingSpace(std::u32string_view t, size_t i, size_t j) {
  if (j == t.size()) return j;  // (?!\S) holds at the end of the text
  if (j - 1 > i) return j - 1;  // back off one so the last space joins the next word
  return j;
}

// Leftmost-first match of
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// starting at i; returns its end (> i).
size_t matchQwen2(std::u32string_view t, size_t i) {
  const size_t n = t.size();
  const char32_t c = t[i];
  if (size_t e = matchContraction(t, i, /*ignore_case=*/true)) return e;
  if (isLetter(c)) return skipWhile(t, i + 1, isLetter);
  if (!isNewline(c) && !isNumber(c) && i + 1 < n && isLetter(t[i + 1])) {
    return skipWhile(t, i + 2, isLetter);
  }
  if (isNumber(c)) return i + 1;
  size_t j = (c == U' ' && i + 1 < n && isOther(t[i + 1])) ? i + 1 : i;
  if (isOther(t[j])) return skipWhile(t, skipWhile(t, j + 1, isOther), isNewline);
  // c is whitespace here: every other character was taken above.
  j = skipWhile(t, i, isWhitespace);
  // \s*[\r\n]+ : the whitespace run up to and including its last newline.
  for (size_t k = j; k > i; --k) {
    if (isNewline(t[k - 1])) return k;
  }
  return matchTrailingSpace(t, i, j);
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t matchGpt2(std::u32string_view t, size_t i) {
  const size_t n = t.size();
  if (size_t e = matchContraction(t, i, /*ignore_case=*/false)) return e;
  const size_t j = (t[i] == U' ' && i + 1 < n) ? i + 1 : i;
  for (bool (*cls)(char32_t) : {isLetter, isNumber, isOther}) {
    if (cls(t[j])) return skipWhile(t, j + 1, cls);
  }
  return matchTrailingSpace(t, i, skipWhile(t, i, isWhitespace));
}

std::array<char32_t, 256> makeByteToUnicode() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

}  // namespace

std::optional<SplitPattern> recognizeSplitPattern(const std::string& regex) {
  if (regex == kQwen2SplitRegex) return SplitPattern::kQwen2;
  if (regex == kGpt2SplitRegex) return SplitPattern::kGpt2;
  return std::nullopt;
}

std::vector<std::pair<size_t, size_t>> splitIsolated(std::u32string_view text,
                                                      SplitPattern pattern) {
  std::vector<std::pair<size_t, size_t>> pieces;
  for (size_t i = 0; i < text.size();) {
    const size_t end = pattern == SplitPattern::kQwen2 ? matchQwen2(text, i) : matchGpt2(text, i);
    pieces.emplace_back(i, end);
    i = end;
  }
  return pieces;
}

const std::array<char32_t, 256>& byteToUnicode() {
  static const std::array<char32_t, 256> map = makeByteToUnicode();
  return map;
}

int unicodeToByte(char32_t cp) {
  static const std::array<int, 512> inverse = [] {
    std::array<int, 512> inv{};
    inv.fill(-1);
    const auto& fwd = byteToUnicode();
    for (int b = 0; b < 256; ++b) inv[fwd[b]] = b;
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

std::string bytesToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  const auto& map = byteToUnicode();
  for (char b : bytes) appendUtf8(map[static_cast<unsigned char>(b)], out);
  return out;
}

}  // namespace svln::model
