#include "cli/pipeline.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "io/train_flags.h"
#include "model/lora.h"
#include "rl/checkpoint_state.h"
#include "rl/policy.h"
#include "rl/sft.h"
#include "rl/train_setup.h"
#include "rl/trainer.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/procedural_dataset.h"

namespace svln::cli {
namespace fs = std::filesystem;

void addPipelineFlags(CLI::App& app, PipelineOptions& p) {
  const char* d = "Data";
  app.add_option("--task", p.task,
                 "route: short routes through apartments (a blind policy can learn them); "
                 "choice: walk to the column of the named colour, visible only in the images")
      ->check(CLI::IsMember({"route", "choice"}))->capture_default_str()->group(d);
  app.add_option("--scenes", p.scenes, "procedural apartments (a fifth of them val_unseen)")
      ->check(CLI::Range(2, 1000))->capture_default_str()->group(d);
  app.add_option("--episodes_per_scene", p.episodes_per_scene, "episodes per apartment")
      ->check(CLI::Range(1, 1000))->capture_default_str()->group(d);
  app.add_option("--sensor_size", p.sensor_size, "RGB width = height of a new dataset")
      ->check(CLI::Range(32, 1024))->capture_default_str()->group(d);
  app.add_flag("--hard_data", p.hard_data,
               "a new dataset with gen-data's defaults (3-12 m, random start yaw) instead of "
               "the easy curriculum")->group(d);
  const char* b = "Base policy";
  app.add_option("--model_size", p.model_size, "tiny | small")->capture_default_str()->group(b);
  app.add_option("--sft_updates", p.sft_updates, "SFT steps for the base policy")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(b);
  app.add_option("--sft_episodes", p.sft_episodes, "demonstrations per SFT step")
      ->check(CLI::Range(1, 256))->capture_default_str()->group(b);
  app.add_option("--sft_learning_rate", p.sft_learning_rate, "learning rate of the base's SFT (every parameter)")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(b);
  const char* g = "Hybrid GRPO+SFT";
  // The trainer's own flags (help and range checks: io/train_flags.cpp), with the
  // pipeline's defaults of p.grpo shown.
  io::TrainOptions& o = p.grpo.options;
  for (const char* flag : {"--offtrack_dist_thresh", "--offtrack_patience",
                           "--recovery_dist_thresh", "--goal_grace_steps", "--goal_stop_patience"})
    io::addTrainFlag(app, o, flag, g);
  app.add_option("--phase1_updates", p.phase1_updates, "phase1_stop updates")
      ->check(CLI::Range(1, 100000))->capture_default_str()->group(g);
  app.add_option("--phase2_updates", p.phase2_updates, "phase2_progress updates")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
  for (const char* flag : {"--num_episodes_per_update", "--group_size", "--learning_rate",
                           "--kl_coef", "--forced_stop_penalty", "--false_stop_penalty",
                           "--sft_oracle_only", "--sft_false_stop_labels",
                           "--sft_loss_start_weight", "--sft_loss_end_weight", "--sft_loss_norm"})
    io::addTrainFlag(app, o, flag, g);
  io::addTemperatureFlag(app, p.grpo.temperature, g);
  io::addTrainFlag(app, o, "--greedy_first_sample", g);
  CLI::Option* rank = io::addLoraRankFlag(app, p.grpo.lora.r, g);
  rank->description(rank->get_description() + " (alpha = 2 r)");
  app.add_option("--lora_targets", p.grpo.lora.target_modules, "module names that get LoRA adapters")
      ->capture_default_str()->group(g);
  io::addTrainFlag(app, o, "--lr_warmup_updates", g);
  io::addTrainFlag(app, o, "--loss_agg_mode", g);
  io::addTrainFlag(app, o, "--advantage_std", g);
  const char* e = "Run";
  app.add_option("--select_every", p.select_every,
                 "evaluate on val_seen every K updates and keep each phase's best adapter (0: the last)")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(g);
  io::addTrainFlag(app, o, "--best_margin", g);
  app.add_option("--max_episode_steps", p.max_episode_steps, "episode cap (training and evaluation)")
      ->check(CLI::Range(10, 5000))->capture_default_str()->group(e);
  app.add_option("--eval_episodes", p.eval_episodes, "val_unseen episodes evaluated (0: all)")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(e);
  app.add_option("--visuals_every", p.visuals_every,
                 "maps and videos of two training rollouts every K updates (0: off)")
      ->check(CLI::Range(0, 100000))->capture_default_str()->group(e);
  app.add_option("--seed", p.seed, "seed of the data, the initial weights and training")
      ->capture_default_str()->group(e);
  app.add_option("--threads", p.threads, "simulator threads")
      ->check(CLI::Range(1, 256))->capture_default_str()->group(e);
  app.add_option("--device", p.device, "every stage's device: cpu, cuda, cuda:N or auto")
      ->capture_default_str()->group(e);
  app.add_option("--precision", p.precision, rl::kPrecisionHelp)
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))->capture_default_str()->group(e);
}

const char* variantName(Variant v) {
  switch (v) {
    case Variant::kHybrid: return "hybrid";
    case Variant::kNoRecovery: return "no_recovery";
    case Variant::kPureGrpo: return "pure_grpo";
    case Variant::kContinuedSft: return "continued_sft";
  }
  return "?";
}

const char* variantLabel(Variant v) {
  switch (v) {
    case Variant::kHybrid: return "+ hybrid GRPO+SFT (the method)";
    case Variant::kNoRecovery: return "+ hybrid, --disable_recovery";
    case Variant::kPureGrpo: return "+ pure GRPO";
    case Variant::kContinuedSft: return "+ continued SFT (control)";
  }
  return "?";
}

std::string ensureData(const PipelineOptions& p, const std::string& dir) {
  const std::string config = dir + "/config.yaml";
  if (fs::exists(config)) return config;
  sim::GenDataOptions g;
  g.out_dir = dir;
  g.num_scenes = p.scenes;
  g.episodes_per_scene = p.episodes_per_scene;
  g.seed = p.seed;
  g.sensor_width = g.sensor_height = p.sensor_size;
  g.task = sim::parseDatasetTask(p.task);
  if (!p.hard_data && g.task == sim::DatasetTask::kRoute) {
    g.min_geodesic_m = p.min_geodesic_m;
    g.max_geodesic_m = p.max_geodesic_m;
    g.max_rooms_on_path = 2;
    g.start_facing_path = true;
  }
  sim::generateDataset(g);
  return config;
}

namespace {

rl::SftConfig sftConfig(const PipelineOptions& p, const std::string& config_path) {
  rl::SftConfig s;
  s.habitat_config_path = config_path;
  s.learning_rate = p.sft_learning_rate;
  s.full = true;
  s.seed = p.seed;
  s.num_threads = p.threads;
  s.max_episode_steps = p.max_episode_steps;
  s.device = p.device;
  s.precision = p.precision;
  return s;
}

// Merges a LoRA adapter into its base checkpoint as a new plain checkpoint directory.
void mergeInto(const std::string& model_dir, const std::string& adapter_dir, const std::string& out) {
  rl::Policy policy = rl::loadPolicy(model_dir, adapter_dir);
  model::mergeLora(policy.model->root());
  const std::string tmp = out + ".tmp";
  sim::freshDirectory(tmp);
  policy.model->save(tmp);
  rl::copyTokenizerFiles(model_dir, tmp);
  sim::publishDirectory(tmp, out);
}

rl::TrainerConfig grpoConfig(const PipelineOptions& p, Variant v, const std::string& model,
                             const std::string& config_path, const std::string& out,
                             io::Phase phase, int updates) {
  rl::TrainerConfig t = p.grpo;
  io::TrainOptions& o = t.options;
  o.model_path = model;
  o.habitat_config_path = config_path;
  o.output_path = out;
  o.phase = phase;
  o.use_hybrid_training = v != Variant::kPureGrpo;
  o.enable_recovery = v != Variant::kNoRecovery;
  o.num_updates = updates;
  o.mini_batch_size = o.group_size;
  o.sft_loss_decay_updates = std::max(1, updates);
  o.eval_every = v == Variant::kContinuedSft ? 0 : p.select_every;
  t.save_every = std::max(1, updates);
  t.seed = p.seed;
  t.num_threads = p.threads;
  t.max_episode_steps = p.max_episode_steps;
  t.device = p.device;
  t.precision = p.precision;
  t.visuals_every = p.visuals_every;
  t.lora.alpha = 2.0 * static_cast<double>(t.lora.r);
  return t;
}

}  // namespace

std::pair<double, double> trainBase(const PipelineOptions& p, const std::string& config_path,
                                    const std::string& work_dir, const std::string& out) {
  rl::SftConfig s = sftConfig(p, config_path);
  s.model_path = work_dir + "/init";
  s.output_path = out;
  s.num_updates = p.sft_updates;
  s.episodes_per_update = p.sft_episodes;
  rl::initStreamVLNCheckpoint(s.model_path, p.model_size, p.seed);
  const rl::SftResult r = rl::runSft(s);
  return {r.losses.front(), r.losses.back()};
}

std::string trainVariant(const PipelineOptions& p, Variant v, const std::string& base,
                         const std::string& config_path, const std::string& work_dir) {
  const std::string dir = work_dir + "/" + variantName(v);
  sim::freshDirectory(dir);
  if (v == Variant::kContinuedSft) {
    // The honest control: the base's SFT recipe continued for as many updates as the
    // hybrid run takes, each with as many expert demonstrations as a hybrid update has
    // trajectories (the hybrid sees the expert's label at every state it visits).
    rl::SftConfig s = sftConfig(p, config_path);
    s.model_path = base;
    s.output_path = dir + "/final";
    s.num_updates = p.phase1_updates + p.phase2_updates;
    s.episodes_per_update = p.grpo.options.num_episodes_per_update * p.grpo.options.group_size;
    s.seed = p.seed + 1;  // other demonstrations than the base's
    s.progress = false;
    rl::runSft(s);
    return s.output_path;
  }
  const std::string p1 = dir + "/phase1_stop", p2 = dir + "/phase2_progress";
  // The adapter a phase hands on: its best on val_seen under select_every, else its last.
  auto chosen = [&](const std::string& out) {
    const std::string best = rl::bestCheckpoint(out);
    return best.empty() ? rl::latestCheckpoint(out) : best;
  };
  rl::runTraining(grpoConfig(p, v, base, config_path, p1, io::Phase::Phase1Stop, p.phase1_updates));
  mergeInto(base, chosen(p1), dir + "/after_phase1");
  if (p.phase2_updates == 0) return dir + "/after_phase1";
  rl::runTraining(grpoConfig(p, v, dir + "/after_phase1", config_path, p2,
                             io::Phase::Phase2Progress, p.phase2_updates));
  mergeInto(dir + "/after_phase1", chosen(p2), dir + "/final");
  return dir + "/final";
}

rl::EvalResult evalUnseen(const PipelineOptions& p, const std::string& config_path,
                          const std::string& model_dir) {
  sim::HabitatConfig cfg = sim::loadHabitatConfig(config_path);
  cfg.max_episode_steps = p.max_episode_steps;
  rl::Policy policy = rl::loadPolicy(model_dir, "", rl::deviceLoadOptions(p.device, 0, p.precision));
  rl::EvalOptions eo;
  eo.split = "val_unseen";
  eo.num_envs = 8;
  eo.max_episodes = p.eval_episodes > 0 ? p.eval_episodes : -1;
  eo.num_threads = p.threads;
  eo.seed = p.seed;
  return rl::evaluate(cfg, policy, eo);
}

}  // namespace svln::cli
