// `streamvln expert`: drives every episode of a split with a stand-in policy (the expert,
// random, or the expert with random noise) under expert intervention, position-only, and
// reports SR, SPL, nDTW, Oracle Rate and triggers; the tool for tuning the intervention
// thresholds before spending GPU hours (docs/expert.md).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "expert/intervention.h"
#include "expert/stand_in_episode.h"
#include "io/train_flags.h"
#include "rl/train_setup.h"
#include "sim/episode.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/measures.h"
#include "sim/path_finder.h"
#include "sim/scene_cache.h"
#include "sim/thread_pool.h"

namespace svln::cli {
namespace {

struct ExpertOptions {
  std::string config;
  std::string split;
  std::string policy = "expert";
  std::string out;
  int max_episodes = 0;  // 0 = all
  int64_t seed = -1;     // -1 = the Habitat config's seed
  int threads = 0;       // 0 = hardware concurrency
  std::string recovery_mode = "takeover";
  io::FollowerRule follower = io::FollowerRule::Heading;
  expert::InterventionConfig iv;
};

// Only the scene's navmesh, for the config's agent size (nothing here looks).
std::unique_ptr<sim::PathFinder> loadNavigation(const sim::HabitatConfig& cfg,
                                                const std::string& scene_id) {
  sim::NavMeshSettings settings;
  settings.agent_radius = cfg.agent_radius;
  settings.agent_height = cfg.agent_height;
  return sim::loadNavMeshForAgent(cfg.scenePath(scene_id), settings);
}

std::vector<sim::Episode> loadSplit(const sim::HabitatConfig& cfg, const std::string& split) {
  std::vector<sim::Episode> episodes;
  for (const std::string& path : cfg.episodesPaths(split)) {
    sim::EpisodeDataset data = sim::loadEpisodes(path);
    for (sim::Episode& ep : data.episodes) episodes.push_back(std::move(ep));
  }
  return episodes;
}

nlohmann::json episodeJson(const expert::StandInRun& r) {
  const sim::EpisodeMetrics& m = r.metrics;
  return {{"episode_id", r.episode_id},
          {"success", m.success},
          {"spl", m.spl},
          {"ndtw", m.ndtw},
          {"sdtw", m.sdtw},
          {"distance_to_goal", m.distance_to_goal},
          {"path_length", m.path_length},
          {"steps", m.steps},
          {"collisions", m.collisions},
          {"end", expert::episodeEndName(r.end)},
          {"expert_steps", r.counters.expert_steps},
          {"policy_steps", r.counters.policy_steps},
          {"oracle_rate", r.counters.oracleRate()},
          {"recoveries_triggered", r.counters.recoveries_triggered},
          {"recoveries_completed", r.counters.recoveries_completed},
          {"forced_stops", r.counters.forced_stops},
          {"demo_steps", r.demo_steps}};
}

int runExpert(ExpertOptions o) {
  o.iv.recovery_mode = expert::parseRecoveryMode(o.recovery_mode);
  o.iv.follower = rl::expertFollowerRule(o.follower);
  o.iv.validate();
  const expert::StandInPolicy policy = expert::parseStandInPolicy(o.policy);
  if (o.max_episodes < 0) throw std::runtime_error("--max-episodes: must be >= 0");
  const sim::HabitatConfig cfg = sim::loadHabitatConfig(o.config);
  std::vector<sim::Episode> episodes = loadSplit(cfg, o.split);
  if (o.max_episodes > 0 && static_cast<int>(episodes.size()) > o.max_episodes) {
    episodes.resize(o.max_episodes);
  }
  if (episodes.empty()) throw std::runtime_error(cfg.episodesPath(o.split) + ": no episodes");
  const uint64_t seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : cfg.seed;
  const int threads = o.threads > 0
                          ? o.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  std::map<std::string, int> scene_index;
  std::vector<std::string> scenes;
  for (const sim::Episode& ep : episodes) {
    if (scene_index.emplace(ep.scene_id, static_cast<int>(scenes.size())).second) {
      scenes.push_back(ep.scene_id);
    }
  }
  spdlog::info("expert: {} episodes in {} scenes, policy {}, recovery {} ({}), follower {}, {} threads",
               episodes.size(), scenes.size(), policy.name(), o.iv.enable_recovery ? "on" : "off",
               expert::recoveryModeName(o.iv.recovery_mode),
               expert::followerRuleName(o.iv.follower), threads);
  sim::ThreadPool pool(threads);
  std::vector<std::unique_ptr<sim::PathFinder>> nav(scenes.size());
  pool.parallelFor(static_cast<int>(scenes.size()),
                   [&](int i) { nav[i] = loadNavigation(cfg, scenes[i]); });

  std::vector<expert::StandInRun> runs(episodes.size());
  const auto t0 = std::chrono::steady_clock::now();
  pool.parallelFor(static_cast<int>(episodes.size()), [&](int i) {
    const sim::Episode& ep = episodes[i];
    runs[i] = expert::runStandInEpisode(*nav[scene_index.at(ep.scene_id)], ep, o.iv, cfg.actions,
                                        policy, expert::episodeSeed(seed, i), cfg.max_episode_steps,
                                        cfg.success_distance);
  });

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<sim::EpisodeMetrics> metrics;
  expert::InterventionCounters total;
  nlohmann::json per_episode = nlohmann::json::array();
  std::printf("%-12s %7s %6s %6s %6s %7s %9s %-12s\n", "episode", "success", "spl", "ndtw", "steps",
              "expert", "triggers", "end");
  for (const expert::StandInRun& r : runs) {
    metrics.push_back(r.metrics);
    total += r.counters;
    per_episode.push_back(episodeJson(r));
    std::printf("%-12s %7.0f %6.3f %6.3f %6d %7d %9d %-12s\n", r.episode_id.c_str(),
                r.metrics.success, r.metrics.spl, r.metrics.ndtw, r.metrics.steps,
                r.counters.expert_steps, r.counters.recoveries_triggered,
                expert::episodeEndName(r.end));
  }
  spdlog::info("expert: {} episodes, {} steps in {:.2f} s ({:.0f} steps/s)", runs.size(),
               total.steps(), seconds, total.steps() / std::max(seconds, 1e-9));
  const sim::MetricsSummary s = sim::summarize(metrics);
  const double n = static_cast<double>(runs.size());
  // Oracle Rate pooled over all steps of the split: expert steps / all steps.
  std::printf(
      "episodes %d  SR %.3f  SPL %.3f  nDTW %.3f  Oracle Rate %.3f  triggers/episode %.2f  "
      "recovered/episode %.2f  forced stops %d\n",
      s.episodes, s.success, s.spl, s.ndtw, total.oracleRate(), total.recoveries_triggered / n,
      total.recoveries_completed / n, total.forced_stops);

  if (!o.out.empty()) {
    nlohmann::json j = {{"episodes", s.episodes},
                        {"success_rate", s.success},
                        {"spl", s.spl},
                        {"ndtw", s.ndtw},
                        {"sdtw", s.sdtw},
                        {"oracle_success", s.oracle_success},
                        {"navigation_error", s.navigation_error},
                        {"path_length", s.path_length},
                        {"steps", s.steps},
                        {"oracle_rate", total.oracleRate()},
                        {"expert_steps", total.expert_steps},
                        {"policy_steps", total.policy_steps},
                        {"recoveries_triggered", total.recoveries_triggered},
                        {"recoveries_completed", total.recoveries_completed},
                        {"forced_stops", total.forced_stops},
                        {"triggers_per_episode", total.recoveries_triggered / n},
                        {"policy", policy.name()},
                        {"follower", expert::followerRuleName(o.iv.follower)},
                        {"split", o.split},
                        {"seed", seed},
                        {"per_episode", per_episode}};
    sim::writeFileAtomic(o.out, j.dump(2) + "\n");
    spdlog::info("expert: wrote {}", o.out);
  }
  return 0;
}

void addInterventionFlags(CLI::App& app, ExpertOptions& o) {
  const char* g = "Expert intervention (the trainer's flags)";
  expert::InterventionConfig& c = o.iv;
  auto* en = app.add_flag_callback(
                    "--enable_recovery", [&c] { c.enable_recovery = true; },
                    "expert intervention on (default)")
                 ->group(g);
  auto* dis =
      app.add_flag_callback(
             "--disable_recovery", [&c] { c.enable_recovery = false; }, "expert intervention off")
          ->group(g);
  en->excludes(dis);
  app.add_option("--offtrack_dist_thresh", c.offtrack_dist_thresh,
                 "m; off track when farther than this from the reference path")
      ->capture_default_str()
      ->group(g);
  app.add_option("--offtrack_heading_thresh_deg", c.offtrack_heading_thresh_deg,
                 "deg; or when the heading error to the target waypoint exceeds this ...")
      ->capture_default_str()
      ->group(g);
  app.add_option("--heading_guard_dist", c.heading_guard_dist,
                 "m; ... and the agent is also farther than this from the path")
      ->capture_default_str()
      ->group(g);
  app.add_option("--offtrack_patience", c.offtrack_patience,
                 "consecutive off-track steps before the expert takes over")
      ->capture_default_str()
      ->group(g);
  app.add_option("--lookahead_k", c.lookahead_k,
                 "target waypoint = nearest reference waypoint index + k")
      ->capture_default_str()
      ->group(g);
  app.add_option("--recovery_dist_thresh", c.recovery_dist_thresh,
                 "m; control returns when closer than this to the path (< offtrack_dist_thresh)")
      ->capture_default_str()
      ->group(g);
  app.add_option("--recovery_heading_thresh_deg", c.recovery_heading_thresh_deg,
                 "deg; ... and the heading error is below this")
      ->capture_default_str()
      ->group(g);
  app.add_option("--recovery_max_steps", c.recovery_max_steps,
                 "a recovery that lasts this long ends the episode")
      ->capture_default_str()
      ->group(g);
  app.add_option("--goal_radius", c.goal_radius,
                 "m; inside this geodesic distance to the goal the expert never takes over")
      ->capture_default_str()
      ->group(g);
  app.add_option("--goal_grace_steps", c.goal_grace_steps,
                 "steps allowed inside the goal zone before the stop counter starts")
      ->capture_default_str()
      ->group(g);
  app.add_option("--goal_stop_patience", c.goal_stop_patience,
                 "then this many steps without STOP force a STOP; 0 disables")
      ->capture_default_str()
      ->group(g);
  app.add_option("--recovery_mode", o.recovery_mode,
                 "takeover: the expert drives inline; rollback: cut at the trigger and "
                 "demonstrate from the last passed waypoint")
      ->capture_default_str()
      ->group(g);
  app.add_option("--expert_stop_radius", c.expert_stop_radius_m,
                 "m; the expert's own STOP radius around the goal (not a trainer flag)")
      ->capture_default_str()
      ->group(g);
  io::addFollowerFlag(app, o.follower, g);
}

const RegisterCommand kRegister(
    "expert",
    "drive a split with a stand-in policy under expert intervention; SR, SPL, nDTW, Oracle "
    "Rate, triggers",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ExpertOptions>();
      app.add_option("--config", o->config, "Habitat-style YAML environment config")->required();
      app.add_option("--split", o->split, "dataset split, e.g. val_unseen")->required();
      app.add_option("--policy", o->policy, "expert | random | noisy-expert:P")
          ->capture_default_str();
      app.add_option("--out", o->out, "write the metrics and per-episode results as JSON");
      app.add_option("--max-episodes", o->max_episodes, "first N episodes only (0 = all)")
          ->capture_default_str();
      app.add_option("--seed", o->seed, "seed of the stand-in policies (default: the config's)");
      app.add_option("--threads", o->threads, "worker threads (0 = all cores)")
          ->capture_default_str();
      addInterventionFlags(app, *o);
      return [o] { return runExpert(*o); };
    });

}  // namespace
}  // namespace svln::cli
