// `streamvln gen-data` end to end: the binary writes a dataset whose config, episodes,
// scenes and navmeshes load back; bad arguments give one error line and a non-zero exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/episode.h"
#include "sim/gltf_io.h"
#include "sim/habitat_config.h"
#include "sim/path_finder.h"
#include "run_cli.h"

namespace svln {
namespace {

namespace fs = std::filesystem;

using test::runCli;
const auto run = [](const std::string& args) { return runCli(args); };

TEST(GenDataCommand, WritesADatasetThatLoadsBack) {
  const fs::path out = fs::temp_directory_path() / "svln_gen_data_cli";
  fs::remove_all(out);
  const auto r = run("gen-data --out " + out.string() +
                       " --scenes 3 --episodes-per-scene 4 --seed 7 --val-seen-fraction 0.25");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 3 scenes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train: 6 episodes in 2 scenes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("val_seen: 2 episodes in 2 scenes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("val_unseen: 4 episodes in 1 scenes"), std::string::npos) << r.output;

  const sim::HabitatConfig cfg = sim::loadHabitatConfig((out / "config.yaml").string());
  EXPECT_EQ(cfg.split, "train");
  for (const char* split : {"train", "val_seen", "val_unseen"}) {
    const sim::EpisodeDataset ds = sim::loadEpisodes(cfg.episodesPath(split));
    ASSERT_FALSE(ds.episodes.empty()) << split;
    const sim::Episode& ep = ds.episodes.front();
    const std::string glb = cfg.scenePath(ep.scene_id);
    const sim::Mesh mesh = sim::loadScene(glb);
    EXPECT_GE(mesh.rooms.size(), 3u);
    EXPECT_GT(mesh.numTriangles(), 1000u);
    sim::PathFinder pf;
    pf.loadNavMesh(fs::path(glb).replace_extension(".navmesh").string());
    EXPECT_NEAR(pf.geodesicDistance(ep.start_position, ep.goals[0].position), ep.geodesic_distance,
                1e-3f * ep.geodesic_distance);
  }
  fs::remove_all(out);
}

TEST(GenDataCommand, FollowerGroundTruthComesOutAsVlnCesDoes) {
  // VLN-CE's _gt files: locations de-duplicated, start first, one per forward step
  // (len = forward_steps + 1), actions ending with the one STOP, final point within 0.5 m.
  for (const char* follower : {"habitat", "vlnce", "heading"}) {
    const fs::path out = fs::temp_directory_path() / (std::string("svln_gen_data_gt_") + follower);
    fs::remove_all(out);
    const auto r = run("gen-data --out " + out.string() +
                       " --scenes 2 --episodes-per-scene 4 --seed 3 --follower " + follower);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const sim::HabitatConfig cfg = sim::loadHabitatConfig((out / "config.yaml").string());
    const sim::EpisodeDataset ds = sim::loadEpisodes(cfg.episodesPath("train"));
    ASSERT_FALSE(ds.episodes.empty()) << follower;
    for (const sim::Episode& ep : ds.episodes) {
      const auto forward = std::count(ep.gt_actions.begin(), ep.gt_actions.end(), 1);
      ASSERT_EQ(ep.gt_locations.size(), static_cast<size_t>(forward + 1)) << follower;
      EXPECT_EQ(ep.gt_locations.front(), ep.start_position);
      for (size_t i = 1; i < ep.gt_locations.size(); ++i)
        EXPECT_NE(ep.gt_locations[i - 1], ep.gt_locations[i]);
      EXPECT_EQ(ep.gt_actions.back(), 0);
      EXPECT_EQ(std::count(ep.gt_actions.begin(), ep.gt_actions.end(), 0), 1);
      EXPECT_LE(sim::distance(ep.gt_locations.back(), ep.goals[0].position), 0.5f) << follower;
    }
    fs::remove_all(out);
  }
  EXPECT_NE(run("gen-data --out /tmp/svln_gen_data_gt_bad --follower greedy").exit_code, 0);
}

TEST(GenDataCommand, BadArgumentsFailWithOneLine) {
  const fs::path out = fs::temp_directory_path() / "svln_gen_data_cli_bad";
  fs::remove_all(out);
  EXPECT_NE(run("gen-data --out " + out.string() + " --scenes 0").exit_code, 0);
  EXPECT_NE(run("gen-data --scenes 2").exit_code, 0) << "--out is required";
  EXPECT_FALSE(fs::exists(out));

  const fs::path blocker = fs::temp_directory_path() / "svln_gen_data_cli_file";
  std::ofstream(blocker) << "not a folder";
  const auto r = run("gen-data --out " + (blocker / "data").string() + " --scenes 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("error: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(blocker.string()), std::string::npos) << r.output;
  fs::remove(blocker);
}

TEST(Cli, NotANumberIsRejectedForEveryNumericFlagWithOneLine) {
  for (const std::string& args :
       {std::string("gen-data --out /tmp/svln_nan --val-unseen-fraction nan"),
        std::string("train --model_path m --habitat_config_path c --output_path o --learning_rate nan"),
        std::string("train --model_path m --habitat_config_path c --output_path o --max_grad_norm=NaN"),
        std::string("score --episodes e --trajectories t --success_distance -nan")}) {
    const auto r = run(args);
    EXPECT_NE(r.exit_code, 0) << args;
    if (args.find("learning_rate") != std::string::npos)
      EXPECT_NE(r.output.find("--learning_rate: nan is not a number"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("frame #"), std::string::npos) << r.output;
  }
  // A value that merely starts with the letters is not a number check's business.
  EXPECT_EQ(run("gen-data --out /tmp/nancy_svln --scenes 2 --episodes-per-scene 2").exit_code, 0);
  fs::remove_all("/tmp/nancy_svln");
}

}  // namespace
}  // namespace svln
