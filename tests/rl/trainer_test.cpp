// `train` end to end on a tiny procedural world: the run writes training.log (config echo,
// reward constants), metrics.jsonl with the spec's keys, TensorBoard events and
// checkpoints; 2 updates + --resume + 2 gives the same metrics as 4 straight; flag errors
// are one line naming the flag.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/protobuf_message.h"
#include "io/wandb_log.h"
#include "model/safetensors.h"
#include "rl/dagger.h"
#include "rl/policy.h"
#include "rl/train_setup.h"
#include "rl/trainer.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"
#include "sim/procedural_dataset.h"
#include "sim/vec3.h"

namespace svln::rl {
namespace {
namespace fs = std::filesystem;

const fs::path kRoot = fs::temp_directory_path() / "svln_trainer_test";

struct TinyWorld : ::testing::Test {
  static void SetUpTestSuite() {
    if (fs::exists(kRoot / "data" / "config.yaml") && fs::exists(kRoot / "init" / "tokenizer.json")) return;
    fs::remove_all(kRoot);
    sim::GenDataOptions g;
    g.out_dir = (kRoot / "data").string();
    g.num_scenes = 2;
    g.episodes_per_scene = 3;
    g.seed = 4;
    g.sensor_width = g.sensor_height = 32;
    sim::generateDataset(g);
    initStreamVLNCheckpoint((kRoot / "init").string(), "tiny", 1);
  }

  static TrainerConfig config(const std::string& out, int updates) {
    TrainerConfig c;
    c.options.model_path = (kRoot / "init").string();
    c.options.habitat_config_path = (kRoot / "data" / "config.yaml").string();
    c.options.output_path = (kRoot / out).string();
    c.options.num_updates = updates;
    c.options.group_size = 2;
    c.options.num_episodes_per_update = 1;
    c.options.use_hybrid_training = true;
    c.options.learning_rate = 1e-3;
    c.options.phase = io::Phase::Phase2Progress;
    c.save_every = 2;
    c.max_episode_steps = 12;
    c.num_threads = 1;
    c.progress = false;
    c.lora.r = 4;
    c.lora.alpha = 8;
    return c;
  }

  static std::vector<nlohmann::json> metrics(const std::string& out) {
    std::ifstream f(kRoot / out / "metrics.jsonl");
    std::vector<nlohmann::json> lines;
    std::string line;
    while (std::getline(f, line)) {
      nlohmann::json j = nlohmann::json::parse(line);
      // Wall-clock times, the figures that may differ.
      for (const char* k : {"steps_per_second", "update_seconds", "rollout_seconds", "time",
                            "wall_time", "timestamp"})
        j.erase(k);
      lines.push_back(j);
    }
    return lines;
  }
};

TEST_F(TinyWorld, TrainWritesLogsMetricsTensorboardAndCheckpoints) {
  fs::remove_all(kRoot / "run");
  const TrainResult r = runTraining(config("run", 2));
  EXPECT_EQ(r.updates_done, 2);
  const fs::path run = kRoot / "run";
  std::ifstream log(run / "training.log");
  std::stringstream s;
  s << log.rdbuf();
  EXPECT_NE(s.str().find("use_hybrid_training: 1"), std::string::npos);
  EXPECT_NE(s.str().find("reward constants"), std::string::npos);
  const auto m = metrics("run");
  ASSERT_EQ(m.size(), 2u);
  for (const char* k : {"success_rate", "spl", "oracle_rate", "avg_episode_length", "grpo_loss",
                        "sft_loss", "sft_weight", "mean_return", "recoveries_triggered",
                        "recoveries_completed", "forced_stops", "grad_norm", "learning_rate",
                        "kl", "clip_fraction", "ndtw"})
    EXPECT_TRUE(m[0].contains(k)) << k;
  EXPECT_FALSE(m[0].contains("entropy"));  // computed and logged only with --entropy_coef
  EXPECT_DOUBLE_EQ(m[0]["sft_weight"].get<double>(), 1.0);  // w(0) = start weight
  EXPECT_GT(m[0]["sft_loss"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(run / "checkpoint-2" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "checkpoint-2" / "optimizer.pt"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(run / "tensorboard"))
    events |= e.path().filename().string().rfind("events.out.tfevents", 0) == 0;
  EXPECT_TRUE(events);
}

// The budvln preset's mechanisms together: rollback, greedy first sample, TDR, population
// std, spread advantages, placeholder old log-prob, entropy bonus, weight decay.
TEST_F(TinyWorld, BudvlnMechanismsTrainEndToEnd) {
  fs::remove_all(kRoot / "budvln");
  TrainerConfig c = config("budvln", 2);
  c.options.recovery_mode = io::RecoveryMode::Rollback;
  c.options.greedy_first_sample = true;
  c.options.use_tdr = true;
  c.options.advantage_std = io::AdvantageStd::Population;
  c.options.spread_advantages = true;
  c.options.zero_old_logprob = true;
  c.options.entropy_coef = 0.02;
  c.options.weight_decay = 0.01;
  c.options.loss_agg_mode = io::LossAggMode::TokenMean;
  c.temperature = 0.5;
  const TrainResult r = runTraining(c);
  EXPECT_EQ(r.updates_done, 2);
  const auto m = metrics("budvln");
  ASSERT_EQ(m.size(), 2u);
  for (const auto& row : m) {
    ASSERT_TRUE(row.contains("entropy"));
    EXPECT_GT(row["entropy"].get<double>(), 0.0);
    EXPECT_TRUE(std::isfinite(row["grpo_loss"].get<double>()));
    EXPECT_EQ(row["skipped_steps"].get<double>(), 0.0);
  }
  std::ifstream log(kRoot / "budvln" / "training.log");
  std::stringstream s;
  s << log.rdbuf();
  EXPECT_NE(s.str().find("  advantage_std: population\n"), std::string::npos);
  EXPECT_NE(s.str().find("  use_tdr: 1\n"), std::string::npos);
}

// --checkpoint_naming budvln: checkpoint_<u> every --save_every updates and checkpoint_final
// at the end, as the reference names them; --resume_from DIR continues from one of them in
// another output directory exactly as the run itself went on.
TEST_F(TinyWorld, BudvlnCheckpointNamesAndResumeFromADirectory) {
  fs::remove_all(kRoot / "names");
  fs::remove_all(kRoot / "from");
  TrainerConfig c = config("names", 3);
  c.options.checkpoint_naming = io::CheckpointNaming::Budvln;
  runTraining(c);
  const fs::path run = kRoot / "names";
  EXPECT_TRUE(fs::exists(run / "checkpoint_2" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "checkpoint_final" / "trainer_state.json"));
  EXPECT_FALSE(fs::exists(run / "checkpoint_3"));
  EXPECT_FALSE(fs::exists(run / "checkpoint-2"));
  std::ifstream latest(run / "latest");
  std::string name;
  std::getline(latest, name);
  EXPECT_EQ(name, "checkpoint_final");

  TrainerConfig r = config("from", 3);
  r.resume_from = (run / "checkpoint_2").string();
  EXPECT_EQ(runTraining(r).updates_done, 3);
  const auto a = metrics("names"), b = metrics("from");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[2].dump(), b[0].dump());

  r.resume = true;  // both: one error naming the flag
  try {
    runTraining(r);
    ADD_FAILURE() << "--resume with --resume_from was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume_from"), std::string::npos) << e.what();
  }
}

// --sft_only: the expert's steps alone train (no surrogate), at the weighted mean's
// coefficient 1; an update without one is rolled out again.
TEST_F(TinyWorld, SftOnlyTrainsOnTheExpertsStepsAlone) {
  fs::remove_all(kRoot / "sftonly");
  TrainerConfig c = config("sftonly", 2);
  c.options.sft_only = true;
  c.options.offtrack_dist_thresh = 0.3;  // the expert takes over within a few steps
  c.options.recovery_dist_thresh = 0.1;
  c.options.offtrack_patience = 1;
  runTraining(c);
  const auto m = metrics("sftonly");
  ASSERT_EQ(m.size(), 2u);
  for (const auto& row : m) {
    EXPECT_EQ(row["grpo_loss"].get<double>(), 0.0);
    EXPECT_EQ(row["clip_fraction"].get<double>(), 0.0);
    EXPECT_GT(row["sft_loss"].get<double>(), 0.0);
    EXPECT_EQ(row["sft_weight"].get<double>(), 1.0);
    EXPECT_GT(row["oracle_rate"].get<double>(), 0.0);
    EXPECT_TRUE(row.contains("sft_only_resamples"));
  }
  c.options.enable_recovery = false;  // no expert, nothing to learn from: refused up front
  EXPECT_THROW(runTraining(c), std::runtime_error);
}

// BudVLN's rollback triggers in a run: the tiny untrained policy stops early, so with
// --rollback_on_premature_stop those STOPs become rollbacks with demonstrations straight to
// the goal, and none of its STOPs beyond the success distance is executed any more.
TEST_F(TinyWorld, PrematureStopsBecomeRollbacksWithDemonstrations) {
  fs::remove_all(kRoot / "premature");
  TrainerConfig c = config("premature", 2);
  c.max_episode_steps = 40;
  c.options.rollback_on_premature_stop = true;
  c.options.goal_zone_timeout_rollback = true;
  c.options.rollback_to_own_pose = true;
  c.options.rollback_demo_towards_goal = true;
  c.options.oracle_goal_radius = 1.0;
  c.options.phase = io::Phase::Phase2Spl;  // BudVLN's rewards
  c.options.fixed_phrase = true;
  c.options.demo_loss_separate = true;
  runTraining(c);
  const auto m = metrics("premature");
  ASSERT_EQ(m.size(), 2u);
  double rollbacks = 0;
  for (const auto& row : m) {
    rollbacks += row["rollbacks"].get<double>();
    EXPECT_EQ(row["false_stop_rate"].get<double>(), 0.0);
    EXPECT_EQ(row["forced_stops"].get<double>(), 0.0);
    ASSERT_TRUE(row.contains("demo_loss"));
    // BudVLN's rewards: a cut trajectory earns +-0.05 per step and nothing at its end.
    EXPECT_LE(std::fabs(row["mean_return"].get<double>()), 0.05 * 40 + 1e-9);
  }
  EXPECT_GT(rollbacks, 0.0);
  std::ifstream log(kRoot / "premature" / "training.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("  phase: phase2_spl\n"), std::string::npos);
  EXPECT_NE(text.str().find("budvln: step_reward=0.05"), std::string::npos);
}

// --greedy_probe: the greedy member of each episode rolls out first; the other members run
// only after a probe that was not rolled back, and without intervention, so every rollback
// of an update is a failed probe's, and a failed probe stands alone (no group).
TEST_F(TinyWorld, GreedyProbeSamplesOnlyAfterAProficientProbe) {
  fs::remove_all(kRoot / "probe");
  TrainerConfig c = config("probe", 3);
  c.max_episode_steps = 30;
  c.options.num_episodes_per_update = 2;
  c.options.group_size = 3;
  c.options.use_hybrid_training = false;
  c.options.recovery_mode = io::RecoveryMode::Rollback;
  c.options.rollback_on_premature_stop = true;
  c.options.demo_loss_separate = true;
  c.options.greedy_probe = true;
  c.options.phase = io::Phase::Phase2Spl;
  runTraining(c);
  const auto m = metrics("probe");
  ASSERT_EQ(m.size(), 3u);
  double failures = 0;
  for (const auto& row : m) {
    ASSERT_TRUE(row.contains("greedy_probe_failures"));
    const double f = row["greedy_probe_failures"].get<double>();
    EXPECT_LE(f, 2.0);
    EXPECT_EQ(row["rollbacks"].get<double>(), f);
    failures += f;
    if (f == 2.0) EXPECT_EQ(row["grpo_loss"].get<double>(), 0.0);  // no group anywhere
  }
  EXPECT_GT(failures, 0.0);  // the untrained policy stops early: its probes are cut
  c.options.recovery_mode = io::RecoveryMode::Takeover;  // refused: no rollback, no probe
  EXPECT_THROW(runTraining(c), std::runtime_error);
}

// --update_mode two_phase (S:2233-2718): after the GRPO pass (one mini-batch of the group
// of 2 here), the update's demonstration steps train alone in batches of 4, an optimizer
// step each: 1 + ceil(demo_steps / 4) steps per update.
TEST_F(TinyWorld, TwoPhaseUpdateTrainsTheDemonstrationsInTheirOwnPass) {
  fs::remove_all(kRoot / "twophase");
  TrainerConfig c = config("twophase", 3);
  c.max_episode_steps = 40;
  c.options.recovery_mode = io::RecoveryMode::Rollback;
  c.options.rollback_on_premature_stop = true;
  c.options.rollback_demo_towards_goal = true;
  c.options.phase = io::Phase::Phase2Spl;
  c.options.two_phase_update = true;
  runTraining(c);
  const auto m = metrics("twophase");
  ASSERT_EQ(m.size(), 3u);
  double demo_steps = 0;
  for (const auto& row : m) {
    ASSERT_TRUE(row.contains("optimizer_steps"));
    const double d = row["demo_steps"].get<double>();
    EXPECT_EQ(row["optimizer_steps"].get<double>(), 1.0 + std::ceil(d / 4.0));
    if (d > 0) EXPECT_GT(row["demo_loss"].get<double>(), 0.0);
    EXPECT_EQ(row["skipped_steps"].get<double>(), 0.0);
    demo_steps += d;
  }
  EXPECT_GT(demo_steps, 0.0);  // the untrained policy stops early: its STOPs are cut
  std::ifstream log(kRoot / "twophase" / "training.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("  update_mode: two_phase\n"), std::string::npos);
  c.options.recovery_mode = io::RecoveryMode::Takeover;  // no rollback, no demonstrations
  EXPECT_THROW(runTraining(c), std::runtime_error);
}

// --sft_on_failures (F:): one greedy rollout per episode; only the episodes it failed (was
// rolled back on) train, by their demonstrations, in segments of at most 32 steps. With no
// rollback possible every episode counts as solved and no update takes a step.
TEST_F(TinyWorld, SftOnFailuresTrainsOnlyTheFailedGreedyEpisodes) {
  fs::remove_all(kRoot / "failures");
  TrainerConfig c = config("failures", 3);
  c.max_episode_steps = 40;
  c.options.group_size = 1;
  c.options.num_episodes_per_update = 2;
  c.options.use_hybrid_training = false;
  c.options.recovery_mode = io::RecoveryMode::Rollback;
  c.options.rollback_on_premature_stop = true;
  c.options.rollback_demo_towards_goal = true;
  c.options.phase = io::Phase::Phase2Spl;
  c.options.sft_on_failures = true;
  runTraining(c);
  auto m = metrics("failures");
  ASSERT_EQ(m.size(), 3u);
  double failed = 0;
  for (const auto& row : m) {
    const double f = row["failed_episodes"].get<double>();
    const double d = row["demo_steps"].get<double>();
    EXPECT_EQ(f, row["rollbacks"].get<double>());
    EXPECT_EQ(row["grpo_loss"].get<double>(), 0.0);
    EXPECT_EQ(row["sft_loss"].get<double>(), 0.0);
    // Each failure's demonstration is at most 40 steps: one or two segments.
    EXPECT_GE(row["optimizer_steps"].get<double>(), d > 0 ? 1.0 : 0.0);
    EXPECT_LE(row["optimizer_steps"].get<double>(), 2.0 * f);
    if (d > 0) EXPECT_GT(row["demo_loss"].get<double>(), 0.0);
    failed += f;
  }
  EXPECT_GT(failed, 0.0);

  fs::remove_all(kRoot / "failures");
  c.options.rollback_on_premature_stop = false;  // nothing is ever rolled back
  c.options.offtrack_dist_thresh = 1000;
  c.options.heading_guard_dist = 1000;
  c.options.goal_stop_patience = 0;
  c.options.stuck_motion_steps = 0;
  runTraining(c);
  m = metrics("failures");
  ASSERT_EQ(m.size(), 3u);
  for (const auto& row : m) {
    EXPECT_EQ(row["failed_episodes"].get<double>(), 0.0);
    EXPECT_EQ(row["optimizer_steps"].get<double>(), 0.0);
    EXPECT_EQ(row["demo_steps"].get<double>(), 0.0);
    EXPECT_EQ(row["grad_norm"].get<double>(), 0.0);
  }
  c.options.group_size = 2;  // a group would not be greedy alone: refused, naming the flag
  try {
    runTraining(c);
    ADD_FAILURE() << "--sft_on_failures with --group_size 2 was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--sft_on_failures"), std::string::npos) << e.what();
  }
}

// `streamvln dagger`: the policy drives, the expert labels each visited state; the episodes
// come back with VLN-CE's gt fields and survive a save and load.
TEST_F(TinyWorld, DaggerLabelsEveryStateThePolicyVisits) {
  sim::HabitatConfig cfg = sim::loadHabitatConfig((kRoot / "data" / "config.yaml").string());
  cfg.max_episode_steps = 20;
  Policy policy = loadPolicy((kRoot / "init").string());
  DaggerOptions o;
  o.split = "train";
  o.num_envs = 2;
  o.num_threads = 1;
  const DaggerResult r = collectDagger(cfg, policy, o);
  ASSERT_FALSE(r.data.episodes.empty());
  int steps = 0;
  for (const sim::Episode& e : r.data.episodes) {
    ASSERT_FALSE(e.gt_actions.empty());
    ASSERT_FALSE(e.gt_locations.empty());
    EXPECT_EQ(e.gt_locations.size(), e.gt_actions.size());  // the state each label is for
    EXPECT_LT(sim::horizontalDistance(e.gt_locations.front(), e.start_position), 0.05f);
    for (int a : e.gt_actions) EXPECT_TRUE(a >= 0 && a <= 3) << a;
    steps += static_cast<int>(e.gt_actions.size());
  }
  EXPECT_EQ(steps, r.steps);
  EXPECT_LE(r.agreements, r.steps);
  const fs::path file = kRoot / "dagger" / "train_dagger.json.gz";
  fs::create_directories(file.parent_path());
  sim::saveEpisodes(r.data, file.string());
  EXPECT_TRUE(fs::exists(kRoot / "dagger" / "train_dagger_gt.json.gz"));
  const sim::EpisodeDataset back = sim::loadEpisodes(file.string());
  ASSERT_EQ(back.episodes.size(), r.data.episodes.size());
  EXPECT_EQ(back.episodes[0].gt_actions, r.data.episodes[0].gt_actions);
}

// --eval_every keeps the best adapter with which validation episodes succeeded; under
// --best_margin a candidate must beat it clearly, paired by episode, so with a margin no
// validation can clear, the starting policy (update 0) stays the best.
TEST_F(TinyWorld, ValidationKeepsTheBestAdapterAndAMarginKeepsTheIncumbent) {
  for (const double margin : {0.0, 100.0}) {
    const std::string out = margin > 0 ? "best_margin" : "best_plain";
    fs::remove_all(kRoot / out);
    TrainerConfig c = config(out, 3);
    c.options.eval_every = 1;
    c.options.best_margin = margin;
    runTraining(c);
    std::ifstream f(kRoot / out / "best" / "best.json");
    ASSERT_TRUE(f) << out;
    const nlohmann::json j = nlohmann::json::parse(f);
    ASSERT_TRUE(j.contains("successes")) << out;
    EXPECT_EQ(j["successes"].size(), j["episodes"].get<size_t>()) << out;
    EXPECT_TRUE(fs::exists(kRoot / out / "best" / "adapter_model.safetensors")) << out;
    if (margin > 0) EXPECT_EQ(j["update"].get<int>(), 0);
  }
}

TEST_F(TinyWorld, ResumeGivesTheSameMetricsAsAnUninterruptedRun) {
  fs::remove_all(kRoot / "straight");
  fs::remove_all(kRoot / "split");
  runTraining(config("straight", 4));
  runTraining(config("split", 2));
  TrainerConfig c = config("split", 4);
  c.resume = true;
  const TrainResult r = runTraining(c);
  EXPECT_EQ(r.updates_done, 4);
  const auto a = metrics("straight"), b = metrics("split");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump()) << "update " << i + 1;
}

TEST_F(TinyWorld, AResumeRedoesLaterUpdatesWithoutDuplicateRowsOrStaleTempFiles) {
  // A run killed after logging update 3 but before its checkpoint: latest is checkpoint-2,
  // metrics.jsonl has rows 1-3, and a save left a temp file behind.
  fs::remove_all(kRoot / "redo");
  TrainerConfig c = config("redo", 3);
  c.save_every = 2;
  runTraining(c);
  std::ofstream(kRoot / "redo" / "latest") << "checkpoint-2\n";
  std::ofstream(kRoot / "redo" / "latest.tmp.4242.0") << "checkpoint-3\n";
  c = config("redo", 4);
  c.resume = true;
  runTraining(c);
  std::vector<int64_t> updates;
  for (const auto& row : metrics("redo")) updates.push_back(row["update"].get<int64_t>());
  EXPECT_EQ(updates, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_FALSE(fs::exists(kRoot / "redo" / "latest.tmp.4242.0"));
}

// --use_wandb with WANDB_MODE=offline: an offline run under <output_path>/wandb whose
// transaction log holds one history record per update, ending in exit + final.
TEST_F(TinyWorld, WandbOfflineRunLogsEveryUpdate) {
  fs::remove_all(kRoot / "wandb_run");
  TrainerConfig c = config("wandb_run", 2);
  c.options.use_wandb = true;
  c.wandb_env = {{"WANDB_MODE", "offline"}, {"WANDB_RUN_ID", "tinyrun1"}};
  runTraining(c);
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(kRoot / "wandb_run" / "wandb")) runs.push_back(e.path());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].filename().string().rfind("offline-run-", 0), 0u);
  std::vector<int> types;
  for (const std::string& r : io::readWandbLog((runs[0] / "run-tinyrun1.wandb").string()))
    for (const io::ProtoField& f : io::parseProtoFields(r))
      if (f.number != 1) types.push_back(f.number);
  EXPECT_EQ(std::count(types.begin(), types.end(), 2), 2);  // history per update
  ASSERT_GE(types.size(), 2u);
  EXPECT_EQ(types[types.size() - 2], 18);  // exit
  EXPECT_EQ(types.back(), 20);             // final
  const auto summary = nlohmann::json::parse(std::ifstream(runs[0] / "files" / "wandb-summary.json"));
  EXPECT_EQ(summary["_step"].get<int>(), 2);
  EXPECT_TRUE(summary.contains("success_rate"));
}

// --visuals_every 1: maps and videos of the update's rollouts per update, in report.html.
TEST_F(TinyWorld, VisualsEveryUpdateLandInTheReport) {
  fs::remove_all(kRoot / "visuals_run");
  TrainerConfig c = config("visuals_run", 2);
  c.visuals_every = 1;
  c.visuals_episodes = 1;
  runTraining(c);
  for (int u : {1, 2}) {
    const fs::path dir = kRoot / "visuals_run" / "visuals" / ("update-" + std::to_string(u));
    int maps = 0, videos = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string ext = e.path().extension().string();
      maps += ext == ".png" && fs::file_size(e.path()) > 100;
      videos += (ext == ".mp4" || ext == ".gif") && fs::file_size(e.path()) > 100;
    }
    EXPECT_EQ(maps, 1) << dir;
    EXPECT_EQ(videos, 1) << dir;
  }
  std::ifstream f(kRoot / "visuals_run" / "report.html");
  std::stringstream html;
  html << f.rdbuf();
  EXPECT_NE(html.str().find("id=\"visuals-update-2\""), std::string::npos);
  EXPECT_NE(html.str().find("src=\"visuals/update-1/ep"), std::string::npos);
}

struct CommandRun {
  int exit_code;
  std::string output;
};

// Runs the streamvln binary with `args`; `env` ("NAME=value ...") prefixes the command.
CommandRun runBinary(const std::string& args, const std::string& env = "") {
  FILE* p = popen((env + " " + std::string(SVLN_BINARY) + " " + args + " 2>&1").c_str(), "r");
  CommandRun r{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string trainFlags(const fs::path& out, int updates = 2) {
  return "train --model_path " + (kRoot / "init").string() + " --habitat_config_path " +
         (kRoot / "data" / "config.yaml").string() + " --output_path " + out.string() +
         " --num_updates " + std::to_string(updates) +
         " --num_episodes_per_update 3 --group_size 2 --use_hybrid_training"
         " --learning_rate 1e-3 --phase phase2_progress --save_every 2 --max_episode_steps 12"
         " --num_threads 1 --lora_r 4 --lora_alpha 8";
}

// The "rank k: adapter fingerprint X" lines of a run's output, by rank.
std::map<int, std::string> fingerprints(const std::string& output) {
  std::map<int, std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(": adapter fingerprint ");
    if (at == std::string::npos) continue;
    const size_t r = line.rfind("rank ", at);
    if (r == std::string::npos) continue;
    out[std::stoi(line.substr(r + 5))] = line.substr(at + 22, 16);
  }
  return out;
}

double maxAdapterDifference(const fs::path& a, const fs::path& b, int update = 2) {
  const std::string ckpt = "checkpoint-" + std::to_string(update);
  model::SafetensorsFile fa((a / ckpt / "adapter_model.safetensors").string());
  model::SafetensorsFile fb((b / ckpt / "adapter_model.safetensors").string());
  EXPECT_EQ(fa.names(), fb.names());
  double worst = 0;
  for (const std::string& n : fa.names())
    worst = std::max(worst, (fa.load(n) - fb.load(n)).abs().max().item<double>());
  return worst;
}

// Issue #6: 2 Gloo ranks (streamvln launch) end with bit-identical adapters equal to one
// process training on the same 3 episodes x 2 members per update, with plain AdamW and
// with ZeRO-2 (ShardedAdamW) from scripts/zero2.json. The shards are unequal (rank 0 holds
// trajectories 0-3, rank 1 4-5), so with mini-batches of 2 rank 0 alone computes the
// first two steps and rank 1 alone the third.
TEST_F(TinyWorld, TwoGlooRanksMatchOneProcess) {
  const fs::path single = kRoot / "dp_single", two = kRoot / "dp_two", zero = kRoot / "dp_zero2";
  for (const fs::path& p : {single, two, zero}) fs::remove_all(p);
  const int port = 29000 + getpid() % 2000;
  CommandRun r = runBinary(trainFlags(single));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string one = fingerprints(r.output).at(0);
  r = runBinary("launch --nproc_per_node 2 --master_port " + std::to_string(port) + " -- " +
                trainFlags(two));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto fp = fingerprints(r.output);
  ASSERT_EQ(fp.size(), 2u) << r.output;
  EXPECT_EQ(fp[0], fp[1]) << "ranks diverged";
  EXPECT_FALSE(fs::exists(two / "checkpoint-2" / "optimizer.rank1.pt"));
  const double diff_two = maxAdapterDifference(single, two);
  EXPECT_LT(diff_two, 1e-5);
  std::printf("max |adapter difference| 2 ranks vs 1 process: %.3g\n", diff_two);
  const auto a = metrics("dp_single"), b = metrics("dp_two");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  // Same rollouts: the same outcomes (the return's mean only differs in summation order).
  for (size_t i = 0; i < 2; ++i) {
    for (const char* k : {"success_rate", "avg_episode_length", "oracle_rate"})
      EXPECT_EQ(a[i][k], b[i][k]) << k << " update " << i + 1;
    EXPECT_NEAR(a[i]["mean_return"].get<double>(), b[i]["mean_return"].get<double>(), 1e-12);
  }
  EXPECT_NEAR(a[1]["grpo_loss"].get<double>(), b[1]["grpo_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(a[1]["clip_fraction"].get<double>(), b[1]["clip_fraction"].get<double>(), 1e-12);
  EXPECT_NEAR(a[1]["sft_loss"].get<double>(), b[1]["sft_loss"].get<double>(), 1e-5);

  const fs::path zero2 = fs::path(SVLN_TEST_DATA).parent_path().parent_path() / "scripts" / "zero2.json";
  r = runBinary("launch --nproc_per_node 2 --master_port " + std::to_string(port + 1) + " -- " +
                trainFlags(zero) +
                " --use_deepspeed --deepspeed_config " + zero2.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fp = fingerprints(r.output);
  ASSERT_EQ(fp.size(), 2u) << r.output;
  EXPECT_EQ(fp[0], fp[1]) << "ranks diverged";
  EXPECT_TRUE(fs::exists(zero / "checkpoint-2" / "optimizer.rank1.pt"));  // rank 1's shard
  EXPECT_LT(maxAdapterDifference(single, zero), 1e-5);

  // Resuming the ZeRO-2 checkpoint on 2 ranks (each rank loads its own optimizer shard)
  // continues as the single-process run does from its checkpoint; one process cannot take
  // the shards over.
  r = runBinary(trainFlags(single, 3) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = runBinary("launch --nproc_per_node 2 --master_port " + std::to_string(port + 2) + " -- " +
                trainFlags(zero, 3) + " --resume --use_deepspeed" +
                " --deepspeed_config " + zero2.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(maxAdapterDifference(single, zero, 3), 1e-5);
  r = runBinary(trainFlags(zero, 4) + " --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("checkpoint-3/trainer_state.json: saved by 2 rank(s) at ZeRO stage 2"),
            std::string::npos)
      << r.output;
  (void)one;
}

TEST(TrainCommand, FlagErrorsAreOneLineNamingTheFlag) {
  const std::string base = "train --model_path m --habitat_config_path c.yaml --output_path " +
                           (fs::temp_directory_path() / "svln_train_flags").string();
  CommandRun r = runBinary(base + " --recovery_dist_thresh 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --recovery_dist_thresh: must be < --offtrack_dist_thresh", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  r = runBinary(base + " --gradient_accumulation_steps 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --gradient_accumulation_steps: only --sft_on_failures", 0), 0u)
      << r.output;
  r = runBinary(base + " --update_mode two_phase");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --update_mode: two_phase needs --recovery_mode rollback", 0), 0u)
      << r.output;
  r = runBinary(base + " --update_mode three_phase");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--update_mode"), std::string::npos) << r.output;
  r = runBinary(base + " --save_every 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--save_every"), std::string::npos) << r.output;
  r = runBinary(base + " --use_wandb", "WANDB_MODE=sometimes");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: environment WANDB_MODE: 'sometimes' is not one of", 0), 0u)
      << r.output;
}

}  // namespace
}  // namespace svln::rl
