#include "rl/train_setup.h"

#include <torch/torch.h>

#include <filesystem>

#include "model/streamvln.h"
#include "model/tokenizer.h"

namespace svln::rl {

void initStreamVLNCheckpoint(const std::string& dir, const std::string& size, uint64_t seed) {
  model::StreamVLN m(model::namedStreamVLNConfig(size));
  m.randomInit(seed);  // as transformers initialises: near-uniform first policies
  std::filesystem::create_directories(dir);
  m.save(dir);
  model::writeSyntheticTokenizer(dir, static_cast<int>(m.config.text.vocab_size), seed);
}

expert::InterventionConfig interventionConfig(const io::TrainOptions& o) {
  expert::InterventionConfig c;
  c.enable_recovery = o.enable_recovery;
  c.offtrack_dist_thresh = static_cast<float>(o.offtrack_dist_thresh);
  c.offtrack_heading_thresh_deg = static_cast<float>(o.offtrack_heading_thresh_deg);
  c.heading_guard_dist = static_cast<float>(o.heading_guard_dist);
  c.offtrack_patience = o.offtrack_patience;
  c.lookahead_k = o.lookahead_k;
  c.recovery_dist_thresh = static_cast<float>(o.recovery_dist_thresh);
  c.recovery_heading_thresh_deg = static_cast<float>(o.recovery_heading_thresh_deg);
  c.recovery_max_steps = o.recovery_max_steps;
  c.goal_radius = static_cast<float>(o.goal_radius);
  c.goal_grace_steps = o.goal_grace_steps;
  c.goal_stop_patience = o.goal_stop_patience;
  c.label_towards_goal = o.sft_label_towards_goal;
  c.recovery_mode = o.recovery_mode == io::RecoveryMode::Rollback ? expert::RecoveryMode::Rollback
                                                                  : expert::RecoveryMode::Takeover;
  c.follower = expertFollowerRule(o.follower);
  c.premature_stop_rollback = o.rollback_on_premature_stop;
  c.goal_zone_rollback = o.goal_zone_timeout_rollback;
  c.stuck_enable = o.stuck_enable;
  c.stuck_patience = o.stuck_patience;
  c.stuck_steps = o.stuck_motion_steps;
  c.rollback_to_own_pose = o.rollback_to_own_pose;
  c.demo_towards_goal = o.rollback_demo_towards_goal;
  c.oracle_goal_radius_m = static_cast<float>(o.oracle_goal_radius);
  return c;
}

expert::FollowerRule expertFollowerRule(io::FollowerRule f) {
  switch (f) {
    case io::FollowerRule::Heading:
      return expert::FollowerRule::Heading;
    case io::FollowerRule::VlnCe:
      return expert::FollowerRule::VlnCe;
    case io::FollowerRule::Habitat:
      return expert::FollowerRule::Habitat;
  }
  return expert::FollowerRule::Heading;
}

}  // namespace svln::rl
