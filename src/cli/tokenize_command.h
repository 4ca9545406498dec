// `streamvln tokenize`: ids of a text under a tokenizer.json, as JSON on stdout. The model
// command can expose the same as `streamvln model tokenize` by calling runTokenizeCommand.
#pragma once

#include <string>

namespace svln::cli {

// Prints {"ids": [...]} for `text` under the tokenizer at `tokenizer_path` (a
// tokenizer.json or a directory with one); returns the exit code. Bad input throws.
int runTokenizeCommand(const std::string& tokenizer_path, const std::string& text);

}  // namespace svln::cli
