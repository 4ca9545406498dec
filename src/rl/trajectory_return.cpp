#include "rl/trajectory_return.h"

#include "rl/rewards.h"

namespace svln::rl {

std::vector<double> trajectoryRewards(io::Phase phase, const ReturnInputs& in) {
  std::vector<StepRecord> steps(in.distance_after.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    steps[i].distance_to_goal = in.distance_after[i];
    steps[i].collided = i < in.collided.size() && in.collided[i];
  }
  EpisodeOutcome out;
  out.start_distance = in.start_distance;
  out.final_distance = steps.empty() ? in.start_distance : in.distance_after.back();
  out.success_distance = in.success_distance;
  out.called_stop = in.called_stop;
  out.forced_stop = in.forced_stop;
  out.path_length = in.path_length;
  out.shortest_path = in.shortest_path;
  const RewardPhase p =
      phase == io::Phase::Phase1Stop ? RewardPhase::Phase1Stop : RewardPhase::Phase2Progress;
  return stepRewards(p, RewardConstants{}, steps, out);
}

std::string rewardConstantsDescription() { return RewardConstants{}.describe(); }

}  // namespace svln::rl
