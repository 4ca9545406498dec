// Rewards of one rolled-out trajectory, phrased without rollout.h's or rewards.h's
// StepRecord: both headers declare svln::rl::StepRecord, so no translation unit may include
// the two. This bridge includes only rewards.h; the trainer includes only this one.
#pragma once

#include <string>
#include <vector>

#include "io/train_options.h"

namespace svln::rl {

struct ReturnInputs {
  std::vector<float> distance_after;  // geodesic distance to the goal after each step
  std::vector<bool> collided;         // per step
  float start_distance = 0.f;
  float success_distance = 3.f;
  bool called_stop = false;
  bool forced_stop = false;
  float path_length = 0.f;
  float shortest_path = 0.f;
};

// stepRewards() of rl/rewards.h with the default RewardConstants.
std::vector<double> trajectoryRewards(io::Phase phase, const ReturnInputs& in);
// RewardConstants::describe() of the constants trajectoryRewards uses (for training.log).
std::string rewardConstantsDescription();

}  // namespace svln::rl
