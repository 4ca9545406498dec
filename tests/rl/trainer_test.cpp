// `train` end to end on a tiny procedural world: the run writes training.log (config echo,
// reward constants), metrics.jsonl with the spec's keys, TensorBoard events and
// checkpoints; 2 updates + --resume + 2 gives the same metrics as 4 straight; flag errors
// are one line naming the flag.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rl/train_setup.h"
#include "rl/trainer.h"
#include "sim/procedural_dataset.h"

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
      j.erase("steps_per_second");  // wall-clock time, the one figure that may differ
      for (const char* k : {"time", "wall_time", "timestamp"}) j.erase(k);
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
  EXPECT_DOUBLE_EQ(m[0]["sft_weight"].get<double>(), 1.0);  // w(0) = start weight
  EXPECT_GT(m[0]["sft_loss"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(run / "checkpoint-2" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "checkpoint-2" / "optimizer.pt"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(run / "tensorboard"))
    events |= e.path().filename().string().rfind("events.out.tfevents", 0) == 0;
  EXPECT_TRUE(events);
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

struct CommandRun {
  int exit_code;
  std::string output;
};

CommandRun runBinary(const std::string& args) {
  FILE* p = popen((std::string(SVLN_BINARY) + " " + args + " 2>&1").c_str(), "r");
  CommandRun r{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(TrainCommand, FlagErrorsAreOneLineNamingTheFlag) {
  const std::string base = "train --model_path m --habitat_config_path c.yaml --output_path " +
                           (fs::temp_directory_path() / "svln_train_flags").string();
  CommandRun r = runBinary(base + " --recovery_dist_thresh 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --recovery_dist_thresh: must be < --offtrack_dist_thresh", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  r = runBinary(base + " --save_every 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--save_every"), std::string::npos) << r.output;
  r = runBinary(base + " --use_wandb");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --use_wandb:", 0), 0u) << r.output;
}

}  // namespace
}  // namespace svln::rl
