// Learning curves: metrics.jsonl (one {"update": u, key: value, ...} object per line, as
// RunLogger writes it) read into series and drawn as PNG line plots with axes and ticks.
//
//   success_rate
//   1.0 |        ___/--
//   0.5 |   __/--
//   0.0 +--+----+----+--
//       0  10   20   30  update
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/raster.h"

namespace svln::io {

struct Series {
  std::string name;
  std::vector<double> x;  // update index
  std::vector<double> y;
};

// key -> series over "update" (or the line number when a line has no "update"). Non-numeric
// values are skipped. Throws "<path>: line N: <problem>" for a line that is not a JSON object.
std::map<std::string, Series> readMetricsJsonl(const std::string& path);

struct PlotOptions {
  int width = 480;
  int height = 300;
  std::string title;
  std::string x_label = "update";
  bool y_from_zero = false;  // include 0 in the y range (rates)
};

// One or more series on shared axes; "nice" ticks (1, 2, 5 x 10^k) on both axes.
Image renderLinePlot(const std::vector<Series>& series, const PlotOptions& opt);

// Tick values covering [lo, hi] with about `target` steps of 1, 2 or 5 x 10^k.
std::vector<double> niceTicks(double lo, double hi, int target = 5);
// Short label for a tick: "0.25", "1e+04", "120".
std::string tickLabel(double v, double step);

// Colour of the i-th series (matplotlib's tab10).
Color seriesColor(size_t i);

// A chart of the report: the keys it shows (those present in metrics.jsonl).
struct CurveGroup {
  std::string title;
  std::vector<std::string> keys;
  bool y_from_zero = false;
};
const std::vector<CurveGroup>& curveGroups();

// The report's standard curves from a metrics file: {name, PNG bytes} for each group
// present (rates, losses, sft_weight, return...).
std::vector<std::pair<std::string, std::string>> learningCurvePngs(
    const std::map<std::string, Series>& metrics);

}  // namespace svln::io
