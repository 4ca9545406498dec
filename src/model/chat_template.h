// The StreamVLN conversation strings, exactly as the released model was trained on them
// (Qwen2 chat format). One window of the streaming dialogue reads:
//
//   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n          (window start only)
//   <|im_start|>user\nYou are an autonomous ... Your task is to {instruction} Devise ...
//       [ These are your historical observations <memory>.] {phrase}<image>.<|im_end|>\n
//   <|im_start|>assistant\n<|im_end|>\n                                    (empty, as released)
//   <|im_start|>assistant\n↑↑←↑<|im_end|>                                  (model output)
//   <|im_start|>user\n{phrase}<image>.<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n
//   <|im_start|>assistant\n→→↑↑<|im_end|>   ...
#pragma once

#include <random>
#include <string>
#include <vector>

namespace svln::model {

inline constexpr const char* kImageToken = "<image>";
inline constexpr const char* kMemoryToken = "<memory>";
inline constexpr const char* kImStart = "<|im_start|>";
inline constexpr const char* kImEnd = "<|im_end|>";
inline constexpr const char* kEndOfText = "<|endoftext|>";
inline constexpr const char* kSystemPrompt = "You are a helpful assistant.";

// `<|im_start|>{role}\n{content}<|im_end|>\n`
std::string renderMessage(const std::string& role, const std::string& content);

// The seven observation phrases of the release, in its order ("you can see " first).
const std::vector<std::string>& observationPhrases();
// A phrase drawn uniformly with `rng` (the release picks one at random per turn).
const std::string& chooseObservationPhrase(std::mt19937_64& rng);

// Content of the first user turn of a window; `instruction_text` replaces `<instruction>.`
// of the template, so the template's period disappears.
std::string firstUserContent(const std::string& instruction_text, bool with_memory,
                             const std::string& phrase);

// Everything before the model's first answer of a window: system message, first user
// turn, the empty assistant message.
std::string renderWindowPrompt(const std::string& instruction_text, bool with_memory,
                               const std::string& phrase);

// A later turn of the window, appended after the previous answer (which ends in
// <|im_end|> without newline): user turn + empty assistant message.
std::string renderFollowUpPrompt(const std::string& phrase);

// What the model writes for its actions: `<|im_start|>assistant\n{actions}<|im_end|>`.
std::string renderAssistantAnswer(const std::string& actions_text);

}  // namespace svln::model
