// Runs the streamvln binary under test (SVLN_BINARY) as a user would, for the CLI tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace svln::test {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout, with stderr merged in unless asked apart
  std::string err;     // stderr, when asked apart
};

// `streamvln ARGS`; with stderr_apart, stdout alone goes to `output` (for commands whose
// stdout is data, like `score`'s JSON) and stderr to `err`.
inline CliRun runCli(const std::string& args, bool stderr_apart = false) {
  const std::string err_file =
      (std::filesystem::temp_directory_path() / "svln_cli_stderr.txt").string();
  const std::string cmd = std::string(SVLN_BINARY) + " " + args +
                          (stderr_apart ? " 2>" + err_file : std::string(" 2>&1"));
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (stderr_apart) {
    std::ifstream e(err_file);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
  }
  return r;
}

}  // namespace svln::test
