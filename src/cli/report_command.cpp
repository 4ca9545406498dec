// `streamvln report --run DIR [--habitat_config_path CFG]`: builds DIR/report.html (config,
// learning curves, evaluation table, map and video gallery) and DIR/curves/*.png from what
// the run left there. With a config, the episodes of DIR's eval*.json files are replayed
// first into maps/ and videos/.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "io/eval_gallery.h"
#include "io/report.h"
#include "sim/habitat_config.h"

namespace svln::cli {
namespace {

struct ReportCommandOptions {
  std::string run_dir;
  std::string config;
  io::GalleryOptions gallery;
};

const RegisterCommand kReport(
    "report", "write report.html (curves, evaluation table, maps, videos) for a run directory",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ReportCommandOptions>();
      app.add_option("--run", o->run_dir, "run directory (training output_path)")->required();
      app.add_option("--habitat_config_path", o->config,
                     "config to replay eval*.json episodes into maps/ and videos/ (optional)");
      app.add_option("--maps", o->gallery.max_maps, "maps per eval file")
          ->check(CLI::Range(0, 10000))
          ->capture_default_str();
      app.add_option("--videos", o->gallery.max_videos, "videos per eval file")
          ->check(CLI::Range(0, 10000))
          ->capture_default_str();
      return [o] {
        if (!o->config.empty())
          io::renderEvalGallery(o->run_dir, sim::loadHabitatConfig(o->config), o->gallery);
        std::printf("%s\n", io::writeRunReport(o->run_dir).c_str());
        return 0;
      };
    });

}  // namespace
}  // namespace svln::cli
