// `streamvln score`: VLN-CE's measures for paths produced elsewhere. On the real
// R2R-VLN-CE splits, every episode's gt locations fed back as its path score nDTW 1.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "sim/episode.h"
#include "sim/gzip_io.h"
#include "run_cli.h"

namespace svln {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code;
  std::string out;  // stdout only: the JSON
  std::string err;
};

Result run(const std::string& args) {
  const test::CliRun r = test::runCli(args, /*stderr_apart=*/true);
  return {r.exit_code, r.output, r.err};
}

nlohmann::json pathsFromGroundTruth(const sim::EpisodeDataset& d) {
  nlohmann::json t = nlohmann::json::object();
  for (const sim::Episode& e : d.episodes) {
    nlohmann::json pos = nlohmann::json::array();
    for (const sim::Vec3& p : e.gt_locations) pos.push_back({p.x, p.y, p.z});
    t[e.episode_id] = {{"positions", pos}, {"stop", true}};
  }
  return t;
}

TEST(ScoreCommand, GroundTruthPathsScoreNdtwOneOnBothRealR2rSplits) {
  for (const std::string split : {"val_seen", "val_unseen"}) {
    const std::string episodes = std::string(SVLN_REAL_DATA) + "/R2R_VLNCE_v1-3_preprocessed/" +
                                 split + "/" + split + ".json.gz";
    const sim::EpisodeDataset d = sim::loadEpisodes(episodes);
    const fs::path paths = fs::temp_directory_path() / ("svln_score_" + split + ".json");
    sim::writeFileAtomic(paths.string(), pathsFromGroundTruth(d).dump());
    const Result r = run("score --episodes " + episodes + " --trajectories " + paths.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json s = nlohmann::json::parse(r.out);
    EXPECT_EQ(s.at("episodes").get<double>(), static_cast<double>(d.episodes.size())) << split;
    EXPECT_NEAR(s.at("ndtw").get<double>(), 1.0, 1e-6) << split;
    EXPECT_NEAR(s.at("success_rate").get<double>(), 1.0, 1e-9) << split;
    EXPECT_LT(s.at("navigation_error").get<double>(), 0.5) << split;
    EXPECT_EQ(s.at("ndtw_reference"), "gt");
    EXPECT_EQ(s.at("distance"), "euclidean") << "no scenes: straight lines, and it says so";

    // The sparse reference_path, asked for by name, scores the same paths lower.
    const Result rp = run("score --episodes " + episodes + " --trajectories " + paths.string() +
                          " --ndtw_reference reference_path");
    ASSERT_EQ(rp.exit_code, 0) << rp.err;
    const nlohmann::json sp = nlohmann::json::parse(rp.out);
    EXPECT_LT(sp.at("ndtw").get<double>(), 0.9) << split;
    EXPECT_EQ(sp.at("ndtw_reference"), "reference_path");
  }
}

TEST(ScoreCommand, GeodesicScoringUsesANavmeshBuiltForTheAgentSize) {
  // A procedural split scored with its scenes: the default agent uses each scene's .navmesh;
  // RxR-CE's 0.18 m / 0.88 m agent gets a navmesh built from the GLB in memory, and the
  // scene's .navmesh keeps its bytes. The ground truth walked back scores nDTW 1 either way.
  const fs::path data = fs::temp_directory_path() / "svln_score_geodesic";
  fs::remove_all(data);
  ASSERT_EQ(test::runCli("gen-data --out " + data.string() +
                         " --scenes 2 --episodes-per-scene 3 --seed 4")
                .exit_code,
            0);
  const std::string episodes = (data / "episodes/train/train.json.gz").string();
  const fs::path paths = data / "paths.json";
  sim::writeFileAtomic(paths.string(), pathsFromGroundTruth(sim::loadEpisodes(episodes)).dump());
  const fs::path navmesh = data / "scenes/procedural/apt_0000.navmesh";
  const std::string before = sim::readFileMaybeGzip(navmesh.string());
  const std::string args = "score --episodes " + episodes + " --trajectories " + paths.string() +
                           " --scenes_dir " + (data / "scenes").string();
  for (const std::string agent : {"", " --agent_radius 0.18 --agent_height 0.88"}) {
    const Result r = run(args + agent);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json s = nlohmann::json::parse(r.out);
    EXPECT_EQ(s.at("distance"), "geodesic");
    EXPECT_NEAR(s.at("ndtw").get<double>(), 1.0, 1e-6) << agent;
    EXPECT_EQ(s.at("unreachable_episodes").get<double>(), 0.0) << agent;
    EXPECT_LT(s.at("navigation_error").get<double>(), 0.5) << agent;
  }
  EXPECT_EQ(sim::readFileMaybeGzip(navmesh.string()), before);
  fs::remove(data / "scenes/procedural/apt_0000.glb");
  const Result missing = run(args + " --agent_radius 0.18 --agent_height 0.88");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("apt_0000.glb: scene file not found"), std::string::npos)
      << missing.err;
  fs::remove_all(data);
}

TEST(ScoreCommand, BadTrajectoriesGiveOneLineErrors) {
  const std::string episodes = std::string(SVLN_REAL_DATA) +
                               "/R2R_VLNCE_v1-3_preprocessed/val_seen/val_seen.json.gz";
  const fs::path paths = fs::temp_directory_path() / "svln_score_bad.json";
  for (const auto& [body, want] :
       {std::pair<std::string, std::string>{R"({"no-such-id": {"positions": [[0,0,0]]}})",
                                            "episode no-such-id is not in"},
        {R"([1, 2])", "expected a JSON object keyed by episode id"},
        {R"({"1": {"positions": [[0, 0]]}})", "every position must be [x, y, z]"}}) {
    std::ofstream(paths) << body;
    const Result r = run("score --episodes " + episodes + " --trajectories " + paths.string());
    EXPECT_NE(r.exit_code, 0) << body;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace svln
