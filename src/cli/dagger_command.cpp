// `streamvln dagger`: DAgger data collection (rl/dagger.h). The policy drives greedily over
// a split, the expert labels every state it visits, and the episodes are written as a
// VLN-CE episode file plus its `_gt` file (locations visited, the expert's actions there).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/policy_source.h"
#include "rl/dagger.h"
#include "sim/episode.h"
#include "sim/gzip_io.h"

namespace svln::cli {
namespace {

struct DaggerCommandOptions {
  PolicySource source;
  std::string out;
  rl::DaggerOptions dagger;
};

int runDagger(const DaggerCommandOptions& o) {
  const std::string suffix = ".json.gz";
  if (o.out.size() <= suffix.size() || !sim::endsWith(o.out, suffix))
    throw std::runtime_error("--output_path: must name a .json.gz episode file, got '" + o.out +
                             "'");
  const sim::HabitatConfig cfg = loadSourceConfig(o.source);
  rl::Policy policy = loadSourcePolicy(o.source);
  const rl::DaggerResult r = rl::collectDagger(cfg, policy, o.dagger);
  if (r.data.episodes.empty())
    throw std::runtime_error("dagger: no episode could be labelled (the expert had no path)");
  sim::saveEpisodes(r.data, o.out);
  std::printf("dagger: %zu episodes, %d labelled states (policy agreed with the expert on %.3f), "
              "%d dropped -> %s and %s\n",
              r.data.episodes.size(), r.steps,
              r.steps > 0 ? static_cast<double>(r.agreements) / r.steps : 0.0, r.dropped,
              o.out.c_str(), sim::gtPathFor(o.out).c_str());
  return 0;
}

const RegisterCommand kDagger(
    "dagger",
    "roll the policy out with expert labels (DAgger) and write VLN-CE-style trajectories",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<DaggerCommandOptions>();
      addPolicySourceFlags(app, o->source);
      app.add_option("--output_path", o->out,
                     "the episode file to write (.json.gz); its _gt.json.gz goes beside it")
          ->required();
      app.add_option("--split", o->dagger.split, "split (default: the config's)");
      app.add_option("--max_episodes", o->dagger.max_episodes, "at most this many episodes");
      app.add_option("--num_envs", o->dagger.num_envs, "episodes in flight")
          ->check(CLI::Range(1, 4096))->capture_default_str();
      app.add_option("--num_threads", o->dagger.num_threads, "rendering threads")
          ->check(CLI::Range(1, 1024))->capture_default_str();
      app.add_option("--seed", o->dagger.seed, "seed (observation phrases)")->capture_default_str();
      return [o] { return runDagger(*o); };
    });

}  // namespace
}  // namespace svln::cli
