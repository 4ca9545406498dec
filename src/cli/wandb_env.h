// The one place that reads the WANDB_* variables (io/wandb_run.h says what each means) and
// the command line recorded in a W&B run's wandb-metadata.json.
#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace svln::cli {

inline std::map<std::string, std::string> wandbEnvironment() {
  static const char* const kKeys[] = {"WANDB_MODE",     "WANDB_DIR",    "WANDB_API_KEY",
                                      "WANDB_BASE_URL", "WANDB_RUN_ID", "WANDB_ENTITY"};
  std::map<std::string, std::string> env;
  for (const char* key : kKeys)
    if (const char* v = std::getenv(key)) env[key] = v;
  return env;
}

// argv[1..] of this process (/proc/self/cmdline; empty where that file does not exist).
inline std::vector<std::string> commandArguments() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), {});
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] != '\0') continue;
    args.push_back(all.substr(start, i - start));
    start = i + 1;
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

}  // namespace svln::cli
