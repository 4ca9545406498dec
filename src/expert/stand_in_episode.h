// Drives one VLN-CE episode with a simple stand-in policy under expert intervention,
// position-only (no rendering: neither the stand-ins nor the expert look). This is what
// `streamvln expert` runs on every episode of a split to tune the intervention thresholds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "expert/intervention.h"
#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/measures.h"
#include "sim/path_finder.h"

namespace svln::expert {

// expert: the intervention's own label (Intervention::expertAction);
// random: uniform over MOVE_FORWARD / TURN_LEFT / TURN_RIGHT, never STOP (a uniform STOP
//   would end almost every episode within a few steps);
// noisy-expert:P: the random action with probability P, else the expert's.
struct StandInPolicy {
  enum class Kind { Expert, Random, NoisyExpert };
  Kind kind = Kind::Expert;
  double noise_p = 0.0;
  std::string name() const;
};
// "expert" | "random" | "noisy-expert:P" with P in [0, 1]; throws "--policy: ...".
StandInPolicy parseStandInPolicy(const std::string& s);

// Why an episode ended.
enum class EpisodeEnd { PolicyStop, ExpertStop, ForcedStop, SafetyStop, Rollback, MaxSteps };
const char* episodeEndName(EpisodeEnd e);

struct StandInRun {
  std::string episode_id;
  std::vector<sim::Vec3> positions;  // start, then after every executed action
  std::vector<sim::Action> actions;  // executed
  std::vector<Source> sources;
  std::vector<sim::Action> expert_labels;  // the SFT label at each visited state
  bool called_stop = false;                // ended by a STOP: policy, expert or forced (not safety)
  EpisodeEnd end = EpisodeEnd::MaxSteps;
  int collisions = 0;
  int demo_steps = 0;  // rollback mode: length of the expert's demonstration
  InterventionCounters counters;
  // VLN-CE metrics (sim/measures.h). A safety stop or a rollback cut ends the episode
  // without a STOP action, so neither can count as a success.
  sim::EpisodeMetrics metrics;
};

// Runs `ep` from its start pose for at most max_steps actions (the Habitat config's
// max_episode_steps). `seed` seeds the stand-in's own RNG, so a run is reproducible.
StandInRun runStandInEpisode(const sim::PathFinder& pf, const sim::Episode& ep,
                             const InterventionConfig& cfg, const sim::ActionSpace& space,
                             const StandInPolicy& policy, uint64_t seed, int max_steps,
                             float success_distance_m = 3.f);

// Independent per-episode seeds from the run seed (SplitMix64 of seed and index), so the
// result does not depend on how episodes are spread over threads.
uint64_t episodeSeed(uint64_t run_seed, uint64_t episode_index);

}  // namespace svln::expert
