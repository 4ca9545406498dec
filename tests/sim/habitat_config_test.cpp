#include "sim/habitat_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::errorOf;

namespace fs = std::filesystem;
const std::string kConfigDir = std::string(SVLN_TEST_DATA) + "/../../config/";

class HabitatConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svln_cfg_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

void expectEqual(const HabitatConfig& a, const HabitatConfig& b) {
  EXPECT_EQ(a.dataset_type, b.dataset_type);
  EXPECT_EQ(a.data_path, b.data_path);
  EXPECT_EQ(a.scenes_dir, b.scenes_dir);
  EXPECT_EQ(a.split, b.split);
  EXPECT_EQ(a.roles, b.roles);
  EXPECT_EQ(a.languages, b.languages);
  EXPECT_EQ(a.content_scenes, b.content_scenes);
  EXPECT_EQ(a.extra_data_paths, b.extra_data_paths);
  for (const auto& [x, y] : {std::pair{a.rgb, b.rgb}, std::pair{a.depth, b.depth}}) {
    EXPECT_EQ(x.width, y.width);
    EXPECT_EQ(x.height, y.height);
    EXPECT_EQ(x.hfov_deg, y.hfov_deg);
    EXPECT_EQ(x.sensor_height_m, y.sensor_height_m);
  }
  EXPECT_EQ(a.depth.min_depth_m, b.depth.min_depth_m);
  EXPECT_EQ(a.depth.max_depth_m, b.depth.max_depth_m);
  EXPECT_EQ(a.depth.normalize_depth, b.depth.normalize_depth);
  EXPECT_EQ(a.depth.miss_reads_max_depth, b.depth.miss_reads_max_depth);
  EXPECT_EQ(a.actions.forward_step_m, b.actions.forward_step_m);
  EXPECT_EQ(a.actions.turn_angle_deg, b.actions.turn_angle_deg);
  EXPECT_EQ(a.actions.allow_sliding, b.actions.allow_sliding);
  EXPECT_EQ(a.max_episode_steps, b.max_episode_steps);
  EXPECT_EQ(a.success_distance, b.success_distance);
  EXPECT_EQ(a.agent_radius, b.agent_radius);
  EXPECT_EQ(a.agent_height, b.agent_height);
  EXPECT_EQ(a.seed, b.seed);
}

TEST_F(HabitatConfigTest, ShippedR2RConfigHasStreamVLNValues) {
  const HabitatConfig c = loadHabitatConfig(kConfigDir + "vln_r2r.yaml");
  EXPECT_EQ(c.rgb.width, 640);
  EXPECT_EQ(c.rgb.height, 480);
  EXPECT_FLOAT_EQ(c.rgb.hfov_deg, 79.f);
  EXPECT_EQ(c.depth.width, 640);
  EXPECT_FLOAT_EQ(c.depth.min_depth_m, 0.f);
  EXPECT_FLOAT_EQ(c.depth.max_depth_m, 10.f);
  EXPECT_FLOAT_EQ(c.actions.forward_step_m, 0.25f);
  EXPECT_FLOAT_EQ(c.actions.turn_angle_deg, 15.f);
  EXPECT_EQ(c.max_episode_steps, 500);
  EXPECT_FLOAT_EQ(c.success_distance, 3.f);
  EXPECT_EQ(c.split, "val_unseen");
  EXPECT_EQ(c.dataset_type, "R2RVLN-v1");
  // Nothing exists beside config/, nor (in the test's cwd) under data/: the first candidate
  // (beside the YAML) is named.
  EXPECT_EQ(fs::path(c.episodesPath("train")).lexically_normal(),
            (fs::path(kConfigDir) / "data/datasets/r2r/train/train.json.gz").lexically_normal());
}

TEST_F(HabitatConfigTest, ShippedRxRConfigExpandsRoles) {
  const HabitatConfig c = loadHabitatConfig(kConfigDir + "vln_r2r_rxr.yaml");
  EXPECT_EQ(c.roles, (std::vector<std::string>{"guide"}));
  EXPECT_EQ(c.languages, (std::vector<std::string>{"en-US", "en-IN"}));
  const auto paths = c.episodesPaths("val_unseen");
  ASSERT_EQ(paths.size(), 2u);  // R2R, then RxR's guide file
  EXPECT_EQ(fs::path(paths[0]).lexically_normal(),
            (fs::path(kConfigDir) / "data/datasets/r2r/val_unseen/val_unseen.json.gz")
                .lexically_normal());
  EXPECT_EQ(fs::path(paths[1]).lexically_normal(),
            (fs::path(kConfigDir) / "data/datasets/rxr/val_unseen/val_unseen_guide.json.gz")
                .lexically_normal());
  EXPECT_EQ(c.episodesPath("val_unseen"), paths[0]);
}

// VLN-CE's RxR task (habitat_extensions/config/rxr_vlnce_english_task.yaml @729d141b):
// 30 degree turns, an agent of 0.88 m / 0.18 m, no sliding, sensors at 0.88 m, depth 0.5-5 m.
TEST_F(HabitatConfigTest, ShippedRxRCeConfigHasVlnCesValues) {
  const HabitatConfig c = loadHabitatConfig(kConfigDir + "vln_rxr.yaml");
  EXPECT_FALSE(c.actions.allow_sliding);
  EXPECT_FLOAT_EQ(c.actions.turn_angle_deg, 30.f);
  EXPECT_FLOAT_EQ(c.actions.forward_step_m, 0.25f);
  EXPECT_FLOAT_EQ(c.agent_height, 0.88f);
  EXPECT_FLOAT_EQ(c.agent_radius, 0.18f);
  for (const CameraSpec& cam : {c.rgb, c.depth}) {
    EXPECT_EQ(cam.width, 640);
    EXPECT_EQ(cam.height, 480);
    EXPECT_FLOAT_EQ(cam.hfov_deg, 79.f);
    EXPECT_FLOAT_EQ(cam.sensor_height_m, 0.88f);
  }
  EXPECT_FLOAT_EQ(c.depth.min_depth_m, 0.5f);
  EXPECT_FLOAT_EQ(c.depth.max_depth_m, 5.f);
  EXPECT_TRUE(c.depth.normalize_depth);  // Habitat's default, not overridden by VLN-CE
  EXPECT_EQ(c.max_episode_steps, 500);
  EXPECT_FLOAT_EQ(c.success_distance, 3.f);
  EXPECT_EQ(c.dataset_type, "RxR-VLN-CE-v1");
  EXPECT_EQ(c.roles, (std::vector<std::string>{"guide"}));
  EXPECT_EQ(c.languages, (std::vector<std::string>{"en-US", "en-IN"}));
  EXPECT_EQ(
      fs::path(c.episodesPath("val_unseen")).lexically_normal(),
      (fs::path(kConfigDir) / "data/datasets/RxR_VLNCE_v0/val_unseen/val_unseen_guide.json.gz")
          .lexically_normal());
  // The R2R config keeps Habitat's sliding.
  EXPECT_TRUE(loadHabitatConfig(kConfigDir + "vln_r2r.yaml").actions.allow_sliding);
}

TEST_F(HabitatConfigTest, AcceptsUpstreamStreamVLNLayout) {
  // The shape of StreamVLN's config/vln_r2r.yaml (habitat-lab 0.3 + Hydra defaults list).
  const std::string p = write("upstream.yaml", R"(# @package _global_
defaults:
  - /habitat: habitat_config_base
  - /habitat/task/lab_sensors:
    - gps_sensor
  - _self_
habitat:
  environment:
    max_episode_steps: 500
    iterator_options: {max_scene_repeat_steps: 50000, shuffle: False}
  simulator:
    agents:
      main_agent:
        sim_sensors:
          rgb_sensor: {width: 320, height: 240, hfov: 90}
          depth_sensor: {width: 320, height: 240, hfov: 90, min_depth: 0.5, max_depth: 5.0}
    forward_step_size: 0.5
    turn_angle: 30
    habitat_sim_v0: {gpu_device_id: 0}
  task:
    measurements:
      distance_to_goal: {type: DistanceToGoal, distance_to: POINT}
      success: {type: Success, success_distance: 2.5}
      spl: {type: SPL}
      oracle_navigation_error: {type: OracleNavigationError}
  dataset:
    type: R2RVLN-v1
    split: val_seen
    scenes_dir: data/scene_datasets/
    data_path: data/datasets/vln/mp3d/r2r/v1/{split}/{split}.json.gz
)");
  const HabitatConfig c = loadHabitatConfig(p);
  EXPECT_EQ(c.rgb.width, 320);
  EXPECT_FLOAT_EQ(c.depth.hfov_deg, 90.f);
  EXPECT_FLOAT_EQ(c.depth.min_depth_m, 0.5f);
  EXPECT_FLOAT_EQ(c.actions.forward_step_m, 0.5f);
  EXPECT_FLOAT_EQ(c.actions.turn_angle_deg, 30.f);
  EXPECT_FLOAT_EQ(c.success_distance, 2.5f);
  EXPECT_FLOAT_EQ(c.rgb.sensor_height_m, 1.25f);  // default when position is absent
  EXPECT_EQ(c.split, "val_seen");
}

TEST_F(HabitatConfigTest, UnknownKeyNamesFileAndKeyPath) {
  const std::string p =
      write("config.yaml", "habitat:\n  simulator:\n    forwrd_step_size: 0.25\n");
  EXPECT_EQ(errorOf([&] { loadHabitatConfig(p); }),
            p + ": unknown key habitat.simulator.forwrd_step_size");
  const std::string q =
      write("c2.yaml",
            "habitat:\n  simulator:\n    agents:\n      main_agent:\n        sim_sensors:\n"
            "          rgb_sensor: {width: 64, min_depth: 0.1}\n");
  EXPECT_EQ(
      errorOf([&] { loadHabitatConfig(q); }),
      q + ": unknown key habitat.simulator.agents.main_agent.sim_sensors.rgb_sensor.min_depth");
  const std::string t = write("c3.yaml", "trainer: {lr: 1}\nhabitat: {}\n");
  EXPECT_EQ(errorOf([&] { loadHabitatConfig(t); }), t + ": unknown key trainer");
}

TEST_F(HabitatConfigTest, RangeAndTypeErrors) {
  const auto err = [&](const std::string& yaml) {
    return errorOf([&] { loadHabitatConfig(write("r.yaml", yaml)); });
  };
  const std::string p = (dir_ / "r.yaml").string();
  const std::string sensors =
      "habitat:\n  simulator:\n    agents:\n      main_agent:\n        sim_sensors:\n";
  EXPECT_EQ(err(sensors + "          rgb_sensor: {hfov: 180}\n"),
            p + ": habitat.simulator.agents.main_agent.sim_sensors.rgb_sensor.hfov must be in (0, "
                "180), got 180.000000");
  EXPECT_EQ(err(sensors + "          depth_sensor: {width: 0}\n"),
            p + ": habitat.simulator.agents.main_agent.sim_sensors.depth_sensor: width and height "
                "must be in [1, 8192], "
                "got 0x480");
  EXPECT_EQ(err(sensors + "          depth_sensor: {min_depth: 5, max_depth: 5}\n"),
            p + ": habitat.simulator.agents.main_agent.sim_sensors.depth_sensor: need 0 <= "
                "min_depth < max_depth, got "
                "5.000000, 5.000000");
  EXPECT_EQ(err("habitat:\n  simulator:\n    turn_angle: left\n"),
            p + ": habitat.simulator.turn_angle: cannot read 'left' as a number");
  EXPECT_EQ(err("habitat:\n  environment:\n    max_episode_steps: -3\n"),
            p + ": habitat.environment.max_episode_steps must be > 0, got -3");
  EXPECT_EQ(err("habitat:\n  simulator:\n    forward_step_size: 0\n"),
            p + ": habitat.simulator.forward_step_size must be in (0, 5], got 0.000000");
  EXPECT_EQ(err("habitat:\n  task:\n    measurements:\n      success: {success_distance: 0}\n"),
            p + ": habitat.task.measurements.success.success_distance must be in (0, 100] m");
  EXPECT_EQ(err("habitat:\n  task:\n    measurements:\n      success: {success_distance: .inf}\n"),
            p + ": habitat.task.measurements.success.success_distance must be in (0, 100] m");
  EXPECT_EQ(err("habitat:\n  simulator:\n    agents:\n      main_agent: {radius: 1e9}\n"),
            p + ": habitat.simulator.agents.main_agent.radius must be in (0, 2] m");
  EXPECT_EQ(err("habitat:\n  simulator:\n    turn_angle: 15\n    turn_angle: 30\n"),
            p + ": key habitat.simulator.turn_angle appears twice");
  EXPECT_EQ(err("habitat:\n  simulator:\n    habitat_sim_v0: {allow_sliding: maybe}\n"),
            p + ": habitat.simulator.habitat_sim_v0.allow_sliding: cannot read 'maybe' as a "
                "boolean");
  EXPECT_EQ(err("habitat:\n  simulator:\n    habitat_sim_v0: 3\n"),
            p + ": habitat.simulator.habitat_sim_v0: expected a mapping");
  EXPECT_EQ(err("habitat:\n  simulator:\n    habitat_sim_v0:\n"), "");  // empty: the defaults
  EXPECT_EQ(err(sensors + "          depth_sensor: {miss_depth: far}\n"),
            p + ": habitat.simulator.agents.main_agent.sim_sensors.depth_sensor.miss_depth: "
                "expected min or max, got far");
  EXPECT_FALSE(loadHabitatConfig(write("m.yaml", sensors + "          depth_sensor: {min_depth: 0}\n"))
                   .depth.miss_reads_max_depth);
  EXPECT_TRUE(loadHabitatConfig(write("m.yaml", sensors + "          depth_sensor: {miss_depth: max}\n"))
                  .depth.miss_reads_max_depth);
  EXPECT_EQ(err(sensors + "          rgb_sensor: {position: [0.1, 1.2, 0]}\n"),
            p + ": habitat.simulator.agents.main_agent.sim_sensors.rgb_sensor.position: only [0, "
                "height, 0] is "
                "supported");
}

TEST_F(HabitatConfigTest, SyntaxErrorAndMissingFile) {
  const std::string p = write("bad.yaml", "habitat:\n  simulator: [1, 2\n");
  const std::string msg = errorOf([&] { loadHabitatConfig(p); });
  EXPECT_EQ(msg.rfind(p + ": YAML syntax error at line ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  const std::string missing = (dir_ / "none.yaml").string();
  EXPECT_EQ(errorOf([&] { loadHabitatConfig(missing); }), missing + ": file not found");
}

TEST_F(HabitatConfigTest, SaveLoadsBackEqual) {
  HabitatConfig c = loadHabitatConfig(kConfigDir + "vln_r2r_rxr.yaml");
  c.rgb.width = 224;
  c.rgb.height = 160;
  c.depth.normalize_depth = true;
  c.depth.miss_reads_max_depth = true;
  c.depth.sensor_height_m = 0.88f;
  c.actions.forward_step_m = 0.1f;
  c.success_distance = 2.9f;
  c.seed = 7;
  c.agent_radius = 0.18f;
  c.actions.allow_sliding = false;
  c.content_scenes = {"zsNo4HB9uLZ", "8WUmhLawc2A"};
  const std::string out = (dir_ / "sub" / "saved.yaml").string();
  saveHabitatConfig(c, out);
  const HabitatConfig back = loadHabitatConfig(out);
  expectEqual(c, back);
  EXPECT_EQ(back.source_path, out);
  saveHabitatConfig(HabitatConfig{}, out);
  expectEqual(HabitatConfig{}, loadHabitatConfig(out));
  // Sliding on (the default) writes no habitat_sim_v0 block: default configs keep their bytes.
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("habitat_sim_v0"), std::string::npos) << text;
  EXPECT_EQ(text.find("miss_depth"), std::string::npos) << text;  // Habitat's: not written
}

TEST_F(HabitatConfigTest, RelativePathsResolveBesideYamlThenCwd) {
  fs::create_directories(dir_ / "gen" / "episodes" / "train");
  std::ofstream(dir_ / "gen" / "episodes" / "train" / "train.json.gz") << "x";
  fs::create_directories(dir_ / "gen" / "scenes" / "s0");
  std::ofstream(dir_ / "gen" / "scenes" / "s0" / "s0.glb") << "x";
  const std::string p =
      write("gen/config.yaml",
            "habitat:\n  dataset:\n    data_path: episodes/{split}/{split}.json.gz\n"
            "    scenes_dir: scenes\n");
  const HabitatConfig c = loadHabitatConfig(p);
  EXPECT_EQ(c.episodesPath(), (dir_ / "gen/episodes/train/train.json.gz").string());
  EXPECT_EQ(c.scenePath("s0/s0.glb"), (dir_ / "gen/scenes/s0/s0.glb").string());
  // Not beside the YAML but relative to the current directory: the cwd path is used.
  const fs::path old = fs::current_path();
  fs::current_path(dir_);
  fs::create_directories(dir_ / "episodes" / "val");
  std::ofstream(dir_ / "episodes" / "val" / "val.json.gz") << "x";
  EXPECT_EQ(c.episodesPath("val"), "episodes/val/val.json.gz");
  fs::current_path(old);
  EXPECT_EQ(c.scenePath("/abs/x.glb"), "/abs/x.glb");
}

}  // namespace
}  // namespace svln::sim
