#include "model/action_codec.h"

#include <stdexcept>

#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace svln::model {

namespace {
constexpr const char* kSymbols[4] = {"STOP", "\xE2\x86\x91", "\xE2\x86\x90", "\xE2\x86\x92"};
}  // namespace

const char* actionSymbol(int action) {
  if (action < 0 || action > 3) throw std::invalid_argument("actionSymbol: no action " + std::to_string(action));
  return kSymbols[action];
}

std::string actionsToText(const std::vector<int>& actions) {
  std::string s;
  for (int a : actions) s += actionSymbol(a);
  return s;
}

std::vector<int> parseActions(const std::string& text) {
  std::vector<int> out;
  size_t i = 0;
  while (i < text.size()) {
    int found = -1;
    for (int a = 0; a < 4; ++a) {
      if (text.compare(i, std::char_traits<char>::length(kSymbols[a]), kSymbols[a]) == 0) {
        found = a;
        break;
      }
    }
    if (found >= 0) {
      out.push_back(found);
      i += std::char_traits<char>::length(kSymbols[found]);
    } else {
      ++i;
    }
  }
  if (out.empty()) out.push_back(kActionStop);
  return out;
}

ActionCodec::ActionCodec(const Tokenizer& tokenizer) {
  for (int a = 0; a < 4; ++a) {
    tokens_[a] = tokenizer.encode(kSymbols[a]);
    if (tokens_[a].empty()) {
      throw std::runtime_error(tokenizer.source() + ": cannot encode action " + kSymbols[a]);
    }
  }
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) {
      if (tokens_[a].front() == tokens_[b].front()) {
        throw std::runtime_error(tokenizer.source() + ": actions " + kSymbols[a] + " and " +
                                 kSymbols[b] + " start with the same token");
      }
    }
  }
  im_end_ = tokenizer.requireTokenId(kImEnd);
}

int ActionCodec::actionOfFirstToken(int token) const {
  for (int a = 0; a < 4; ++a) {
    if (tokens_[a].front() == token) return a;
  }
  return -1;
}

bool ActionCodec::singleTokenActions() const {
  for (const auto& t : tokens_) {
    if (t.size() != 1) return false;
  }
  return true;
}

}  // namespace svln::model
