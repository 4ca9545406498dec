// `streamvln eval`: a checkpoint (+ optional PEFT adapter) run greedily over a split with
// many environments at once, without intervention; prints SR, SPL, NE, OSR, nDTW, SDTW and
// the mean length, and writes per-episode JSON with --out.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include <filesystem>

#include "cli/command.h"
#include "cli/policy_source.h"
#include "io/eval_gallery.h"
#include "io/train_flags.h"
#include "rl/evaluate.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"

namespace svln::cli {
namespace {

struct EvalCommandOptions {
  PolicySource source;
  std::string out;
  int save_videos = 0;
  sim::NdtwReference ndtw_reference = sim::NdtwReference::kGt;
  bool habitat_path_limits = true;
  rl::EvalOptions eval;
};

int runEval(const EvalCommandOptions& o) {
  namespace fs = std::filesystem;
  const fs::path out(o.out);
  if (o.save_videos > 0 && (o.out.empty() || out.filename().string().rfind("eval", 0) != 0 ||
                            out.extension() != ".json")) {
    throw std::runtime_error("--save_videos: needs --out naming an eval*.json file (the "
                             "maps and videos go beside it)");
  }
  sim::HabitatConfig cfg = loadSourceConfig(o.source);
  cfg.ndtw_reference = o.ndtw_reference;
  cfg.habitat_path_limits = o.habitat_path_limits;
  rl::Policy policy = loadSourcePolicy(o.source);
  const rl::EvalResult r = rl::evaluate(cfg, policy, o.eval);
  std::printf("%s\n", rl::formatSummary(r).c_str());
  if (!o.out.empty()) sim::writeFileAtomic(o.out, rl::toJson(r).dump(1) + "\n");
  if (o.save_videos > 0) {
    // Replays the first episodes into maps/ and videos/ beside the results file.
    const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    io::renderEvalGallery(dir.string(), cfg, {o.save_videos, o.save_videos});
  }
  return 0;
}

const RegisterCommand kEval(
    "eval", "evaluate a checkpoint greedily over a split (no intervention)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<EvalCommandOptions>();
      addPolicySourceFlags(app, o->source);
      app.add_option("--split", o->eval.split, "split (default: the config's)");
      app.add_option("--num_envs", o->eval.num_envs, "episodes in flight")
          ->check(CLI::Range(1, 4096))->capture_default_str();
      app.add_option("--num_threads", o->eval.num_threads, "rendering threads")
          ->check(CLI::Range(1, 1024))->capture_default_str();
      app.add_option("--max_episodes", o->eval.max_episodes, "at most this many episodes");
      app.add_option("--seed", o->eval.seed, "seed (observation phrases)")->capture_default_str();
      io::addNdtwReferenceFlag(app, o->ndtw_reference);
      io::addPathSearchLimitsFlag(app, o->habitat_path_limits);
      app.add_option("--out", o->out, "write results (summary + per episode) as JSON");
      app.add_option("--save_videos", o->save_videos,
                     "top-down maps and MP4 videos of the first N episodes, beside --out")
          ->check(CLI::Range(0, 100000));
      return [o] { return runEval(*o); };
    });

}  // namespace
}  // namespace svln::cli
