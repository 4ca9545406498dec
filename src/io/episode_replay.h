// Rebuilds what an agent saw and where it went from an episode and its executed actions:
// the rollout and `streamvln eval --out` keep actions (and who acted), not positions, and
// the simulator is deterministic, so replaying applyAction from the start pose gives the
// same path. The result feeds the top-down map and the episode video.
#pragma once

#include <string>
#include <vector>

#include "io/raster.h"
#include "io/top_down_map.h"
#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/renderer.h"
#include "sim/scene_cache.h"

namespace svln::io {

struct ReplayOptions {
  sim::ActionSpace actions;
  float success_distance_m = 3.f;
  bool render = false;  // fill observations (one RGB frame per visited pose)
  sim::CameraSpec camera{256, 192, 79.f, 1.25f, 0.f, 10.f, false};
};

struct Replay {
  EpisodeTrace trace;
  std::vector<Image> observations;  // positions.size() frames when render is on
};

// expert_steps: per action, true when the expert acted (empty = all policy). An off-track
// trigger is marked where control passes from the policy to the expert.
Replay replayEpisode(const sim::Scene& scene, const sim::Episode& ep,
                     const std::vector<int>& actions, const std::vector<bool>& expert_steps,
                     const ReplayOptions& opt);

}  // namespace svln::io
