// DAgger data collection (BudVLN's streamvln_dagger.py, VLN-CE's DAgger trainer): the policy
// drives greedily over a split while the expert only watches; every visited state gets the
// expert's action there. The result is a VLN-CE episode file whose `_gt` companion holds,
// per episode, the visited locations and the expert's actions: training data on the
// states the policy itself reaches.
#pragma once

#include <cstdint>
#include <string>

#include "rl/policy.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"

namespace svln::rl {

struct DaggerOptions {
  std::string split;      // the config's split when empty
  int max_episodes = -1;  // all when < 0
  int num_envs = 8;       // episodes in flight at once [>= 1]
  int num_threads = 2;    // simulator threads
  uint64_t seed = 0;
};

struct DaggerResult {
  sim::EpisodeDataset data;  // the split's episodes with gt_locations / gt_actions
  int steps = 0;             // visited states labelled
  int agreements = 0;        // of them, where the policy did what the expert would
  int dropped = 0;           // episodes with a state the expert had no path from
};

// Rolls the policy out (greedy, the expert observing: no intervention) over the split's
// episodes. An episode's gt_actions are the expert's actions (VLN-CE codes: 0 STOP,
// 1 forward, 2 left, 3 right; the follower towards the goal, VLN-CE's DAgger oracle) at the
// positions before each of the policy's actions, and gt_locations those positions, one per
// action (unlike VLN-CE's oracle gt, whose locations drop the repeats of turns: here
// location i is the state action i labels). An episode with a state the expert had no path
// from is left out (`dropped`).
DaggerResult collectDagger(const sim::HabitatConfig& cfg, Policy& policy, const DaggerOptions& o);

}  // namespace svln::rl
