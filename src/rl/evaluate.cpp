#include "rl/evaluate.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "rl/rollout.h"
#include "sim/episode_iterator.h"
#include "sim/vec_env.h"

namespace svln::rl {

EvalResult evaluate(const sim::HabitatConfig& cfg, Policy& policy, const EvalOptions& o) {
  EvalResult r;
  r.split = o.split.empty() ? cfg.split : o.split;
  sim::EpisodeIterator it = sim::EpisodeIterator::fromConfig(cfg, r.split, false, false);
  std::vector<sim::Episode> episodes;
  while (const sim::Episode* e = it.next()) {
    if (o.max_episodes >= 0 && static_cast<int>(episodes.size()) >= o.max_episodes) break;
    episodes.push_back(*e);
  }
  if (episodes.empty()) throw std::runtime_error(cfg.episodesPath(r.split) + ": no episodes");
  // Every scene must be there before the first step, not discovered missing mid-run.
  std::set<std::string> checked;
  for (const sim::Episode& e : episodes) {
    if (!checked.insert(e.scene_id).second) continue;
    const std::string scene = cfg.scenePath(e.scene_id);
    if (!std::filesystem::exists(scene))
      throw std::runtime_error(scene + ": scene not found (episode " + e.episode_id + " of " +
                               r.split + "; the config's scenes_dir is " + cfg.scenes_dir + ")");
  }
  const int n = std::max(1, std::min<int>(o.num_envs, static_cast<int>(episodes.size())));
  sim::VecEnv envs(cfg, n, o.num_threads);
  RolloutOptions ro;
  ro.mode = RolloutMode::kEval;
  ro.streaming = o.streaming;
  RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < episodes.size(); b += n) {
    const std::vector<sim::Episode> chunk(episodes.begin() + b,
                                          episodes.begin() + std::min(episodes.size(), b + n));
    for (const Trajectory& t : engine.run(chunk, 1, o.seed + b)) {
      EpisodeResult e;
      e.episode_id = t.episode.episode_id;
      e.scene_id = t.episode.scene_id;
      e.metrics = t.metrics;
      for (const StepRecord& s : t.steps) e.actions.push_back(static_cast<int>(s.action));
      r.episodes.push_back(std::move(e));
    }
  }
  std::vector<sim::EpisodeMetrics> per_episode;
  for (const EpisodeResult& e : r.episodes) per_episode.push_back(e.metrics);
  r.summary = evalSummary(per_episode);
  r.ndtw_reference = sim::ndtwReferenceName(cfg.ndtw_reference);
  return r;
}

std::map<std::string, double> evalSummary(const std::vector<sim::EpisodeMetrics>& per_episode) {
  const sim::MetricsSummary s = sim::summarize(per_episode);
  return {{"success_rate", s.success},
          {"spl", s.spl},
          {"navigation_error", s.navigation_error},
          {"oracle_success_rate", s.oracle_success},
          {"ndtw", s.ndtw},
          {"sdtw", s.sdtw},
          {"avg_episode_length", s.steps},
          {"collisions", s.collisions},
          {"unreachable_episodes", static_cast<double>(s.unreachable)},
          {"episodes", static_cast<double>(s.episodes)}};
}

std::map<std::string, bool> successesById(const EvalResult& r) {
  std::map<std::string, bool> m;
  for (const EpisodeResult& e : r.episodes) m[e.episode_id] = e.metrics.success > 0;
  return m;
}

PairedSuccesses pairedSuccesses(const std::map<std::string, bool>& reference,
                                const EvalResult& candidate) {
  PairedSuccesses p;
  for (const EpisodeResult& e : candidate.episodes) {
    const auto it = reference.find(e.episode_id);
    if (it == reference.end()) continue;
    const bool now = e.metrics.success > 0;
    p.gained += now && !it->second;
    p.lost += it->second && !now;
  }
  return p;
}

bool clearlyBetter(PairedSuccesses p, double z) {
  const int d = p.gained - p.lost;
  return d > 0 && static_cast<double>(d) >= z * std::sqrt(static_cast<double>(p.gained + p.lost));
}

BestRecord bestRecord(const EvalResult& r) {
  return {r.summary.at("success_rate"), r.summary.at("spl"), successesById(r)};
}

bool replacesBest(const BestRecord& best, const EvalResult& candidate, double margin) {
  if (margin > 0) return clearlyBetter(pairedSuccesses(best.successes, candidate), margin);
  const double sr = candidate.summary.at("success_rate"), spl = candidate.summary.at("spl");
  return sr > best.success_rate || (sr == best.success_rate && spl > best.spl);
}

nlohmann::json toJson(const EvalResult& r) {
  nlohmann::json j;
  j["split"] = r.split;
  j["ndtw_reference"] = r.ndtw_reference;
  for (const auto& [k, v] : r.summary) j[k] = v;
  j["aggregation"] = sim::kUnreachableNote;
  nlohmann::json eps = nlohmann::json::array();
  for (const EpisodeResult& e : r.episodes) {
    nlohmann::json x;
    x["episode_id"] = e.episode_id;
    x["scene_id"] = e.scene_id;
    for (const auto& [k, v] : sim::namedValues(e.metrics)) x[k] = v;
    x["actions"] = e.actions;
    eps.push_back(std::move(x));
  }
  j["per_episode"] = std::move(eps);
  return j;
}

std::string formatSummary(const EvalResult& r) {
  const auto& m = r.summary;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "SR %.3f  SPL %.3f  NE %.2f  OSR %.3f  nDTW %.3f  SDTW %.3f  len %.1f  (%d episodes, %s%s)",
                m.at("success_rate"), m.at("spl"), m.at("navigation_error"),
                m.at("oracle_success_rate"), m.at("ndtw"), m.at("sdtw"),
                m.at("avg_episode_length"), static_cast<int>(r.episodes.size()), r.split.c_str(),
                r.ndtw_reference == "gt" ? "" : ", nDTW vs reference_path");
  return buf;
}

}  // namespace svln::rl
