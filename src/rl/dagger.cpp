#include "rl/dagger.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

#include "rl/rollout.h"
#include "sim/episode_iterator.h"
#include "sim/vec_env.h"

namespace svln::rl {

DaggerResult collectDagger(const sim::HabitatConfig& cfg, Policy& policy, const DaggerOptions& o) {
  if (o.num_envs < 1) throw std::invalid_argument("--num_envs: must be >= 1");
  const std::string split = o.split.empty() ? cfg.split : o.split;
  sim::EpisodeIterator it = sim::EpisodeIterator::fromConfig(cfg, split, false, false);
  std::vector<sim::Episode> episodes;
  while (const sim::Episode* e = it.next()) {
    if (o.max_episodes >= 0 && static_cast<int>(episodes.size()) >= o.max_episodes) break;
    episodes.push_back(*e);
  }
  if (episodes.empty()) throw std::runtime_error(cfg.episodesPath(split) + ": no episodes");
  const int n = std::max(1, std::min<int>(o.num_envs, static_cast<int>(episodes.size())));
  sim::VecEnv envs(cfg, n, o.num_threads);
  RolloutOptions ro;
  ro.mode = RolloutMode::kTrain;  // the intervention runs, observing only
  ro.decode.greedy = true;
  ro.intervention.enable_recovery = false;
  ro.intervention.label_towards_goal = true;
  RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  torch::NoGradGuard no_grad;
  DaggerResult r;
  for (size_t b = 0; b < episodes.size(); b += static_cast<size_t>(n)) {
    const std::vector<sim::Episode> chunk(
        episodes.begin() + static_cast<std::ptrdiff_t>(b),
        episodes.begin() + static_cast<std::ptrdiff_t>(std::min(episodes.size(), b + n)));
    for (const Trajectory& t : engine.run(chunk, 1, o.seed + b)) {
      sim::Episode e = t.episode;
      std::vector<sim::Vec3> before;
      std::vector<int> labels;
      int agree = 0;
      bool labelled = true;
      for (const StepRecord& s : t.steps) {
        labelled = labelled && s.label_valid;
        before.push_back(s.position);
        labels.push_back(static_cast<int>(s.expert_label));
        agree += s.label_valid && s.action == s.expert_label ? 1 : 0;
      }
      if (!labelled || t.steps.empty()) {
        ++r.dropped;
        continue;
      }
      e.gt_actions = labels;
      e.gt_locations = before;  // one per action: the pair (state, expert action)
      r.steps += static_cast<int>(labels.size());
      r.agreements += agree;
      r.data.episodes.push_back(std::move(e));
    }
  }
  return r;
}

}  // namespace svln::rl
