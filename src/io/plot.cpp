#include "io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/png_writer.h"

namespace svln::io {

std::map<std::string, Series> readMetricsJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, Series> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      throw std::runtime_error(path + ": line " + std::to_string(line_no) + ": not valid JSON");
    }
    if (!j.is_object())
      throw std::runtime_error(path + ": line " + std::to_string(line_no) + ": not a JSON object");
    const double x = j.contains("update") && j["update"].is_number() ? j["update"].get<double>()
                                                                     : static_cast<double>(line_no);
    for (const auto& [k, v] : j.items()) {
      if (k == "update" || !v.is_number()) continue;
      const double y = v.get<double>();
      if (!std::isfinite(y)) continue;
      Series& s = out[k];
      s.name = k;
      s.x.push_back(x);
      s.y.push_back(y);
    }
  }
  return out;
}

std::vector<double> niceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  // step = m * 10^k with m in {1, 2, 5}, the smallest giving <= target intervals.
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double v = first; v <= hi + step * 0.5 && ticks.size() < 64; v += step)
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  if (ticks.size() >= 2 && ticks.back() < hi - step * 1e-9) ticks.push_back(ticks.back() + step);
  return ticks;
}

std::string tickLabel(double v, double step) {
  char buf[32];
  const double a = std::abs(v);
  if (a != 0.0 && (a >= 1e5 || a < 1e-3)) {
    std::snprintf(buf, sizeof(buf), "%.0e", v);
  } else {
    // As many decimals as the step needs: step 0.25 -> 2, step 5 -> 0.
    int decimals = 0;
    for (double s = step; decimals < 6 && std::abs(s - std::round(s)) > 1e-6 * std::max(1.0, s);
         s *= 10.0)
      ++decimals;
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  }
  return buf;
}

Color seriesColor(size_t i) {
  static const Color kTab10[] = {{31, 119, 180, 255},  {255, 127, 14, 255},  {44, 160, 44, 255},
                                 {214, 39, 40, 255},   {148, 103, 189, 255}, {140, 86, 75, 255},
                                 {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255},
                                 {23, 190, 207, 255}};
  return kTab10[i % 10];
}

Image renderLinePlot(const std::vector<Series>& series, const PlotOptions& opt) {
  constexpr Color kAxis{40, 40, 40, 255};
  constexpr Color kGrid{225, 225, 225, 255};
  Image img(opt.width, opt.height);
  const double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_lo = inf, y_hi = -inf;
  for (const Series& s : series) {
    for (double v : s.x) x_lo = std::min(x_lo, v), x_hi = std::max(x_hi, v);
    for (double v : s.y) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
  }
  if (!(x_lo <= x_hi)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (opt.y_from_zero) y_lo = std::min(y_lo, 0.0), y_hi = std::max(y_hi, 0.0);
  const std::vector<double> xt = niceTicks(x_lo, x_hi, 6);
  const std::vector<double> yt = niceTicks(y_lo, y_hi, 5);
  x_lo = xt.front(), x_hi = xt.back(), y_lo = yt.front(), y_hi = yt.back();
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  const double y_step = yt.size() > 1 ? yt[1] - yt[0] : 1.0;

  int label_w = 0;
  for (double v : yt) label_w = std::max(label_w, textWidth(tickLabel(v, y_step)));
  const float left = 10.f + label_w, right = opt.width - 12.f;
  const float top = 24.f, bottom = opt.height - 30.f;
  const auto X = [&](double v) {
    return static_cast<float>(left + (v - x_lo) / (x_hi - x_lo) * (right - left));
  };
  const auto Y = [&](double v) {
    return static_cast<float>(bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top));
  };

  for (double v : yt) {
    drawLine(img, {left, Y(v)}, {right, Y(v)}, 1.f, kGrid);
    const std::string l = tickLabel(v, y_step);
    drawText(img, left - 4.f - textWidth(l), Y(v) - 4.f, l, kAxis);
  }
  for (double v : xt) {
    drawLine(img, {X(v), top}, {X(v), bottom}, 1.f, kGrid);
    drawLine(img, {X(v), bottom}, {X(v), bottom + 4.f}, 1.f, kAxis);
    const std::string l = tickLabel(v, x_step);
    drawText(img, X(v) - textWidth(l) / 2.f, bottom + 7.f, l, kAxis);
  }
  drawLine(img, {left, top}, {left, bottom}, 1.f, kAxis);
  drawLine(img, {left, bottom}, {right, bottom}, 1.f, kAxis);
  drawText(img, (left + right) / 2.f - textWidth(opt.x_label) / 2.f, bottom + 18.f, opt.x_label,
           kAxis);

  // Title, then a legend of the series names in their colours.
  float lx = left;
  if (!opt.title.empty()) lx += 12 + drawText(img, left, 6.f, opt.title, kAxis);
  for (size_t i = 0; i < series.size(); ++i) {
    const Color c = seriesColor(i);
    drawLine(img, {lx, 10.f}, {lx + 12.f, 10.f}, 3.f, c);
    lx += 16 + drawText(img, lx + 16.f, 6.f, series[i].name, kAxis) + 10;
  }
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    std::vector<PointF> pts;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) pts.push_back({X(s.x[k]), Y(s.y[k])});
    drawPolyline(img, pts, 2.f, seriesColor(i));
    if (pts.size() == 1) fillCircle(img, pts[0], 3.f, seriesColor(i));
  }
  return img;
}

const std::vector<CurveGroup>& curveGroups() {
  static const std::vector<CurveGroup> kGroups = {
      {"success / SPL / nDTW", {"success_rate", "spl", "ndtw"}, true},
      {"oracle rate (expert steps)", {"oracle_rate"}, true},
      {"losses", {"grpo_loss", "sft_loss", "loss"}, false},
      {"SFT weight", {"sft_weight"}, true},
      {"return", {"mean_return", "return"}, false},
      {"KL / clip fraction", {"kl", "clip_fraction"}, false},
  };
  return kGroups;
}

std::vector<std::pair<std::string, std::string>> learningCurvePngs(
    const std::map<std::string, Series>& metrics) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CurveGroup& g : curveGroups()) {
    std::vector<Series> present;
    for (const std::string& k : g.keys) {
      auto it = metrics.find(k);
      if (it != metrics.end()) present.push_back(it->second);
    }
    if (present.empty()) continue;
    PlotOptions opt;
    opt.title = g.title;
    opt.y_from_zero = g.y_from_zero;
    out.emplace_back(g.title, encodePng(renderLinePlot(present, opt)));
  }
  return out;
}

}  // namespace svln::io
