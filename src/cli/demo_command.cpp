// `streamvln demo --out DIR`: the whole story on the built-in procedural world, on CPU.
//
//   gen-data (DIR/data) ─► tiny StreamVLN (DIR/init) ─► sft: base policy (DIR/base)
//     ─► eval val_unseen ─► DIR/hybrid: train phase1_stop ─► merge ─► train phase2_progress
//     ─► merge ─► eval val_unseen ─► before/after table with standard errors (stdout,
//     DIR/results.md, DIR/results.json). The stages are cli/pipeline.h's.
//
// Every stage writes into DIR, so the intermediate checkpoints and training logs stay
// inspectable; an existing DIR/data is reused.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/pipeline.h"
#include "io/eval_gallery.h"
#include "io/report.h"
#include "rl/evaluate.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"

namespace svln::cli {
namespace {
namespace fs = std::filesystem;

struct DemoOptions {
  PipelineOptions pipeline = [] {
    PipelineOptions p;
    p.visuals_every = 10;
    return p;
  }();
  std::string out = "runs/demo";
  std::string data_dir;    // reuse a dataset (default DIR/data, made when missing)
  std::string base_model;  // reuse a base policy and skip init + SFT (ablations)
  bool disable_recovery = false;
  bool pure_grpo = false;
};

// SR and SPL with their standard error over episodes, e.g. "0.583 +- 0.047".
std::string withError(const rl::EvalResult& r, const char* key) {
  const double n = std::max<double>(1.0, static_cast<double>(r.episodes.size()));
  const double mean = r.summary.at(key);
  double var = 0;
  for (const rl::EpisodeResult& e : r.episodes) {
    const double x = std::string(key) == "spl" ? e.metrics.spl : e.metrics.success;
    var += (x - mean) * (x - mean);
  }
  const double se = n > 1 ? std::sqrt(var / (n - 1) / n) : 0.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f +- %.3f", mean, se);
  return buf;
}

std::string tableRow(const char* name, const rl::EvalResult& r) {
  const auto& m = r.summary;
  char buf[320];
  std::snprintf(buf, sizeof buf, "| %-30s | %s | %s | %6.2f | %5.3f | %5.3f | %6.1f |", name,
                withError(r, "success_rate").c_str(), withError(r, "spl").c_str(),
                m.at("navigation_error"), m.at("oracle_success_rate"), m.at("ndtw"),
                m.at("avg_episode_length"));
  return buf;
}

int runDemo(const DemoOptions& d) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  const PipelineOptions& p = d.pipeline;
  fs::create_directories(d.out);
  const std::string cfg_path = ensureData(p, d.data_dir.empty() ? d.out + "/data" : d.data_dir);
  spdlog::info("demo: data ready ({:.0f} s)", elapsed());

  std::string base = d.base_model;
  if (base.empty()) {
    base = d.out + "/base";
    const auto [ce0, ce1] = trainBase(p, cfg_path, d.out, base);
    spdlog::info("demo: base policy by SFT, CE {:.3f} -> {:.3f} ({:.0f} s)", ce0, ce1, elapsed());
  }
  const rl::EvalResult before = evalUnseen(p, cfg_path, base);
  spdlog::info("demo: base on val_unseen: {} ({:.0f} s)", rl::formatSummary(before), elapsed());

  const Variant v = d.pure_grpo ? Variant::kPureGrpo
                    : d.disable_recovery ? Variant::kNoRecovery
                                         : Variant::kHybrid;
  const std::string final_model = trainVariant(p, v, base, cfg_path, d.out);
  spdlog::info("demo: {} training done ({:.0f} s)", variantName(v), elapsed());
  const rl::EvalResult after = evalUnseen(p, cfg_path, final_model);

  // Paired: the same episodes before and after.
  const rl::PairedSuccesses paired = rl::pairedSuccesses(rl::successesById(before), after);
  const int gained = paired.gained, lost = paired.lost;
  std::string table =
      "| policy (val_unseen, greedy)    | SR (+- s.e.)   | SPL (+- s.e.)  |   NE   |  OSR  | nDTW  |  len   |\n"
      "|--------------------------------|----------------|----------------|--------|-------|-------|--------|\n" +
      tableRow("base (SFT)", before) + "\n" + tableRow(variantLabel(v), after) + "\n";
  char foot[320];
  std::snprintf(foot, sizeof foot,
                "\n%d val_unseen episodes (s.e. = standard error over episodes); %d episodes "
                "gained, %d lost; seed %llu; %.0f s end to end\n",
                static_cast<int>(after.episodes.size()), gained, lost,
                static_cast<unsigned long long>(p.seed), elapsed());
  table += foot;
  std::printf("%s", table.c_str());
  sim::writeFileAtomic(d.out + "/results.md", table);
  nlohmann::json j;
  j["before"] = before.summary;
  j["after"] = after.summary;
  j["episodes"] = after.episodes.size();
  j["gained"] = gained;
  j["lost"] = lost;
  j["variant"] = variantName(v);
  j["seed"] = p.seed;
  j["seconds"] = elapsed();
  sim::writeFileAtomic(d.out + "/results.json", j.dump(2) + "\n");
  // What the agent did: the evaluations beside the last phase's logs, replayed into maps
  // and videos, and a report.html per training phase.
  const std::string dir = d.out + "/" + variantName(v);
  const std::string p1 = dir + "/phase1_stop", p2 = dir + "/phase2_progress";
  const std::string last = p.phase2_updates > 0 ? p2 : p1;
  sim::HabitatConfig cfg = sim::loadHabitatConfig(cfg_path);
  sim::writeFileAtomic(last + "/eval_base_val_unseen.json", rl::toJson(before).dump(1) + "\n");
  sim::writeFileAtomic(last + "/eval_final_val_unseen.json", rl::toJson(after).dump(1) + "\n");
  io::renderEvalGallery(last, cfg, {4, 1});
  io::writeRunReport(p1);
  if (p.phase2_updates > 0) io::writeRunReport(p2);
  std::printf("report: %s/report.html\n", last.c_str());
  return 0;
}

const RegisterCommand kRegister(
    "demo", "end to end on CPU: data, tiny model, SFT base, hybrid GRPO+SFT, before/after table",
    [](CLI::App& app) {
      auto d = std::make_shared<DemoOptions>();
      app.add_option("--out", d->out, "run folder")->capture_default_str();
      app.add_option("--data_dir", d->data_dir, "dataset folder to use (made when missing; default DIR/data)");
      app.add_option("--base_model", d->base_model, "use this base policy instead of init + SFT");
      addPipelineFlags(app, d->pipeline);
      auto* dis = app.add_flag("--disable_recovery", d->disable_recovery, "ablation: no expert intervention");
      app.add_flag("--pure_grpo", d->pure_grpo, "ablation: without --use_hybrid_training")->excludes(dis);
      return [d] { return runDemo(*d); };
    });

}  // namespace
}  // namespace svln::cli
