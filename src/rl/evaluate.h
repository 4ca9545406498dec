// VLN-CE evaluation: a policy run greedily over a split, many environments at once,
// without intervention; SR, SPL, NE, OSR, nDTW, SDTW, mean length, per-episode results.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/stream_session.h"
#include "rl/policy.h"
#include "sim/habitat_config.h"
#include "sim/measures.h"

namespace svln::rl {

struct EvalOptions {
  std::string split;      // the config's split when empty
  int num_envs = 8;       // episodes in flight at once
  int max_episodes = -1;  // all when < 0
  int num_threads = 2;    // rendering threads
  uint64_t seed = 0;
  model::StreamingConfig streaming;
};

struct EpisodeResult {
  std::string episode_id;
  std::string scene_id;
  sim::EpisodeMetrics metrics;
  std::vector<int> actions;
};

struct EvalResult {
  std::string split;
  std::string ndtw_reference = "gt";  // what nDTW/SDTW measured against (sim::NdtwReference)
  std::vector<EpisodeResult> episodes;
  // success_rate, spl, navigation_error, oracle_success_rate, ndtw, sdtw,
  // avg_episode_length, collisions: means over episodes.
  std::map<std::string, double> summary;
};

EvalResult evaluate(const sim::HabitatConfig& cfg, Policy& policy, const EvalOptions& options);

// The summary's keys (as above) and means from per-episode metrics (sim::summarize), plus
// "episodes"; shared by `eval` and `score`.
std::map<std::string, double> evalSummary(const std::vector<sim::EpisodeMetrics>& per_episode);

nlohmann::json toJson(const EvalResult& r);
// One line: "SR 0.40  SPL 0.31  NE 4.12  OSR 0.55  nDTW 0.45  SDTW 0.28  len 61.0 (N eps)".
std::string formatSummary(const EvalResult& r);

}  // namespace svln::rl
