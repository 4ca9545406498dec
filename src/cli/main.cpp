// The `streamvln` binary: subcommands register themselves (see command.h). Errors from
// bad input arrive as exceptions and are printed here as one line, with exit code 1.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <iostream>

#include "cli/command.h"

namespace svln::cli {
std::vector<CommandInfo>& commandRegistry() {
  static std::vector<CommandInfo> registry;
  return registry;
}
}  // namespace svln::cli

namespace {

// CLI11's range checks compare, and every comparison with NaN is false, so "--lr nan"
// would pass them all: no numeric flag of any command takes NaN.
void rejectNotANumber(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    for (const CLI::Option* opt : sub->get_options()) {
      for (const std::string& v : opt->results()) {
        std::string low = v;
        std::transform(low.begin(), low.end(), low.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!low.empty() && (low[0] == '+' || low[0] == '-')) low.erase(0, 1);
        if (low == "nan" || low.rfind("nan(", 0) == 0)
          throw CLI::ValidationError(opt->get_name(), v + " is not a number");
      }
    }
    rejectNotANumber(*sub);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace svln::cli;
  CLI::App app{"streamvln: hybrid GRPO + SFT training of StreamVLN agents"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  auto& registry = commandRegistry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& info : registry) {
    CLI::App* sub = app.add_subcommand(info.name, info.description);
    runners.emplace_back(sub, info.setup(*sub));
  }
  try {
    app.parse(argc, argv);
    rejectNotANumber(app);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const std::exception& e) {
    // One line: the first of the message (libtorch appends its C++ backtrace below it).
    const std::string what = e.what();
    std::cerr << "error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  }
  return 0;
}
