// report.html for a run directory: what a researcher opens after (or during) a run. It is
// one self-contained file that works offline: curves are drawn by an inline script on
// <canvas> from data embedded in the page (and also written as PNGs under curves/);
// maps and videos are referenced by relative path inside the run directory.
//
//   run_dir/
//     training.log   -> "Configuration" (the config: block the trainer logs)
//     config.json    -> "Configuration" (when present, preferred)
//     metrics.jsonl  -> "Learning curves"  (+ curves/*.png)
//     eval*.json, eval/*.json -> "Evaluation" table (streamvln eval --out)
//     maps/*.png, videos/*.{mp4,gif} -> "Episodes" gallery
//     visuals/update-<u>/*.{png,mp4,gif} -> "Training episodes", one gallery per update
//     report.html    <- written here
//
// After drawing, the script sets data-rendered="<charts drawn>" on <body>, which the
// browser test reads back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/plot.h"

namespace svln::io {

struct EvalSummary {
  std::string file;  // relative to the run dir
  std::string split;
  int episodes = 0;
  std::map<std::string, double> summary;  // success_rate, spl, navigation_error, ...
};

// Maps and videos the trainer wrote every --visuals_every updates
// (<run_dir>/visuals/update-<u>/).
struct VisualSet {
  int64_t update = 0;
  std::vector<std::string> maps;    // relative paths
  std::vector<std::string> videos;
};

struct ReportInputs {
  std::string title;
  std::vector<std::pair<std::string, std::string>> config;  // key, value in file order
  std::map<std::string, Series> metrics;
  std::vector<EvalSummary> evals;
  std::vector<std::string> maps;    // relative paths of map PNGs
  std::vector<std::string> videos;  // relative paths of .mp4 / .gif
  std::vector<VisualSet> training_visuals;  // by update, ascending
};

// Collects everything above from a run directory. Throws "<file>: <problem>" for a corrupt
// metrics.jsonl, eval JSON or config.json; missing files just leave their section empty.
ReportInputs collectReportInputs(const std::string& run_dir);
// The page (HTML text); every string from the run is HTML-escaped.
std::string renderReportHtml(const ReportInputs& in);
// Collects, writes curves/*.png and <run_dir>/report.html atomically; returns the path.
std::string writeRunReport(const std::string& run_dir);

// The "config:" block RunLogger::logLine(describeConfig(...)) writes, as key/value pairs.
std::vector<std::pair<std::string, std::string>> parseTrainingLogConfig(const std::string& text);
std::string htmlEscape(const std::string& s);

}  // namespace svln::io
