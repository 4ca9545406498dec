// `streamvln report --run DIR`: builds DIR/report.html (config, learning curves, evaluation
// table, map and video gallery) and DIR/curves/*.png from what the run left there.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/command.h"
#include "io/report.h"

namespace svln::cli {
namespace {

const RegisterCommand kReport(
    "report", "write report.html (curves, evaluation table, maps, videos) for a run directory",
    [](CLI::App& app) -> std::function<int()> {
      auto run_dir = std::make_shared<std::string>();
      app.add_option("--run", *run_dir, "run directory (training output_path)")->required();
      return [run_dir] {
        std::printf("%s\n", io::writeRunReport(*run_dir).c_str());
        return 0;
      };
    });

}  // namespace
}  // namespace svln::cli
