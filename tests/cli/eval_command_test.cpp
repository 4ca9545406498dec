// `streamvln eval` end to end on a fresh procedural world and a random tiny StreamVLN:
// the episode cap flag bounds every episode, and the results file lists each episode.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_cli.h"

namespace svln {
namespace {

namespace fs = std::filesystem;

int run(const std::string& args, std::string* output) {
  const test::CliRun r = test::runCli(args);
  *output += r.output;
  return r.exit_code;
}

TEST(EvalCommand, MaxEpisodeStepsCapsEveryEpisode) {
  const fs::path dir = fs::temp_directory_path() / "svln_eval_cap";
  fs::remove_all(dir);
  std::string log;
  ASSERT_EQ(run("gen-data --out " + (dir / "data").string() +
                    " --scenes 2 --episodes-per-scene 3 --seed 3 --sensor-size 64",
                &log),
            0)
      << log;
  ASSERT_EQ(run("model init --streamvln --out " + (dir / "model").string(), &log), 0) << log;
  const fs::path out = dir / "eval_val_unseen.json";
  ASSERT_EQ(run("eval --model_path " + (dir / "model").string() + " --habitat_config_path " +
                    (dir / "data/config.yaml").string() +
                    " --split val_unseen --max_episode_steps 6 --num_threads 1 --out " + out.string(),
                &log),
            0)
      << log;
  std::ifstream f(out);
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j.at("ndtw_reference"), "gt");
  ASSERT_GE(j.at("per_episode").size(), 1u);
  for (const auto& e : j.at("per_episode")) EXPECT_LE(e.at("steps").get<int>(), 6) << e.dump();
  EXPECT_LE(j.at("avg_episode_length").get<double>(), 6.0);

  // A split whose scene is missing fails before any step, naming the scene file.
  const fs::path glb = dir / "data/scenes/procedural/apt_0001.glb";
  ASSERT_TRUE(fs::exists(glb));
  fs::rename(glb, dir / "moved.glb");
  std::string missing;
  EXPECT_EQ(run("eval --model_path " + (dir / "model").string() + " --habitat_config_path " +
                    (dir / "data/config.yaml").string() + " --split val_unseen --num_threads 1",
                &missing),
            1);
  EXPECT_NE(missing.find("apt_0001.glb: scene not found (episode"), std::string::npos) << missing;
  fs::rename(dir / "moved.glb", glb);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace svln
