// `streamvln expert` end to end on a tiny procedural dataset: the JSON report, thread-count
// independence, and one-line errors for bad flags.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "sim/habitat_config.h"
#include "sim/procedural_dataset.h"

namespace svln::expert {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};
Result runBinary(const std::string& args) {
  Result r;
  const std::string cmd = std::string(SVLN_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class ExpertCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((fs::path(::testing::TempDir()) / "svln_expert_command").string());
    fs::remove_all(*dir_);
    sim::GenDataOptions opt;
    opt.out_dir = *dir_ + "/data";
    opt.num_scenes = 2;
    opt.episodes_per_scene = 6;
    opt.seed = 5;
    opt.val_unseen_fraction = 0.5f;
    config_ = new std::string(sim::generateDataset(opt).config_path);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete config_;
  }
  static nlohmann::json readJson(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  }
  static std::string* dir_;
  static std::string* config_;
};
std::string* ExpertCommandTest::dir_ = nullptr;
std::string* ExpertCommandTest::config_ = nullptr;

TEST_F(ExpertCommandTest, WritesTheReportAndIgnoresTheThreadCount) {
  const std::string a = *dir_ + "/a.json", b = *dir_ + "/b.json";
  const std::string common =
      "expert --config " + *config_ + " --split val_unseen --policy noisy-expert:0.4 --seed 3";
  Result r = runBinary(common + " --threads 1 --out " + a);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Oracle Rate"), std::string::npos) << r.output;
  r = runBinary(common + " --threads 2 --out " + b);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json ja = readJson(a), jb = readJson(b);
  EXPECT_EQ(ja, jb);
  for (const char* key :
       {"episodes", "success_rate", "spl", "ndtw", "oracle_rate", "recoveries_triggered",
        "recoveries_completed", "forced_stops", "per_episode"}) {
    EXPECT_TRUE(ja.contains(key)) << key;
  }
  EXPECT_EQ(ja["episodes"].get<int>(), 6);
  ASSERT_EQ(ja["per_episode"].size(), 6u);
  // Pooled Oracle Rate = expert steps / all steps, and the totals add up per episode.
  int expert = 0, policy = 0, forced = 0;
  double success = 0;
  for (const auto& e : ja["per_episode"]) {
    expert += e["expert_steps"].get<int>();
    policy += e["policy_steps"].get<int>();
    forced += e["forced_stops"].get<int>();
    success += e["success"].get<double>();
  }
  EXPECT_EQ(ja["expert_steps"].get<int>(), expert);
  EXPECT_EQ(ja["forced_stops"].get<int>(), forced);
  EXPECT_DOUBLE_EQ(ja["oracle_rate"].get<double>(), double(expert) / (expert + policy));
  EXPECT_NEAR(ja["success_rate"].get<double>(), success / 6, 1e-9);
  // Atomic writes leave no temp files behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(*dir_)) entries += e.path().filename() != "data";
  EXPECT_EQ(entries, 2);
}

// An RxR-CE agent (0.88 m / 0.18 m, no sliding) on scenes whose .navmesh files were built
// for Habitat's default agent: the expert navigates on its own navmesh, built in memory,
// and the scenes' files stay byte for byte as they were.
TEST_F(ExpertCommandTest, AnotherAgentSizeLeavesTheScenesNavmeshesAlone) {
  sim::HabitatConfig cfg = sim::loadHabitatConfig(*config_);
  cfg.agent_radius = 0.18f;
  cfg.agent_height = 0.88f;
  cfg.actions.allow_sliding = false;
  cfg.actions.turn_angle_deg = 30.f;
  const std::string rxr = (fs::path(*config_).parent_path() / "rxr.yaml").string();
  sim::saveHabitatConfig(cfg, rxr);
  std::map<std::string, std::string> before;
  const auto navmeshes = [&] {
    std::map<std::string, std::string> bytes;
    for (const auto& e : fs::recursive_directory_iterator(*dir_ + "/data"))
      if (e.path().extension() == ".navmesh") {
        std::ifstream in(e.path(), std::ios::binary);
        bytes[e.path().string()].assign(std::istreambuf_iterator<char>(in), {});
      }
    return bytes;
  };
  before = navmeshes();
  ASSERT_FALSE(before.empty());
  const std::string out = *dir_ + "/rxr.json";
  const Result r = runBinary("expert --config " + rxr +
                             " --split val_unseen --policy noisy-expert:0.4 --seed 3 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(readJson(out)["episodes"].get<int>(), 6);
  EXPECT_NE(r.output.find("navmesh for agent radius 0.18 m, height 0.88 m built in memory"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(navmeshes(), before);
  fs::remove(out);
  fs::remove(rxr);
}

TEST_F(ExpertCommandTest, BadFlagsAreOneLineErrors) {
  const std::string base = "expert --config " + *config_ + " --split val_unseen";
  Result r = runBinary(base + " --policy noisy-expert:2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "error: --policy: noisy-expert:P needs P in [0, 1], got '2'\n");
  r = runBinary(base + " --recovery_dist_thresh 3.5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: --recovery_dist_thresh: must be < --offtrack_dist_thresh", 0),
            0u)
      << r.output;
  r = runBinary("expert --config " + *dir_ + "/missing.yaml --split val_unseen");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing.yaml"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace svln::expert
