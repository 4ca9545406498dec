// An episode in sim::test::openRoom() ("mem/room"): start, heading and goal given, the
// reference path straight through the midpoint. Shared by the rollout and learning tests.
#pragma once

#include <string>

#include "sim/episode.h"
#include "sim/vec3.h"

namespace svln::rl::test {

inline sim::Episode roomEpisode(const std::string& id, const sim::Vec3& start, float heading,
                                const sim::Vec3& goal) {
  sim::Episode e;
  e.episode_id = id;
  e.scene_id = "mem/room";
  e.start_position = start;
  e.start_rotation = sim::quatFromHeading(heading);
  e.goals.push_back({goal, 3.f});
  e.reference_path = {start, (start + goal) * 0.5f, goal};
  e.gt_locations = e.reference_path;  // nDTW's reference (sim::NdtwReference::kGt)
  return e;
}

}  // namespace svln::rl::test
