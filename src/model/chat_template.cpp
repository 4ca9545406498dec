#include "model/chat_template.h"

namespace svln::model {

std::string renderMessage(const std::string& role, const std::string& content) {
  return std::string(kImStart) + role + "\n" + content + kImEnd + "\n";
}

const std::vector<std::string>& observationPhrases() {
  static const std::vector<std::string> phrases = {
      "you can see ",       "in front of you is ", "there is ",         "you can spot ",
      "you are toward the ", "ahead of you is ",    "in your sight is "};
  return phrases;
}

const std::string& chooseObservationPhrase(std::mt19937_64& rng) {
  const auto& phrases = observationPhrases();
  std::uniform_int_distribution<size_t> pick(0, phrases.size() - 1);
  return phrases[pick(rng)];
}

std::string firstUserContent(const std::string& instruction_text, bool with_memory,
                             const std::string& phrase) {
  std::string content =
      "You are an autonomous navigation assistant. Your task is to " + instruction_text +
      " Devise an action sequence to follow the instruction using the four actions: TURN LEFT "
      "(\u2190) or TURN RIGHT (\u2192) by 15 degrees, MOVE FORWARD (\u2191) by 25 centimeters, "
      "or STOP.";
  if (with_memory) content += std::string(" These are your historical observations ") + kMemoryToken + ".";
  content += " " + phrase + kImageToken + ".";
  return content;
}

std::string renderWindowPrompt(const std::string& instruction_text, bool with_memory,
                               const std::string& phrase) {
  return renderMessage("system", kSystemPrompt) +
         renderMessage("user", firstUserContent(instruction_text, with_memory, phrase)) +
         renderMessage("assistant", "");
}

std::string renderFollowUpPrompt(const std::string& phrase) {
  return renderMessage("user", phrase + kImageToken + ".") + renderMessage("assistant", "");
}

std::string renderAssistantAnswer(const std::string& actions_text) {
  return std::string(kImStart) + "assistant\n" + actions_text + kImEnd;
}

}  // namespace svln::model
