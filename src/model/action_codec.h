// Actions <-> the text StreamVLN writes: "↑" MOVE_FORWARD (1), "←" TURN_LEFT (2),
// "→" TURN_RIGHT (3), "STOP" (0), concatenated without separators, up to
// num_future_steps per answer. Torch-free.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace svln::model {

class Tokenizer;

// Action ids as VLN-CE numbers them.
inline constexpr int kActionStop = 0;
inline constexpr int kActionForward = 1;
inline constexpr int kActionLeft = 2;
inline constexpr int kActionRight = 3;

// The symbol of an action ("STOP", "↑", "←", "→").
const char* actionSymbol(int action);
// Concatenated symbols, e.g. {1,1,2} -> "↑↑←".
std::string actionsToText(const std::vector<int>& actions);
// The release's parser: scans the text for the four symbols in order of appearance;
// nothing parseable means a single STOP.
std::vector<int> parseActions(const std::string& text);

// Token sequences of the four actions under a tokenizer. The rollout decodes over this
// alphabet: the first token of each action is a choice, the rest (if an action spans
// several tokens) are forced.
class ActionCodec {
 public:
  explicit ActionCodec(const Tokenizer& tokenizer);
  const std::vector<int>& tokens(int action) const { return tokens_.at(action); }
  int firstToken(int action) const { return tokens_.at(action).front(); }
  // The action whose first token is `token`, -1 if none.
  int actionOfFirstToken(int token) const;
  int imEnd() const { return im_end_; }
  // Whether every action is a single token (documented per tokenizer in docs/model.md).
  bool singleTokenActions() const;

 private:
  std::array<std::vector<int>, 4> tokens_;
  int im_end_ = -1;
};

}  // namespace svln::model
