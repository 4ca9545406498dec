#include "rl/trainer.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "io/deepspeed_config.h"
#include "io/eval_gallery.h"
#include "io/progress.h"
#include "io/report.h"
#include "io/run_logger.h"
#include "io/wandb_run.h"
#include "model/peft.h"
#include "rl/advantages.h"
#include "rl/checkpoint_state.h"
#include "rl/distributed.h"
#include "rl/evaluate.h"
#include "rl/policy.h"
#include "rl/train_setup.h"
#include "rl/rollout.h"
#include "rl/rewards.h"
#include "rl/update.h"
#include "sim/episode_iterator.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/vec_env.h"

namespace svln::rl {
namespace {

RewardConstants rewardConstants(const io::TrainOptions& o) {
  RewardConstants k;
  k.forced_stop_penalty = o.forced_stop_penalty;
  k.false_stop_penalty = o.false_stop_penalty;
  k.budvln_spl_accident = o.reward_spl_accident;
  k.budvln_collision_accident = o.reward_collision_accident;
  return k;
}

// The reward formulas of the phase (rl/rewards.h).
RewardPhase rewardPhase(const io::TrainOptions& o) {
  switch (o.phase) {
    case io::Phase::Phase1Stop:
      return o.budvln_rewards ? RewardPhase::BudvlnStop : RewardPhase::Phase1Stop;
    case io::Phase::Phase2Progress: return RewardPhase::Phase2Progress;
    case io::Phase::Phase2Spl: return RewardPhase::BudvlnStop;
    case io::Phase::Phase3Instruction: return RewardPhase::BudvlnInstruction;
  }
  return RewardPhase::Phase1Stop;
}

bool budvlnRewardsUsed(const io::TrainOptions& o) {
  const RewardPhase p = rewardPhase(o);
  return p == RewardPhase::BudvlnStop || p == RewardPhase::BudvlnInstruction;
}

// The reference path's length over x and the height y (R:312-334, the SPL accident).
double referenceLengthXy(const sim::Episode& e) {
  double len = 0;
  for (size_t i = 1; i < e.reference_path.size(); ++i)
    len += std::hypot(e.reference_path[i].x - e.reference_path[i - 1].x,
                      e.reference_path[i].y - e.reference_path[i - 1].y);
  return len;
}

// R = sum_t r_t with the phase's rewards (rl/rewards.h) over the executed steps, plus the
// step-matching bonus with --use_tdr.
double trajectoryReturn(const io::TrainOptions& o, const Trajectory& t, float success_distance) {
  std::vector<RewardStep> steps;
  for (const StepRecord& s : t.steps) steps.push_back({s.distance_to_goal, s.collided});
  EpisodeOutcome out;
  out.start_distance = t.start_distance;
  out.final_distance = steps.empty() ? t.start_distance : steps.back().distance_to_goal;
  out.success_distance = success_distance;
  out.called_stop = t.called_stop;
  out.forced_stop = t.forced_stop;
  out.path_length = t.metrics.path_length;
  out.shortest_path = t.metrics.shortest_path_length;
  const RewardPhase p = rewardPhase(o);
  if (p != RewardPhase::Phase1Stop && p != RewardPhase::Phase2Progress) {
    out.rolled_back = t.rolled_back;
    out.reference_length_xy = referenceLengthXy(t.episode);
  }
  double r = 0;
  for (double x : stepRewards(p, rewardConstants(o), steps, out)) r += x;
  if (o.use_tdr) {
    std::vector<bool> matches;
    for (const StepRecord& s : t.steps)
      if (s.source == expert::Source::Policy)
        matches.push_back(s.label_valid && s.action == s.expert_label);
    r += tdrBonus(matches, o.tdr_weight, o.tdr_gamma, o.tdr_strict);
  }
  return r;
}

// The update's episode metrics over every rank's trajectories: means over trajectories,
// counters summed, Oracle Rate = expert-controlled steps / all steps; "env_steps" is the
// executed-step total (for steps/s, removed by the caller).
std::map<std::string, double> rolloutMetrics(const DistContext& ctx,
                                             const std::vector<Trajectory>& trajs,
                                             const std::vector<double>& returns,
                                             const std::vector<double>& advantages) {
  enum {
    kN, kSr, kSpl, kNdtw, kNe, kLen, kRet, kTrig, kDone, kForced, kExpert, kPolicy, kRollback,
    kSelfSr, kSelfStop, kFalseStop, kPosAdv, kCount
  };
  std::vector<double> s(kCount, 0.0);
  for (size_t i = 0; i < trajs.size(); ++i) {
    const Trajectory& t = trajs[i];
    const bool self_stop = t.called_stop && !t.forced_stop && !t.steps.empty() &&
                           t.steps.back().source == expert::Source::Policy;
    s[kN] += 1;
    s[kSr] += t.metrics.success;
    s[kSpl] += t.metrics.spl;
    s[kNdtw] += t.metrics.ndtw;
    s[kNe] += t.metrics.navigation_error;
    s[kLen] += t.metrics.steps;
    s[kRet] += returns[i];
    s[kTrig] += t.counters.recoveries_triggered;
    s[kDone] += t.counters.recoveries_completed;
    s[kForced] += t.counters.forced_stops;
    s[kExpert] += t.counters.expert_steps;
    s[kPolicy] += t.counters.policy_steps;
    s[kRollback] += t.rolled_back ? 1.0 : 0.0;
    s[kSelfSr] += self_stop && t.metrics.success > 0 ? 1.0 : 0.0;
    s[kSelfStop] += self_stop ? 1.0 : 0.0;
    s[kFalseStop] += self_stop && t.metrics.success <= 0 ? 1.0 : 0.0;
    s[kPosAdv] += advantages[i] > 0 ? 1.0 : 0.0;
  }
  s = ctx.reduceMetrics(s, MetricReduce::kSum);
  std::map<std::string, double> m;
  const double n = std::max(1.0, s[kN]);
  m["success_rate"] = s[kSr] / n;
  m["spl"] = s[kSpl] / n;
  m["ndtw"] = s[kNdtw] / n;
  m["navigation_error"] = s[kNe] / n;
  m["avg_episode_length"] = s[kLen] / n;
  m["mean_return"] = s[kRet] / n;
  const double steps = s[kExpert] + s[kPolicy];
  m["oracle_rate"] = steps > 0 ? s[kExpert] / steps : 0.0;
  m["recoveries_triggered"] = s[kTrig];
  m["recoveries_completed"] = s[kDone];
  m["forced_stops"] = s[kForced];
  m["rollbacks"] = s[kRollback];  // --recovery_mode rollback: trajectories cut off track
  // How the sampled policy ends its episodes: a STOP of its own inside the success
  // distance, or outside it (success_rate also counts the forced STOPs).
  m["self_success_rate"] = s[kSelfSr] / n;
  m["policy_stop_rate"] = s[kSelfStop] / n;
  m["false_stop_rate"] = s[kFalseStop] / n;
  m["positive_advantage_fraction"] = s[kPosAdv] / n;
  m["env_steps"] = s[kLen];
  return m;
}

// Maps and videos of up to n of this update's trajectories (first member of every group,
// then the second, ...: distinct episodes first), then report.html again.
void writeUpdateVisuals(const std::string& out, const sim::HabitatConfig& hcfg,
                        const std::vector<Trajectory>& trajs, int64_t update, int n) {
  std::vector<const Trajectory*> order;
  for (const Trajectory& t : trajs) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const Trajectory* a, const Trajectory* b) {
    return a->member < b->member;
  });
  std::vector<io::EpisodeVisual> visuals;
  for (const Trajectory* t : order) {
    if (static_cast<int>(visuals.size()) >= n) break;
    io::EpisodeVisual v;
    v.episode = t->episode;
    for (const StepRecord& s : t->steps) {
      v.actions.push_back(static_cast<int>(s.action));
      v.expert_steps.push_back(s.source == expert::Source::Expert);
    }
    v.stem = "ep" + t->episode.episode_id + "_member" + std::to_string(t->member);
    visuals.push_back(std::move(v));
  }
  const std::string dir =
      (std::filesystem::path(out) / "visuals" / ("update-" + std::to_string(update))).string();
  const int files = io::renderEpisodeVisuals(dir, hcfg, visuals, n);
  spdlog::info("update {}: {} maps/videos in {}", update, files, dir);
  io::writeRunReport(out);
}

// Rank 0 builds and publishes the checkpoint; with a sharded optimizer every other rank
// adds its optimizer shard to the build directory in between (two barriers).
std::string saveCheckpointOnRanks(const DistContext& ctx, bool sharded, const std::string& out,
                                  const TrainerState& state, torch::nn::Module& root,
                                  const model::LoraConfig& lora,
                                  torch::optim::Optimizer& optimizer,
                                  const std::string& model_path, const std::string& name) {
  if (ctx.isMain()) {
    return saveTrainCheckpoint(out, state, root, lora, optimizer, model_path,
                               [&](const std::string&) {
                                 if (!sharded) return;
                                 ctx.barrier();  // the build directory exists
                                 ctx.barrier();  // every shard is in it
                               },
                               name);
  }
  if (sharded) {
    ctx.barrier();
    const std::string dir = checkpointBuildDir(out, name);
    const std::string file = dir + "/" + optimizerFileName(ctx.rank());
    torch::serialize::OutputArchive a;
    optimizer.save(a);
    saveArchiveAtomic(a, file);
    ctx.barrier();
  }
  return "";
}

// The checkpoints written after update u (1-based) of n: streamvln, checkpoint-<u> every
// save_every updates and after the last; budvln, checkpoint_<u> every save_every updates and
// checkpoint_final after the last (both when the last is a multiple, as the reference does).
std::vector<std::string> checkpointNamesAt(io::CheckpointNaming naming, int save_every,
                                           int64_t u, int64_t n) {
  const bool periodic = u % save_every == 0;
  if (naming == io::CheckpointNaming::Streamvln)
    return periodic || u == n ? std::vector<std::string>{checkpointName(u)}
                              : std::vector<std::string>{};
  std::vector<std::string> names;
  if (periodic) names.push_back("checkpoint_" + std::to_string(u));
  if (u == n) names.push_back("checkpoint_final");
  return names;
}

std::string rngText(const std::mt19937_64& rng) {
  std::ostringstream s;
  s << rng;
  return s.str();
}

}  // namespace

std::string bestCheckpoint(const std::string& output_dir) {
  const std::string dir = output_dir + "/best";
  return std::filesystem::exists(dir + "/best.json") ? dir : "";
}

std::string describeConfig(const TrainerConfig& c) {
  const io::TrainOptions& o = c.options;
  std::ostringstream s;
  s << "config:\n"
    << "  preset: " << c.preset.nameText() << "\n  preset_overrides: " << c.preset.overridesText()
    << "\n  model_path: " << o.model_path << "\n  habitat_config_path: " << o.habitat_config_path
    << "\n  output_path: " << o.output_path << "\n  phase: " << io::phaseName(o.phase)
    << "\n  rewards: " << (o.budvln_rewards ? "budvln" : "guide")
    << "\n  reward_spl_accident: " << o.reward_spl_accident
    << "\n  reward_collision_accident: " << o.reward_collision_accident
    << "\n  fixed_phrase: " << o.fixed_phrase
    << "\n  use_hybrid_training: " << o.use_hybrid_training
    << "\n  sft_loss_start_weight: " << o.sft_loss_start_weight
    << "\n  sft_loss_end_weight: " << o.sft_loss_end_weight
    << "\n  sft_loss_decay_updates: " << o.sft_loss_decay_updates
    << "\n  sft_loss_decay_type: " << io::decayTypeName(o.sft_loss_decay_type)
    << "\n  sft_targets: " << (o.sft_oracle_only ? "oracle_only" : "policy_steps")
    << "\n  sft_false_stop_labels: " << o.sft_false_stop_labels
    << "\n  sft_label_target: " << (o.sft_label_towards_goal ? "goal" : "waypoint")
    << "\n  sft_loss_norm: " << (o.sft_token_sum_norm ? "token-sum-norm" : "weights")
    << "\n  enable_recovery: " << o.enable_recovery
    << "\n  offtrack_dist_thresh: " << o.offtrack_dist_thresh
    << "\n  offtrack_heading_thresh_deg: " << o.offtrack_heading_thresh_deg
    << "\n  heading_guard_dist: " << o.heading_guard_dist
    << "\n  offtrack_patience: " << o.offtrack_patience << "\n  lookahead_k: " << o.lookahead_k
    << "\n  recovery_dist_thresh: " << o.recovery_dist_thresh
    << "\n  recovery_heading_thresh_deg: " << o.recovery_heading_thresh_deg
    << "\n  recovery_max_steps: " << o.recovery_max_steps << "\n  goal_radius: " << o.goal_radius
    << "\n  goal_grace_steps: " << o.goal_grace_steps
    << "\n  goal_stop_patience: " << o.goal_stop_patience
    << "\n  recovery_mode: " << io::recoveryModeName(o.recovery_mode)
    << "\n  follower: " << io::followerRuleName(o.follower)
    << "\n  rollback_on_premature_stop: " << o.rollback_on_premature_stop
    << "\n  goal_zone_timeout: " << (o.goal_zone_timeout_rollback ? "rollback" : "force_stop")
    << "\n  stuck_enable: " << o.stuck_enable << "\n  stuck_patience: " << o.stuck_patience
    << "\n  stuck_motion_steps: " << o.stuck_motion_steps
    << "\n  rollback_pose: " << (o.rollback_to_own_pose ? "own" : "waypoint")
    << "\n  rollback_demo: " << (o.rollback_demo_towards_goal ? "goal" : "waypoints")
    << "\n  oracle_goal_radius: " << o.oracle_goal_radius
    << "\n  greedy_first_sample: " << o.greedy_first_sample
    << "\n  greedy_probe: " << o.greedy_probe
    << "\n  num_updates: " << o.num_updates
    << "\n  num_episodes_per_update: " << o.num_episodes_per_update
    << "\n  group_size: " << o.group_size << "\n  learning_rate: " << o.learning_rate
    << "\n  ppo_epochs: " << o.ppo_epochs << "\n  mini_batch_size: " << o.mini_batch_size
    << "\n  mini_batch_unit: " << (o.step_mini_batches ? "steps" : "trajectories")
    << "\n  update_mode: " << (o.two_phase_update ? "two_phase" : "single")
    << "\n  max_grad_norm: " << o.max_grad_norm << "\n  kl_coef: " << o.kl_coef
    << "\n  loss_agg_mode: " << io::lossAggModeName(o.loss_agg_mode)
    << "\n  lr_warmup_updates: " << o.lr_warmup_updates
    << "\n  entropy_coef: " << o.entropy_coef << "\n  weight_decay: " << o.weight_decay
    << "\n  advantage_std: " << io::advantageStdName(o.advantage_std)
    << "\n  spread_advantages: " << o.spread_advantages
    << "\n  zero_old_logprob: " << o.zero_old_logprob << "\n  use_tdr: " << o.use_tdr
    << "\n  tdr_weight: " << o.tdr_weight << "\n  tdr_gamma: " << o.tdr_gamma
    << "\n  tdr_strict_mode: " << o.tdr_strict
    << "\n  disable_grpo_loss: " << o.disable_grpo_loss << "\n  sft_only: " << o.sft_only
    << "\n  demo_loss: " << (o.demo_loss_separate ? "separate" : "sft")
    << "\n  sft_on_failures: " << o.sft_on_failures
    << "\n  gradient_accumulation_steps: " << o.gradient_accumulation_steps
    << "\n  checkpoint_naming: " << io::checkpointNamingName(o.checkpoint_naming)
    << "\n  eval_every: " << o.eval_every
    << "\n  eval_split: " << o.eval_split << "\n  eval_episodes: " << o.eval_episodes
    << "\n  best_margin: " << o.best_margin
    << "\n  ndtw_reference: " << sim::ndtwReferenceName(o.ndtw_reference)
    << "\n  path_search_limits: " << (o.habitat_path_limits ? "habitat" : "unlimited")
    << "\n  use_wandb: " << o.use_wandb << "\n  wandb_project: " << o.wandb_project
    << "\n  max_episode_steps: " << c.max_episode_steps << "\n  device: " << c.device
    << "\n  precision: " << c.precision
    << "\n  gradient_checkpointing: " << c.gradient_checkpointing
    << "\n  save_every: " << c.save_every << "\n  seed: " << c.seed
    << "\n  temperature: " << c.temperature << "\n  lora: r=" << c.lora.r
    << " alpha=" << c.lora.alpha << " dropout=" << c.lora.dropout << " targets=";
  for (size_t i = 0; i < c.lora.target_modules.size(); ++i)
    s << (i ? "," : "") << c.lora.target_modules[i];
  if (!c.lora.target_regex.empty()) s << " regex=" << c.lora.target_regex;
  s << "\nreward constants:\n" << rewardConstants(o).describe(budvlnRewardsUsed(o));
  return s.str();
}

namespace {

// The checkpoint a run continues from: --resume_from DIR, or with --resume the one
// <output_path>/latest names ("" when there is none).
std::string resumeCheckpoint(const TrainerConfig& cfg) {
  if (cfg.resume_from.empty()) return cfg.resume ? latestCheckpoint(cfg.options.output_path) : "";
  if (cfg.resume)
    throw std::runtime_error(
        "--resume_from: given with --resume; name one checkpoint or the other");
  if (!std::filesystem::exists(std::filesystem::path(cfg.resume_from) / "trainer_state.json"))
    throw std::runtime_error("--resume_from: " + cfg.resume_from +
                             " is not a checkpoint of streamvln train (no trainer_state.json)");
  return cfg.resume_from;
}

// --sft_only draws an update again when its rollouts gave no expert label; after this many
// in a row the run stops (the reference would loop for ever).
constexpr int kMaxSftOnlyResamples = 100;

// SFT labels of the update (every rank's): with --sft_only, its expert-controlled steps and
// rollback demonstrations.
double expertLabels(const DistContext& ctx, const std::vector<Trajectory>& trajs,
                    const model::ActionCodec& codec, const UpdateOptions& uo) {
  double n = 0;
  for (const Trajectory& t : trajs) {
    n += static_cast<double>(collectTargets(t, codec, uo).sft.size());
    if (t.rollback_demo)
      n += static_cast<double>(collectTargets(*t.rollback_demo, codec, uo).sft.size());
  }
  return ctx.reduceMetrics({n}, MetricReduce::kSum)[0];
}

// The optimizer: AdamW on every rank, or with ZeRO stage >= 1 the sharded one (each rank
// keeps the moments of its parameters only).
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const DistContext& ctx, int zero_stage,
                                                       const std::vector<torch::Tensor>& params,
                                                       double lr, double weight_decay) {
  const auto adam = torch::optim::AdamWOptions(lr).weight_decay(weight_decay);
  if (zero_stage > 0) return std::make_unique<ShardedAdamW>(ctx, params, adam);
  return std::make_unique<torch::optim::AdamW>(params, adam);
}

// FNV-1a over the bytes of every trainable tensor: ranks that hold bit-identical weights
// log the same value.
uint64_t weightsFingerprint(const std::vector<torch::Tensor>& params) {
  uint64_t h = 1469598103934665603ull;
  for (const torch::Tensor& p : params) {
    const torch::Tensor c = p.detach().contiguous().cpu();
    const auto* b = static_cast<const uint8_t*>(c.data_ptr());
    for (size_t i = 0; i < c.nbytes(); ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  return h;
}

// RolloutEngine seeds member m of group g from SplitMix64(seed + phi (g + 1) + c (m + 1))
// (rollout.cpp's mixSeed), so a rank whose shard starts at global group `first` rolls out
// with seed + phi * first: its local group 0 then samples exactly what group `first` samples
// in a single-process run. The 2-rank test checks this equality.
uint64_t shardRolloutSeed(uint64_t seed, size_t first_group) {
  return seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(first_group);
}

// The optimizer step's batch, clipping, precision and ZeRO stage: the trainer's flags, or
// with --use_deepspeed the JSON, whose "auto" takes the flags (the mini-batch split over
// the ranks, --max_grad_norm).
io::DeepSpeedConfig stepConfig(const io::TrainOptions& o, int world) {
  io::DeepSpeedConfig ds;
  ds.train_batch_size = o.mini_batch_size;
  ds.gradient_clipping = o.max_grad_norm;
  if (!o.use_deepspeed) return ds;
  io::DeepSpeedDefaults d;
  d.micro_batch_per_gpu = std::max(1, (o.mini_batch_size + world - 1) / world);
  d.gradient_clipping = o.max_grad_norm;
  return io::loadDeepSpeedConfig(o.deepspeed_config, world, d);
}

// The whole update's values from every rank's shard: each rank puts its values at
// [begin, begin + n) of a zero vector; the sum over ranks is the whole update.
std::vector<double> gatherUpdate(const DistContext& ctx, const std::vector<double>& mine,
                                 size_t begin, size_t total) {
  std::vector<double> all(total, 0.0);
  std::copy(mine.begin(), mine.end(), all.begin() + static_cast<std::ptrdiff_t>(begin));
  return ctx.reduceMetrics(all, MetricReduce::kSum);
}

// This rank's advantages. They need the whole update's returns: groups are whole on each
// rank, but the group_size 1 baseline runs over every return in order, and
// --spread_advantages z-scores over every policy token of the update.
std::vector<double> shardAdvantages(const DistContext& ctx, const io::TrainOptions& o,
                                    const std::vector<double>& returns,
                                    const std::vector<double>& policy_tokens, size_t begin,
                                    size_t total, RunningBaseline& baseline) {
  const std::vector<double> all = gatherUpdate(ctx, returns, begin, total);
  std::vector<double> adv = trajectoryAdvantages(all, o.group_size, baseline, o.advantage_std);
  if (o.spread_advantages) {
    const std::vector<double> tokens = gatherUpdate(ctx, policy_tokens, begin, total);
    adv = spreadAdvantages(adv, std::vector<int64_t>(tokens.begin(), tokens.end()));
  }
  return std::vector<double>(adv.begin() + static_cast<std::ptrdiff_t>(begin),
                             adv.begin() + static_cast<std::ptrdiff_t>(begin + returns.size()));
}

// --greedy_probe (the BudVLN paper's "greedy probe", streamvln_sft_train.py:722-765): the
// greedy member of every episode first; an episode whose probe was not rolled back gets
// G - 1 sampled members without intervention and forms a GRPO group of G, one whose probe
// was rolled back keeps the probe alone, out of the surrogate (grpo = false), so only its
// demonstration trains. Groups stay in episode order, the probe first. With G = 1 (the
// probes alone: --sft_on_failures) there is no explorer.
std::vector<Trajectory> probeRollout(RolloutEngine& engine, RolloutEngine* explorer,
                                     const std::vector<sim::Episode>& episodes, int G,
                                     uint64_t seed) {
  std::vector<Trajectory> probes = engine.run(episodes, 1, seed);
  std::vector<sim::Episode> proficient;
  for (size_t g = 0; g < probes.size(); ++g)
    if (!probes[g].rolled_back) proficient.push_back(episodes[g]);
  std::vector<Trajectory> samples;
  if (G > 1 && !proficient.empty())
    samples = explorer->run(proficient, G - 1, seed ^ 0x94D049BB133111EBull);
  std::vector<Trajectory> out;
  size_t next = 0;
  for (size_t g = 0; g < probes.size(); ++g) {
    Trajectory& probe = probes[g];
    probe.group = static_cast<int>(g);
    probe.member = 0;
    if (probe.rolled_back) {
      probe.grpo = false;
      out.push_back(std::move(probe));
      continue;
    }
    out.push_back(std::move(probe));
    for (int m = 1; m < G; ++m) {
      Trajectory& t = samples.at(next++);
      t.group = static_cast<int>(g);
      t.member = m;
      out.push_back(std::move(t));
    }
  }
  return out;
}

// --greedy_probe's advantages: groupAdvantages within each group of G (the probe's included),
// 0 for a failed probe alone; then --spread_advantages over the update's policy tokens.
std::vector<double> probeAdvantages(const io::TrainOptions& o, const std::vector<Trajectory>& trajs,
                                    const std::vector<double>& returns,
                                    const std::vector<double>& policy_tokens) {
  std::vector<double> adv(trajs.size(), 0.0);
  for (size_t b = 0; b < trajs.size();) {
    size_t e = b + 1;
    while (e < trajs.size() && trajs[e].group == trajs[b].group) ++e;
    if (e - b >= 2) {
      const std::vector<double> a = groupAdvantages(
          std::vector<double>(returns.begin() + static_cast<std::ptrdiff_t>(b),
                              returns.begin() + static_cast<std::ptrdiff_t>(e)),
          o.advantage_std);
      std::copy(a.begin(), a.end(), adv.begin() + static_cast<std::ptrdiff_t>(b));
    }
    b = e;
  }
  if (o.spread_advantages)
    adv = spreadAdvantages(adv, std::vector<int64_t>(policy_tokens.begin(), policy_tokens.end()));
  return adv;
}

// The rollout metrics plus the optimisation's figures: the metrics.jsonl line of an update.
std::map<std::string, double> updateMetrics(std::map<std::string, double> m, const UpdateStats& st,
                                            double sft_weight, double entropy_coef, double lr,
                                            double secs, double rollout_secs) {
  m["grpo_loss"] = st.grpo_loss;
  m["sft_loss"] = st.sft_loss;
  m["sft_weight"] = sft_weight;
  m["kl"] = st.kl;
  if (entropy_coef > 0) m["entropy"] = st.entropy;  // only then computed
  m["clip_fraction"] = st.clip_fraction;
  m["grad_norm"] = st.grad_norm;
  m["learning_rate"] = lr;
  m["steps_per_second"] = secs > 0 ? m.at("env_steps") / secs : 0.0;
  m["update_seconds"] = secs;  // rollout + optimisation
  m["rollout_seconds"] = rollout_secs;
  m.erase("env_steps");
  m["skipped_steps"] = st.steps_skipped;
  return m;
}

EvalOptions evalOptions(const io::TrainOptions& o, const TrainerConfig& cfg) {
  EvalOptions eo;
  eo.split = o.eval_split;
  eo.max_episodes = o.eval_episodes > 0 ? o.eval_episodes : -1;
  eo.num_envs = 8;
  eo.num_threads = cfg.num_threads > 0 ? cfg.num_threads : 2;
  eo.seed = cfg.seed;
  return eo;
}

// The learning rate of update u (from 0): linear warm-up over the first W updates,
// lr (u + 1) / (W + 1), then lr.
double learningRateAt(const io::TrainOptions& o, int64_t u) {
  if (u >= o.lr_warmup_updates) return o.learning_rate;
  return o.learning_rate * static_cast<double>(u + 1) / static_cast<double>(o.lr_warmup_updates + 1);
}

void setLearningRate(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

// Periodic validation (--eval_every): the greedy policy on the validation split; the best
// adapter so far (replacesBest: SR, then SPL, or under --best_margin a clear paired gain) is
// published as <output>/best with best.json beside it (its summary, which episodes succeeded).
class BestKeeper {
 public:
  BestKeeper(const std::string& out, double margin) : dir_(out + "/best"), margin_(margin) {
    const std::string f = dir_ + "/best.json";
    if (!std::filesystem::exists(f)) return;
    std::ifstream in(f);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("success_rate") || !j.contains("spl"))
      throw std::runtime_error(f + ": not a best-checkpoint record (success_rate, spl)");
    if (margin_ > 0 && !j.contains("successes"))
      throw std::runtime_error(f + ": no per-episode successes, which --best_margin compares");
    best_.success_rate = j["success_rate"].get<double>();
    best_.spl = j["spl"].get<double>();
    if (j.contains("successes")) best_.successes = j["successes"].get<std::map<std::string, bool>>();
    have_ = true;
  }
  // True when this evaluation beats the best so far; then the adapter is published.
  bool offer(int64_t update, const EvalResult& r, torch::nn::Module& root,
             const model::LoraConfig& lora, const std::string& base_model_path) {
    if (have_ && !replacesBest(best_, r, margin_)) return false;
    const std::string tmp = dir_ + ".tmp";
    sim::freshDirectory(tmp);
    model::saveLoraAdapter(root, lora, tmp, base_model_path);
    best_ = bestRecord(r);
    nlohmann::json j = r.summary;
    j["update"] = update;
    j["split"] = r.split;
    j["episodes"] = r.episodes.size();
    j["successes"] = best_.successes;
    sim::writeFileAtomic(tmp + "/best.json", j.dump(2) + "\n");
    sim::publishDirectory(tmp, dir_);
    have_ = true;
    return true;
  }

 private:
  std::string dir_;
  double margin_;
  BestRecord best_;
  bool have_ = false;
};

}  // namespace

TrainResult runTraining(const TrainerConfig& cfg) {
  const io::TrainOptions& o = cfg.options;
  o.validate();
  if (cfg.save_every < 1) throw std::runtime_error("--save_every: must be >= 1");
  io::WandbSettings wandb_settings;  // bad WANDB_* values fail before anything is written
  if (o.use_wandb)
    wandb_settings = io::resolveWandbSettings(cfg.wandb_env, o.output_path, o.wandb_project,
                                              o.wandb_entity, o.wandb_run_name);
  const int world = cfg.dist.world_size;
  const io::DeepSpeedConfig ds = stepConfig(o, world);
  if (o.greedy_probe && world > 1)
    throw std::runtime_error("--greedy_probe: runs in one process, this job has " +
                             std::to_string(world) + " ranks");
  if ((o.two_phase_update || o.sft_on_failures) && world > 1)
    throw std::runtime_error(std::string(o.sft_on_failures ? "--sft_on_failures"
                                                           : "--update_mode: two_phase") +
                             " runs in one process, this job has " + std::to_string(world) +
                             " ranks");
  if (o.step_mini_batches && world > 1)
    throw std::runtime_error("--mini_batch_unit: steps runs in one process, this job has " +
                             std::to_string(world) + " ranks");
  // The policy on this rank's GPU (bf16) or the CPU; NCCL carries the collectives between
  // GPUs when this build has it, Gloo otherwise.
  const model::LoadOptions placement = deviceLoadOptions(cfg.device, cfg.dist.local_rank, cfg.precision);
  if (placement.device.is_cuda())  // this rank's GPU is the current one (streams, syncs)
    c10::impl::getDeviceGuardImpl(c10::kCUDA)->setDevice(placement.device);
  const DistContext ctx = DistContext::init(
      cfg.dist, placement.device.is_cuda() && ncclAvailable() ? DistBackend::kNccl
                                                              : DistBackend::kGloo);
  const bool is_main = ctx.isMain();
  if (is_main) std::filesystem::create_directories(o.output_path);
  ctx.barrier();

  const std::string resume_from = resumeCheckpoint(cfg);
  if (cfg.resume && resume_from.empty() && is_main)
    spdlog::warn("--resume: no checkpoint in {}, starting from update 0", o.output_path);

  // Rank 0 alone writes logs, metrics, W&B and checkpoints.
  std::unique_ptr<io::RunLogger> logger;
  if (is_main) logger = std::make_unique<io::RunLogger>(o.output_path, cfg.tensorboard);
  auto logLine = [&](const std::string& line) {
    if (logger) logger->logLine(line);
  };
  std::unique_ptr<io::WandbRun> wandb;
  if (o.use_wandb && is_main) {
    wandb = io::WandbRun::start(wandb_settings, io::parseTrainingLogConfig(describeConfig(cfg)),
                                cfg.command_args);
    if (wandb) logLine("W&B run " + wandb->runDir() + " (upload: " + wandb->syncCommand() + ")");
  }
  Policy policy = loadPolicy(o.model_path, "", placement);
  policy.model->lm->eval();  // no dropout anywhere: recomputed log-probs match the rollout's
  policy.model->lm->setGradientCheckpointing(cfg.gradient_checkpointing);
  torch::nn::Module& root = policy.model->root();
  model::LoraConfig lora = cfg.lora;
  lora.seed = cfg.seed;
  if (resume_from.empty()) {
    model::applyLora(root, lora);
  } else {
    model::loadLoraAdapter(root, resume_from);
    lora = model::loadLoraConfig(resume_from);
  }
  std::vector<torch::Tensor> params;
  for (auto& p : root.parameters())
    if (p.requires_grad()) params.push_back(p);
  int64_t n_train = 0;
  for (auto& p : params) n_train += p.numel();
  ctx.broadcastParameters(params);  // every rank starts from rank 0's adapter
  std::unique_ptr<torch::optim::Optimizer> optimizer =
      makeOptimizer(ctx, ctx.distributed() ? ds.zero_stage : 0, params, o.learning_rate,
                    o.weight_decay);
  const bool sharded_optimizer = ctx.distributed() && ds.zero_stage > 0;

  TrainerState state;
  state.world_size = world;
  state.zero_stage = ds.zero_stage;
  std::mt19937_64 rng(cfg.seed);
  if (!resume_from.empty()) {
    state = loadTrainerState(resume_from);
    // Sharded optimizer state (ZeRO 1-2 on several ranks) only fits the same sharding:
    // one shard per rank, parameters owned by the same ranks.
    const bool saved_sharded = state.world_size > 1 && state.zero_stage > 0;
    if (saved_sharded != sharded_optimizer || (saved_sharded && state.world_size != world))
      throw std::runtime_error(resume_from + "/trainer_state.json: saved by " +
                               std::to_string(state.world_size) + " rank(s) at ZeRO stage " +
                               std::to_string(state.zero_stage) + ", this run has " +
                               std::to_string(world) + " at stage " +
                               std::to_string(ds.zero_stage) +
                               "; sharded optimizer state resumes only with the same ranks");
    state.world_size = world;
    state.zero_stage = ds.zero_stage;
    loadOptimizerAndRng(resume_from, *optimizer, sharded_optimizer ? ctx.rank() : 0,
                        placement.device);
    std::istringstream(state.rng) >> rng;
    if (logger) logger->resumeAt(state.update);
    logLine("resumed from " + resume_from + " at update " + std::to_string(state.update));
  } else {
    torch::manual_seed(cfg.seed);
    logLine(describeConfig(cfg));
    logLine("trainable parameters: " + std::to_string(n_train));
    logLine("device " + placement.device.str() +
            (placement.device.is_cuda() ? " (bf16 weights, fp32 adapters)" : " (fp32)") +
            ", gradient checkpointing " + (cfg.gradient_checkpointing ? "on" : "off"));
  }
  if (ctx.distributed() || o.use_deepspeed) {
    std::ostringstream dp;
    dp << "data parallel: " << world << " rank(s)"
       << (ctx.distributed() ? " over " + toString(ctx.backend()) : std::string())
       << ", global mini-batch " << ds.train_batch_size << " trajectories, gradient clipping ";
    if (ds.gradient_clipping > 0)
      dp << ds.gradient_clipping;
    else
      dp << "off";
    dp << ", ZeRO stage " << ds.zero_stage
       << (ds.zero_stage > 0 && !ctx.distributed() ? " (one rank: plain AdamW)" : "")
       << (ds.bf16 ? ", bf16 requested" : "");
    logLine(dp.str());
    if (ds.bf16 && is_main && placement.device.is_cpu())
      spdlog::warn("--deepspeed_config: bf16 is enabled but the trainer runs on the CPU, "
                   "where it computes in fp32");
  }
  RunningBaseline baseline;
  baseline.restore(state.baseline_mean, state.baseline_count);
  NonFiniteGuard guard;
  guard.restore(state.nonfinite_streak);

  sim::HabitatConfig hcfg = sim::loadHabitatConfig(o.habitat_config_path);
  hcfg.ndtw_reference = o.ndtw_reference;
  hcfg.habitat_path_limits = o.habitat_path_limits;
  if (cfg.max_episode_steps > 0) hcfg.max_episode_steps = cfg.max_episode_steps;
  // Each rank rolls out its contiguous shard of the update's episodes (rl/distributed.h).
  const int E = o.num_episodes_per_update, G = o.group_size;
  const auto [shard_b, shard_e] = shardRange(static_cast<size_t>(E), ctx.rank(), world);
  const int max_shard = (E + world - 1) / world;
  const int n_env = std::max(1, max_shard) * G;
  const int threads = cfg.num_threads > 0 ? cfg.num_threads
                                          : std::max(1u, std::thread::hardware_concurrency());
  sim::VecEnv envs(hcfg, n_env, std::min(threads, n_env));
  sim::EpisodeIterator episodes = sim::EpisodeIterator::fromConfig(hcfg, "train", true, true);
  if (episodes.size() == 0)
    throw std::runtime_error(o.habitat_config_path + ": the train split has no episodes");
  // The saved cursor: every update draws E episodes, so a checkpoint of another E (or a
  // corrupt counter, which would replay the iterator for ever) cannot be resumed exactly.
  // --sft_only rolls an update out again when it had no expert step: more draws, still
  // whole updates' worth.
  const bool cursor_ok = o.sft_only ? state.episodes_drawn >= state.update * E &&
                                          state.episodes_drawn % E == 0
                                    : state.episodes_drawn == state.update * E;
  if (!cursor_ok)
    throw std::runtime_error(resume_from + "/trainer_state.json: " +
                             std::to_string(state.episodes_drawn) + " episodes drawn in " +
                             std::to_string(state.update) + " updates, not " +
                             std::to_string(E) + " per update (--num_episodes_per_update)");
  for (int64_t i = 0; i < state.episodes_drawn; ++i) episodes.next();

  RolloutOptions ro;
  ro.mode = RolloutMode::kTrain;
  ro.decode.greedy = false;
  ro.decode.temperature = cfg.temperature;
  ro.greedy_first_sample = o.greedy_first_sample || o.greedy_probe || o.sft_on_failures;
  ro.streaming.fixed_phrase = o.fixed_phrase;
  ro.intervention = interventionConfig(o);
  RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  // --greedy_probe: the members after a successful probe sample without intervention.
  std::unique_ptr<RolloutEngine> explorer;
  if (o.greedy_probe) {
    RolloutOptions explore = ro;
    explore.greedy_first_sample = false;
    explore.intervention.enable_recovery = false;
    explorer = std::make_unique<RolloutEngine>(envs, *policy.model, *policy.tokenizer,
                                               *policy.codec, explore);
  }
  PolicyUpdater updater(*policy.model, *policy.codec, params, *optimizer);

  UpdateOptions uo;
  uo.use_hybrid = o.use_hybrid_training || o.sft_only;
  uo.sft_oracle_only = o.sft_oracle_only || o.sft_only;
  uo.disable_grpo = o.disable_grpo_loss || o.sft_only;
  uo.step_mini_batches = o.step_mini_batches;
  uo.demo_loss_separate = o.demo_loss_separate;
  uo.demo_start_weight = o.sft_loss_start_weight;
  uo.two_phase = o.two_phase_update;
  uo.failures_only = o.sft_on_failures;
  uo.accumulation = o.gradient_accumulation_steps;
  uo.sft_false_stop_labels = o.sft_false_stop_labels;
  uo.success_distance = hcfg.success_distance;
  uo.aggregation = o.loss_agg_mode;
  uo.token_norm = hcfg.max_episode_steps;
  uo.sft_token_sum_norm = o.sft_token_sum_norm;
  uo.kl_coef = o.kl_coef;
  uo.entropy_coef = o.entropy_coef;
  uo.zero_old_logprob = o.zero_old_logprob;
  uo.temperature = cfg.temperature;
  uo.ppo_epochs = o.ppo_epochs;
  uo.mini_batch_size = ds.train_batch_size;
  uo.max_grad_norm = ds.gradient_clipping > 0 ? ds.gradient_clipping
                                              : std::numeric_limits<double>::infinity();
  uo.dist = &ctx;
  uo.shard_begin = shard_b * static_cast<size_t>(G);
  uo.shard_total = static_cast<size_t>(E * G);
  if (ds.reduce_bucket_size > 0) uo.bucket_bytes = ds.reduce_bucket_size;

  // Every rank evaluates (the same greedy episodes), so none waits at the next collective;
  // rank 0 alone keeps the best adapter. The starting policy (update 0) is a candidate too,
  // so best/ is never worse on the validation split than what training started from.
  BestKeeper best(o.output_path, o.best_margin);
  auto validate = [&](int64_t update) {
    const EvalResult r = evaluate(hcfg, policy, evalOptions(o, cfg));
    if (is_main && best.offer(update, r, root, lora, o.model_path))
      logLine("update " + std::to_string(update) + ": best so far on " + r.split + ": " +
              formatSummary(r) + " -> " + o.output_path + "/best");
    return r;
  };
  if (o.eval_every > 0 && state.update == 0) validate(0);
  TrainResult result;
  io::Progress progress("train", o.num_updates, cfg.progress && is_main ? 1 : 0);
  for (int64_t u = state.update; u < o.num_updates; ++u) {
    const auto t0 = std::chrono::steady_clock::now();
    auto rollOut = [&] {
      std::vector<sim::Episode> batch;  // the whole update's episodes, the same on every rank
      for (int i = 0; i < E; ++i) batch.push_back(*episodes.next());
      state.episodes_drawn += E;
      const uint64_t rollout_seed = rng();
      const std::vector<sim::Episode> mine(batch.begin() + static_cast<std::ptrdiff_t>(shard_b),
                                           batch.begin() + static_cast<std::ptrdiff_t>(shard_e));
      torch::NoGradGuard no_grad;
      if (o.greedy_probe) return probeRollout(engine, explorer.get(), mine, G, rollout_seed);
      // --sft_on_failures: the greedy probes alone (G = 1); a failed one is rolled back.
      if (o.sft_on_failures) return probeRollout(engine, nullptr, mine, 1, rollout_seed);
      return engine.run(mine, G, shardRolloutSeed(rollout_seed, shard_b));
    };
    std::vector<Trajectory> trajs = rollOut();
    int resamples = 0;  // --sft_only: rollouts without an expert step, drawn again
    while (o.sft_only && expertLabels(ctx, trajs, *policy.codec, uo) == 0) {
      if (++resamples >= kMaxSftOnlyResamples)
        throw std::runtime_error("--sft_only: no expert step in " +
                                 std::to_string(kMaxSftOnlyResamples) +
                                 " rollouts in a row (the policy never went off track); "
                                 "nothing to train on");
      trajs = rollOut();
    }
    const double rollout_secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> returns;
    for (const Trajectory& t : trajs) returns.push_back(trajectoryReturn(o, t, hcfg.success_distance));
    std::vector<double> policy_tokens;  // per trajectory, for --spread_advantages
    if (o.spread_advantages)
      for (const Trajectory& t : trajs)
        policy_tokens.push_back(static_cast<double>(collectTargets(t, *policy.codec, uo).policy.size()));
    const std::vector<double> adv =
        o.sft_on_failures ? std::vector<double>(trajs.size(), 0.0)  // no GRPO
        : o.greedy_probe  ? probeAdvantages(o, trajs, returns, policy_tokens)
                          : shardAdvantages(ctx, o, returns, policy_tokens, uo.shard_begin,
                                            uo.shard_total, baseline);
    // --sft_only: the weighted mean alone (the reference's coefficient 1).
    uo.sft_weight = o.sft_only              ? 1.0
                    : o.use_hybrid_training ? io::sftWeight(o, static_cast<int>(u))
                                            : 0.0;
    const double lr = learningRateAt(o, u);
    setLearningRate(*optimizer, lr);
    uo.step_seed = cfg.seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(u + 1));
    const UpdateStats st = updater.update(trajs, adv, uo);
    guard.record(u + 1, st.steps_skipped > 0);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::map<std::string, double> m =
        updateMetrics(rolloutMetrics(ctx, trajs, returns, adv), st, uo.sft_weight,
                      o.entropy_coef, lr, secs, rollout_secs);
    if (o.sft_only) m["sft_only_resamples"] = resamples;
    if (o.demo_loss_separate || uo.two_phase || uo.failures_only) m["demo_loss"] = st.demo_loss;
    if (uo.two_phase || uo.failures_only) {
      m["optimizer_steps"] = st.steps_applied;  // both passes'
      m["demo_steps"] = st.demo_tokens;         // labelled demonstration steps trained
    }
    if (o.sft_on_failures) {
      double failed = 0;
      for (const Trajectory& t : trajs) failed += t.grpo ? 0.0 : 1.0;
      m["failed_episodes"] = failed;  // greedy episodes rolled back: the only ones that train
    }
    if (o.greedy_probe) {
      double failed = 0;
      for (const Trajectory& t : trajs) failed += t.grpo ? 0.0 : 1.0;
      m["greedy_probe_failures"] = failed;  // episodes trained by their demonstration alone
    }
    if (o.eval_every > 0 && ((u + 1) % o.eval_every == 0 || u + 1 == o.num_updates)) {
      const EvalResult r = validate(u + 1);
      m["val_success_rate"] = r.summary.at("success_rate");
      m["val_spl"] = r.summary.at("spl");
    }
    if (logger) logger->logUpdate(u + 1, m);
    if (wandb) {
      wandb->log(u + 1, m);
      wandb->logLine(io::formatUpdateLine(u + 1, m));
    }
    result.last_metrics = m;
    result.updates_done = u + 1;
    char status[64];
    std::snprintf(status, sizeof status, "SR %.2f OR %.2f", m.at("success_rate"),
                  m.at("oracle_rate"));
    if (cfg.progress && is_main) progress.update(u + 1, status);
    if (is_main && cfg.visuals_every > 0 && (u + 1) % cfg.visuals_every == 0)
      writeUpdateVisuals(o.output_path, hcfg, trajs, u + 1, cfg.visuals_episodes);

    state.update = u + 1;
    state.baseline_mean = baseline.mean();
    state.baseline_count = baseline.count();
    state.nonfinite_streak = guard.consecutive();
    state.rng = rngText(rng);
    const std::vector<std::string> saves =
        checkpointNamesAt(o.checkpoint_naming, cfg.save_every, state.update, o.num_updates);
    for (const std::string& name : saves)
      result.last_checkpoint = saveCheckpointOnRanks(ctx, sharded_optimizer, o.output_path, state,
                                                     root, lora, *optimizer, o.model_path, name);
    if (!saves.empty()) {
      // report.html at every checkpoint (and so at the end of the run), no flag needed.
      if (is_main) {
        if (logger) logger->flush();
        io::writeRunReport(o.output_path);
      }
    }
  }
  if (cfg.progress && is_main) progress.finish();
  if (logger) logger->flush();
  if (wandb) wandb->finish(0);
  spdlog::info("rank {}: adapter fingerprint {:016x} after {} updates", ctx.rank(),
               weightsFingerprint(params), result.updates_done);
  return result;
}

}  // namespace svln::rl
