#include "model/unicode_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>

namespace svln::model {
namespace {

// Length of the sequence that `lead` starts, 0 for a byte that cannot lead one.
int sequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Decodes one code point at `i`; returns false (leaving i) for a malformed sequence.
bool decodeOne(std::string_view s, size_t& i, char32_t& cp) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const int len = sequenceLength(lead);
  if (len == 0 || i + len > s.size()) return false;
  if (len == 1) {
    cp = lead;
    ++i;
    return true;
  }
  char32_t v = lead & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return false;
    v = (v << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  cp = v;
  i += len;
  return true;
}

}  // namespace

std::u32string decodeUtf8(std::string_view text, const std::string& what) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!decodeOne(text, i, cp)) {
      throw std::runtime_error(what + ": invalid UTF-8 at byte " + std::to_string(i));
    }
    out.push_back(cp);
  }
  return out;
}

std::u32string decodeUtf8Lossy(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    if (decodeOne(bytes, i, cp)) {
      out.push_back(cp);
      continue;
    }
    // Like from_utf8_lossy: one U+FFFD per maximal invalid prefix of a sequence.
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const int len = sequenceLength(lead);
    size_t j = i + 1;
    if (len > 1) {
      while (j < bytes.size() && j < i + len &&
             (static_cast<unsigned char>(bytes[j]) & 0xC0) == 0x80) {
        // Second-byte limits that make a prefix invalid already (E0 80.., ED A0.., F0 80.., F4 90..).
        if (j == i + 1) {
          const auto c = static_cast<unsigned char>(bytes[j]);
          if ((lead == 0xE0 && c < 0xA0) || (lead == 0xED && c > 0x9F) ||
              (lead == 0xF0 && c < 0x90) || (lead == 0xF4 && c > 0x8F)) {
            break;
          }
        }
        ++j;
      }
    }
    out.push_back(0xFFFD);
    i = j;
  }
  return out;
}

void appendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encodeUtf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) appendUtf8(cp, out);
  return out;
}

bool isLetter(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_L_MASK) != 0; }

bool isNumber(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0; }

bool isWhitespace(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)) != 0; }

std::string normalizeUtf8(const std::string& text, NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = nullptr;
  switch (form) {
    case NormalForm::kNFC: normalizer = icu::Normalizer2::getNFCInstance(status); break;
    case NormalForm::kNFD: normalizer = icu::Normalizer2::getNFDInstance(status); break;
    case NormalForm::kNFKC: normalizer = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalForm::kNFKD: normalizer = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  }
  const icu::UnicodeString source = icu::UnicodeString::fromUTF8(text);
  // Fast path: most text (ASCII instructions) is already normalised.
  if (normalizer->isNormalized(source, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = normalizer->normalize(source, status);
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("Unicode normalisation failed: ") + u_errorName(status));
  }
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

}  // namespace svln::model
