// `streamvln bench-learning --out DIR --seeds N`: does the method make agents better, on
// every seed? The demo's pipeline (cli/pipeline.h) once per seed, each seed with its own
// apartments, initial weights and SFT base; from that base, every variant is trained and
// evaluated greedily on the same val_unseen episodes:
//
//   DIR/seed-<s>/{data, init, base, hybrid, no_recovery, pure_grpo, continued_sft}
//   DIR/seed-<s>/eval_<variant>.json      per-episode results (a finished one is reused)
//   DIR/results.json                      per seed and variant: SR, SPL, NE, OSR, nDTW, len
//   DIR/results.md                        mean, standard deviation and each seed's figures,
//                                         and the verdict against the targets
//   DIR/results.png                       SR per variant, one dot per seed
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/pipeline.h"
#include "io/plot.h"
#include "io/png_writer.h"
#include "io/raster.h"
#include "sim/gzip_io.h"

namespace svln::cli {
namespace {
namespace fs = std::filesystem;

struct BenchOptions {
  PipelineOptions pipeline;
  std::string out = "runs/bench-learning";
  int seeds = 5;
  std::vector<std::string> variants = {"hybrid", "continued_sft", "no_recovery", "pure_grpo"};
  // Targets: the method beats the base by min_gain SR on the mean and in min_seeds_won seeds.
  double min_gain = 0.10;
  int min_seeds_won = 4;
};

const std::vector<std::string> kMetrics = {"success_rate", "spl", "navigation_error",
                                           "oracle_success_rate", "ndtw", "avg_episode_length"};

Variant parseVariant(const std::string& s) {
  for (Variant v : {Variant::kHybrid, Variant::kNoRecovery, Variant::kPureGrpo, Variant::kContinuedSft})
    if (s == variantName(v)) return v;
  throw std::runtime_error("--variants: unknown variant '" + s +
                           "' (hybrid, continued_sft, no_recovery, pure_grpo)");
}

// The summary of `name`'s evaluation on this seed: read back when its file exists.
std::map<std::string, double> evaluated(const PipelineOptions& p, const std::string& seed_dir,
                                        const std::string& name,
                                        const std::function<std::string()>& model) {
  const std::string file = seed_dir + "/eval_" + name + ".json";
  if (fs::exists(file)) {
    std::ifstream in(file);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    // rl::toJson keeps the summary at the top level, beside "split" and "per_episode".
    if (!j.is_discarded() && j.is_object() && j.contains("success_rate")) {
      std::map<std::string, double> summary;
      for (const auto& [k, v] : j.items())
        if (v.is_number()) summary[k] = v.get<double>();
      spdlog::info("bench-learning: {} reused", file);
      return summary;
    }
  }
  const rl::EvalResult r = evalUnseen(p, seed_dir + "/data/config.yaml", model());
  sim::writeFileAtomic(file, rl::toJson(r).dump(1) + "\n");
  spdlog::info("bench-learning: {} {}", name, rl::formatSummary(r));
  return r.summary;
}

struct Stats {
  double mean = 0, std = 0;
};
Stats stats(const std::vector<double>& x) {
  Stats s;
  if (x.empty()) return s;
  for (double v : x) s.mean += v;
  s.mean /= static_cast<double>(x.size());
  for (double v : x) s.std += (v - s.mean) * (v - s.mean);
  s.std = x.size() > 1 ? std::sqrt(s.std / static_cast<double>(x.size() - 1)) : 0.0;
  return s;
}

// SR per variant, one dot per seed (a seed's dots share a colour) and the mean as a bar.
io::Image dotPlot(const std::vector<std::string>& rows, const std::vector<std::vector<double>>& sr) {
  const int w = 560, h = 320, left = 44, right = w - 16, top = 30, bottom = h - 60;
  io::Image img(w, h);
  const io::Color axis{60, 60, 60, 255}, grid{225, 225, 225, 255};
  io::drawText(img, left, 8, "greedy SR on val_unseen: one dot per seed, bar = mean", axis);
  auto Y = [&](double v) { return bottom - static_cast<float>(v) * (bottom - top); };
  for (double v : io::niceTicks(0.0, 1.0, 5)) {
    io::drawLine(img, {float(left), Y(v)}, {float(right), Y(v)}, 1.f, grid);
    const std::string l = io::tickLabel(v, 0.2);
    io::drawText(img, left - 4.f - io::textWidth(l), Y(v) - 4.f, l, axis);
  }
  io::drawLine(img, {float(left), float(top)}, {float(left), float(bottom)}, 1.f, axis);
  io::drawLine(img, {float(left), float(bottom)}, {float(right), float(bottom)}, 1.f, axis);
  const float slot = static_cast<float>(right - left) / static_cast<float>(std::max<size_t>(1, rows.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    const float cx = left + slot * (static_cast<float>(r) + 0.5f);
    const Stats s = stats(sr[r]);
    io::drawLine(img, {cx - slot * 0.3f, Y(s.mean)}, {cx + slot * 0.3f, Y(s.mean)}, 2.f, axis);
    for (size_t k = 0; k < sr[r].size(); ++k) {
      const float dx = (static_cast<float>(k) - (sr[r].size() - 1) / 2.f) * 6.f;
      io::fillCircle(img, {cx + dx, Y(sr[r][k])}, 3.5f, io::seriesColor(k));
    }
    std::string label = rows[r];
    io::drawText(img, cx - io::textWidth(label) / 2.f, bottom + 8.f + 12.f * (r % 2), label, axis);
  }
  return img;
}

int runBench(const BenchOptions& b) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Variant> variants;
  for (const std::string& s : b.variants) variants.push_back(parseVariant(s));
  fs::create_directories(b.out);
  std::vector<std::string> rows = {"base"};
  for (Variant v : variants) rows.push_back(variantName(v));
  // results[row][seed index] = summary
  std::vector<std::vector<std::map<std::string, double>>> results(rows.size());
  std::vector<uint64_t> seeds;
  for (int k = 0; k < b.seeds; ++k) {
    PipelineOptions p = b.pipeline;
    p.seed = b.pipeline.seed + static_cast<uint64_t>(k);  // --seed is the first seed
    seeds.push_back(p.seed);
    const std::string dir = b.out + "/seed-" + std::to_string(p.seed);
    fs::create_directories(dir);
    const std::string cfg = ensureData(p, dir + "/data");
    // The base is trained only when an evaluation still needs it, so a folder of finished
    // evaluations (from another machine, say) gives its table without training anything.
    const std::string base = dir + "/base";
    auto ensureBase = [&] {
      if (!fs::exists(base + "/config.json")) trainBase(p, cfg, dir, base);
      return base;
    };
    results[0].push_back(evaluated(p, dir, "base", ensureBase));
    for (size_t i = 0; i < variants.size(); ++i) {
      results[i + 1].push_back(evaluated(p, dir, variantName(variants[i]), [&] {
        return trainVariant(p, variants[i], ensureBase(), cfg, dir);
      }));
    }
    spdlog::info("bench-learning: seed {} done ({:.0f} s)", p.seed,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  // results.json
  nlohmann::json j;
  j["seeds"] = seeds;
  j["eval_episodes"] = b.pipeline.eval_episodes;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (const std::string& m : kMetrics) {
      std::vector<double> x;
      for (const auto& s : results[r]) x.push_back(s.at(m));
      const Stats st = stats(x);
      j["variants"][rows[r]][m] = {{"per_seed", x}, {"mean", st.mean}, {"std", st.std}};
    }
  }
  // The verdict.
  auto sr = [&](size_t r) {
    std::vector<double> x;
    for (const auto& s : results[r]) x.push_back(s.at("success_rate"));
    return x;
  };
  const auto row = [&](const std::string& name) {
    return static_cast<size_t>(std::find(rows.begin(), rows.end(), name) - rows.begin());
  };
  std::string verdict;
  const size_t hyb = row("hybrid");
  if (hyb < rows.size()) {
    const std::vector<double> base_sr = sr(0), hyb_sr = sr(hyb);
    int won = 0;
    for (size_t k = 0; k < base_sr.size(); ++k) won += hyb_sr[k] - base_sr[k] >= b.min_gain;
    const double gain = stats(hyb_sr).mean - stats(base_sr).mean;
    const bool mean_ok = gain >= b.min_gain;
    const bool seeds_ok = won >= std::min(b.min_seeds_won, static_cast<int>(base_sr.size()));
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "- method - base: %+.3f SR on the mean (target >= %+.2f): **%s**; gains >= "
                  "%.2f in %d of %zu seeds (target %d): **%s**\n",
                  gain, b.min_gain, mean_ok ? "met" : "not met", b.min_gain, won, base_sr.size(),
                  b.min_seeds_won, seeds_ok ? "met" : "not met");
    verdict += buf;
    j["verdict"]["gain_over_base"] = gain;
    j["verdict"]["seeds_won"] = won;
    j["verdict"]["target_met"] = mean_ok && seeds_ok;
    const size_t ctl = row("continued_sft");
    if (ctl < rows.size()) {
      const double over = stats(hyb_sr).mean - stats(sr(ctl)).mean;
      std::snprintf(buf, sizeof buf,
                    "- method - continued SFT: %+.3f SR on the mean (target > 0): **%s**\n", over,
                    over > 0 ? "met" : "not met");
      verdict += buf;
      j["verdict"]["gain_over_continued_sft"] = over;
      j["verdict"]["beats_continued_sft"] = over > 0;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  j["seconds"] = secs;
  sim::writeFileAtomic(b.out + "/results.json", j.dump(2) + "\n");

  // results.md
  std::string md = "| variant (val_unseen, greedy) | SR mean +- std | SPL mean +- std | SR per seed |\n"
                   "|---|---|---|---|\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& v = j["variants"][rows[r]];
    char buf[256];
    std::snprintf(buf, sizeof buf, "| %s | %.3f +- %.3f | %.3f +- %.3f | ", rows[r].c_str(),
                  v["success_rate"]["mean"].get<double>(), v["success_rate"]["std"].get<double>(),
                  v["spl"]["mean"].get<double>(), v["spl"]["std"].get<double>());
    md += buf;
    for (size_t k = 0; k < seeds.size(); ++k) {
      std::snprintf(buf, sizeof buf, "%s%.3f", k ? " / " : "", results[r][k].at("success_rate"));
      md += buf;
    }
    md += " |\n";
  }
  char foot[256];
  std::snprintf(foot, sizeof foot, "\nSeeds %s; %s val_unseen episodes per evaluation.\n\n",
                [&] {
                  std::string s;
                  for (size_t k = 0; k < seeds.size(); ++k) s += (k ? "," : "") + std::to_string(seeds[k]);
                  return s;
                }().c_str(),
                b.pipeline.eval_episodes > 0 ? std::to_string(b.pipeline.eval_episodes).c_str() : "all");
  md += foot + verdict;
  sim::writeFileAtomic(b.out + "/results.md", md);
  std::vector<std::vector<double>> dots;
  for (size_t r = 0; r < rows.size(); ++r) dots.push_back(sr(r));
  io::writePng(b.out + "/results.png", dotPlot(rows, dots));
  std::printf("%s", md.c_str());
  return 0;
}

const RegisterCommand kRegister(
    "bench-learning",
    "the demo's pipeline over N seeds: SFT base vs hybrid GRPO+SFT vs its controls, mean +- std",
    [](CLI::App& app) {
      auto b = std::make_shared<BenchOptions>();
      app.add_option("--out", b->out, "run folder (finished evaluations in it are reused)")
          ->capture_default_str();
      app.add_option("--seeds", b->seeds, "seeds (each: its own data, initial weights and base)")
          ->check(CLI::Range(1, 1000))->capture_default_str();
      app.add_option("--variants", b->variants,
                     "variants trained from each base: hybrid continued_sft no_recovery pure_grpo")
          ->capture_default_str();
      app.add_option("--min_gain", b->min_gain, "target: SR gain of the method over the base")
          ->check(CLI::Range(-1.0, 1.0))->capture_default_str();
      app.add_option("--min_seeds_won", b->min_seeds_won, "target: seeds that gain at least --min_gain")
          ->check(CLI::Range(0, 1000))->capture_default_str();
      addPipelineFlags(app, b->pipeline);
      return [b] { return runBench(*b); };
    });

}  // namespace
}  // namespace svln::cli
