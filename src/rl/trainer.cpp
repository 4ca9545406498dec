#include "rl/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "io/progress.h"
#include "io/run_logger.h"
#include "model/peft.h"
#include "rl/advantages.h"
#include "rl/checkpoint_state.h"
#include "rl/policy.h"
#include "rl/train_setup.h"
#include "rl/rollout.h"
#include "rl/rewards.h"
#include "rl/update.h"
#include "sim/episode_iterator.h"
#include "sim/habitat_config.h"
#include "sim/vec_env.h"

namespace svln::rl {
namespace {

// R = sum_t r_t with the phase's rewards (rl/rewards.h) over the executed steps.
double trajectoryReturn(io::Phase phase, const Trajectory& t, float success_distance) {
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
  const RewardPhase p =
      phase == io::Phase::Phase1Stop ? RewardPhase::Phase1Stop : RewardPhase::Phase2Progress;
  double r = 0;
  for (double x : stepRewards(p, RewardConstants{}, steps, out)) r += x;
  return r;
}

// The update's episode metrics (means over trajectories, counters summed).
std::map<std::string, double> rolloutMetrics(const std::vector<Trajectory>& trajs,
                                             const std::vector<double>& returns) {
  std::map<std::string, double> m;
  double sr = 0, spl = 0, ndtw = 0, len = 0, ret = 0, ne = 0;
  expert::InterventionCounters c;
  for (size_t i = 0; i < trajs.size(); ++i) {
    sr += trajs[i].metrics.success;
    spl += trajs[i].metrics.spl;
    ndtw += trajs[i].metrics.ndtw;
    ne += trajs[i].metrics.navigation_error;
    len += trajs[i].metrics.steps;
    ret += returns[i];
    c += trajs[i].counters;
  }
  const double n = std::max<size_t>(1, trajs.size());
  m["success_rate"] = sr / n;
  m["spl"] = spl / n;
  m["ndtw"] = ndtw / n;
  m["navigation_error"] = ne / n;
  m["avg_episode_length"] = len / n;
  m["mean_return"] = ret / n;
  m["oracle_rate"] = c.oracleRate();  // expert-controlled steps / all steps
  m["recoveries_triggered"] = c.recoveries_triggered;
  m["recoveries_completed"] = c.recoveries_completed;
  m["forced_stops"] = c.forced_stops;
  return m;
}

std::string rngText(const std::mt19937_64& rng) {
  std::ostringstream s;
  s << rng;
  return s.str();
}

}  // namespace

std::string describeConfig(const TrainerConfig& c) {
  const io::TrainOptions& o = c.options;
  std::ostringstream s;
  s << "config:\n"
    << "  model_path: " << o.model_path << "\n  habitat_config_path: " << o.habitat_config_path
    << "\n  output_path: " << o.output_path << "\n  phase: " << io::phaseName(o.phase)
    << "\n  use_hybrid_training: " << o.use_hybrid_training
    << "\n  sft_loss_start_weight: " << o.sft_loss_start_weight
    << "\n  sft_loss_end_weight: " << o.sft_loss_end_weight
    << "\n  sft_loss_decay_updates: " << o.sft_loss_decay_updates
    << "\n  sft_loss_decay_type: " << io::decayTypeName(o.sft_loss_decay_type)
    << "\n  sft_targets: " << (o.sft_oracle_only ? "oracle_only" : "policy_steps")
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
    << "\n  greedy_first_sample: " << o.greedy_first_sample
    << "\n  num_updates: " << o.num_updates
    << "\n  num_episodes_per_update: " << o.num_episodes_per_update
    << "\n  group_size: " << o.group_size << "\n  learning_rate: " << o.learning_rate
    << "\n  ppo_epochs: " << o.ppo_epochs << "\n  mini_batch_size: " << o.mini_batch_size
    << "\n  max_grad_norm: " << o.max_grad_norm << "\n  kl_coef: " << o.kl_coef
    << "\n  save_every: " << c.save_every << "\n  seed: " << c.seed
    << "\n  temperature: " << c.temperature << "\n  lora: r=" << c.lora.r
    << " alpha=" << c.lora.alpha << " dropout=" << c.lora.dropout << " targets=";
  for (size_t i = 0; i < c.lora.target_modules.size(); ++i)
    s << (i ? "," : "") << c.lora.target_modules[i];
  if (!c.lora.target_regex.empty()) s << " regex=" << c.lora.target_regex;
  s << "\nreward constants:\n" << RewardConstants{}.describe();
  return s.str();
}

TrainResult runTraining(const TrainerConfig& cfg) {
  const io::TrainOptions& o = cfg.options;
  o.validate();
  if (o.use_deepspeed)
    throw std::runtime_error("--use_deepspeed: data-parallel training is not available in this "
                             "CPU build; run without it");
  if (o.use_wandb)
    throw std::runtime_error("--use_wandb: no Weights & Biases client in this build; the same "
                             "figures are in <output_path>/metrics.jsonl and tensorboard/");
  if (cfg.save_every < 1) throw std::runtime_error("--save_every: must be >= 1");
  std::filesystem::create_directories(o.output_path);

  const std::string resume_from = cfg.resume ? latestCheckpoint(o.output_path) : "";
  if (cfg.resume && resume_from.empty())
    spdlog::warn("--resume: no checkpoint in {}, starting from update 0", o.output_path);

  io::RunLogger logger(o.output_path, cfg.tensorboard);
  Policy policy = loadPolicy(o.model_path);
  policy.model->lm->eval();  // no dropout anywhere: recomputed log-probs match the rollout's
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
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(o.learning_rate).weight_decay(0.0));

  TrainerState state;
  std::mt19937_64 rng(cfg.seed);
  if (!resume_from.empty()) {
    state = loadTrainerState(resume_from);
    loadOptimizerAndRng(resume_from, optimizer);
    std::istringstream(state.rng) >> rng;
    logger.logLine("resumed from " + resume_from + " at update " + std::to_string(state.update));
  } else {
    torch::manual_seed(cfg.seed);
    logger.logLine(describeConfig(cfg));
    logger.logLine("trainable parameters: " + std::to_string(n_train));
  }
  RunningBaseline baseline;
  baseline.restore(state.baseline_mean, state.baseline_count);
  NonFiniteGuard guard;
  guard.restore(state.nonfinite_streak);

  sim::HabitatConfig hcfg = sim::loadHabitatConfig(o.habitat_config_path);
  if (cfg.max_episode_steps > 0) hcfg.max_episode_steps = cfg.max_episode_steps;
  const int n_env = o.num_episodes_per_update * o.group_size;
  const int threads = cfg.num_threads > 0 ? cfg.num_threads
                                          : std::max(1u, std::thread::hardware_concurrency());
  sim::VecEnv envs(hcfg, n_env, std::min(threads, n_env));
  sim::EpisodeIterator episodes = sim::EpisodeIterator::fromConfig(hcfg, "train", true, true);
  if (episodes.size() == 0)
    throw std::runtime_error(o.habitat_config_path + ": the train split has no episodes");
  for (int64_t i = 0; i < state.episodes_drawn; ++i) episodes.next();  // the saved cursor

  RolloutOptions ro;
  ro.mode = RolloutMode::kTrain;
  ro.decode.greedy = false;
  ro.decode.temperature = cfg.temperature;
  ro.greedy_first_sample = o.greedy_first_sample;
  ro.intervention = interventionConfig(o);
  RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  PolicyUpdater updater(*policy.model, *policy.codec, params, optimizer);

  UpdateOptions uo;
  uo.use_hybrid = o.use_hybrid_training;
  uo.sft_oracle_only = o.sft_oracle_only;
  uo.kl_coef = o.kl_coef;
  uo.temperature = cfg.temperature;
  uo.ppo_epochs = o.ppo_epochs;
  uo.mini_batch_size = o.mini_batch_size;
  uo.max_grad_norm = o.max_grad_norm;

  TrainResult result;
  io::Progress progress("train", o.num_updates, cfg.progress ? 1 : 0);
  for (int64_t u = state.update; u < o.num_updates; ++u) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<sim::Episode> batch;
    for (int i = 0; i < o.num_episodes_per_update; ++i) batch.push_back(*episodes.next());
    state.episodes_drawn += o.num_episodes_per_update;
    const uint64_t rollout_seed = rng();
    std::vector<Trajectory> trajs;
    {
      torch::NoGradGuard no_grad;
      trajs = engine.run(batch, o.group_size, rollout_seed);
    }
    std::vector<double> returns;
    for (const Trajectory& t : trajs) returns.push_back(trajectoryReturn(o.phase, t, hcfg.success_distance));
    const std::vector<double> adv = trajectoryAdvantages(returns, o.group_size, baseline);
    uo.sft_weight = o.use_hybrid_training ? io::sftWeight(o, static_cast<int>(u)) : 0.0;
    const UpdateStats st = updater.update(trajs, adv, uo);
    guard.record(u + 1, st.steps_skipped > 0);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::map<std::string, double> m = rolloutMetrics(trajs, returns);
    int64_t steps = 0;
    for (const Trajectory& t : trajs) steps += t.metrics.steps;
    m["grpo_loss"] = st.grpo_loss;
    m["sft_loss"] = st.sft_loss;
    m["sft_weight"] = uo.sft_weight;
    m["kl"] = st.kl;
    m["clip_fraction"] = st.clip_fraction;
    m["grad_norm"] = st.grad_norm;
    m["learning_rate"] = o.learning_rate;
    m["steps_per_second"] = secs > 0 ? static_cast<double>(steps) / secs : 0.0;
    m["skipped_steps"] = st.steps_skipped;
    logger.logUpdate(u + 1, m);
    result.last_metrics = m;
    result.updates_done = u + 1;
    char status[64];
    std::snprintf(status, sizeof status, "SR %.2f OR %.2f", m["success_rate"], m["oracle_rate"]);
    if (cfg.progress) progress.update(u + 1, status);

    state.update = u + 1;
    state.baseline_mean = baseline.mean();
    state.baseline_count = baseline.count();
    state.nonfinite_streak = guard.consecutive();
    state.rng = rngText(rng);
    if (state.update % cfg.save_every == 0 || state.update == o.num_updates) {
      result.last_checkpoint = saveTrainCheckpoint(o.output_path, state, root, lora, optimizer, o.model_path);
    }
  }
  if (cfg.progress) progress.finish();
  logger.flush();
  return result;
}

}  // namespace svln::rl
