// Each subcommand of the `streamvln` binary lives in its own file and registers itself
// here; main() builds the CLI11 app from the registry. Adding a command needs no edit to
// main.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace svln::cli {

// setup() adds the subcommand's options to `app` and returns the function that runs it
// (called after parsing); it returns the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandInfo {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<CommandInfo>& commandRegistry();

struct RegisterCommand {
  RegisterCommand(std::string name, std::string description, CommandSetup setup) {
    commandRegistry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace svln::cli
