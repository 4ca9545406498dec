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

// Successes per episode id (1 where the episode succeeded).
std::map<std::string, bool> successesById(const EvalResult& r);

// Paired by episode id over the episodes both ran: those that succeed in `candidate` and not
// in `reference` (gained), and the reverse (lost).
struct PairedSuccesses {
  int gained = 0;
  int lost = 0;
};
PairedSuccesses pairedSuccesses(const std::map<std::string, bool>& reference,
                                const EvalResult& candidate);
// McNemar's rule at z standard errors: gained > lost and gained - lost >= z sqrt(gained +
// lost).
bool clearlyBetter(PairedSuccesses p, double z);

// The best validation so far (--eval_every) and the rule that replaces it: margin > 0
// (--best_margin), clearlyBetter at that many standard errors, paired by episode; 0, a
// higher SR, then a higher SPL.
struct BestRecord {
  double success_rate = 0;
  double spl = 0;
  std::map<std::string, bool> successes;  // by episode id
};
BestRecord bestRecord(const EvalResult& r);
bool replacesBest(const BestRecord& best, const EvalResult& candidate, double margin);

nlohmann::json toJson(const EvalResult& r);
// One line: "SR 0.40  SPL 0.31  NE 4.12  OSR 0.55  nDTW 0.45  SDTW 0.28  len 61.0 (N eps)".
std::string formatSummary(const EvalResult& r);

}  // namespace svln::rl
