// The real Habitat and VLN-CE files in ../shared/data/habitat-real (README there lists the
// sources and habitat-sim v0.2.4's own test values): real navmeshes reproduce Habitat's
// numbers, and both real R2R-VLN-CE splits load with their ground truth.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "sim/episode.h"
#include "sim/path_finder.h"

namespace svln::sim {
namespace {

const std::string kReal = SVLN_REAL_DATA;

PathFinder navmesh(const std::string& name) {
  const std::string path = kReal + "/" + name;
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  PathFinder pf;
  pf.loadNavMesh(path);
  return pf;
}

TEST(HabitatReal, NavmeshesReproduceHabitatSimsTestValues) {
  // habitat-sim v0.2.4 src/tests/NavTest.cpp:178,187 (vbo sizes / 3) and
  // tests/test_navmesh.py:165,207-226 (islands and their areas).
  const PathFinder sk = navmesh("skokloster-castle.navmesh");
  EXPECT_EQ(sk.navMeshTriangles().size() / 3, 385u);
  EXPECT_NEAR(sk.navigableArea(0), 226.65673828125, 1e-3);
  EXPECT_NEAR(sk.navigableArea(), 226.65673828125, 1e-3) << "one island";
  const PathFinder vg = navmesh("van-gogh-room.navmesh");
  EXPECT_EQ(vg.navMeshTriangles().size() / 3, 21u);
  const float a = vg.navigableArea(0), b = vg.navigableArea(1);
  EXPECT_NEAR(std::max(a, b), 7.305000305175781, 1e-4);
  EXPECT_NEAR(std::min(a, b), 1.8727209568023682, 1e-4);
  EXPECT_NEAR(vg.navigableArea(), a + b, 1e-4) << "two islands";
  // NavTest.cpp:108-115: this pair has no path; Habitat reports +inf.
  EXPECT_TRUE(
      std::isinf(sk.geodesicDistance({-6.493f, 0.072f, -3.292f}, {-8.98f, 0.072f, -0.62f})));
}

TEST(HabitatReal, BothR2rSplitsLoadWithTheirGroundTruth) {
  for (const auto& [split, count] :
       {std::pair<std::string, size_t>{"val_seen", 778}, {"val_unseen", 1839}}) {
    const std::string path =
        kReal + "/R2R_VLNCE_v1-3_preprocessed/" + split + "/" + split + ".json.gz";
    const EpisodeDataset d = loadEpisodes(path);
    ASSERT_EQ(d.episodes.size(), count) << path;
    for (const Episode& e : d.episodes) {
      ASSERT_FALSE(e.gt_locations.empty()) << split << " episode " << e.episode_id;
      ASSERT_FALSE(e.goals.empty());
      // VLN-CE's ground truth ends within 0.5 m of the goal (horizontally).
      EXPECT_LT(horizontalDistance(e.gt_locations.back(), e.goals[0].position), 0.5f)
          << split << " episode " << e.episode_id;
    }
  }
}

TEST(HabitatReal, CorruptedNavmeshesLoadCleanlyOrFailWithOneLine) {
  // 2 x 1500 corruptions of real navmeshes (bytes overwritten with random values anywhere
  // past the set header): each must either load and answer queries, or throw
  // "<path>: ..." - never crash the process. Seeded, so a failure reproduces; the file that
  // crashed is left in the temp folder.
  for (const char* name : {"van-gogh-room.navmesh", "skokloster-castle.navmesh"}) {
    const std::string src = kReal + "/" + name;
    std::ifstream in(src, std::ios::binary);
    const std::vector<char> good((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(good.size(), 200u);
    const std::string bad = (std::filesystem::temp_directory_path() / "svln_fuzz.navmesh").string();
    std::mt19937_64 rng(1234);
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 1500; ++trial) {
      std::vector<char> bytes = good;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        const size_t at = 12 + rng() % (bytes.size() - 12);
        const int width = 1 + static_cast<int>(rng() % 4);
        for (int b = 0; b < width && at + b < bytes.size(); ++b)
          bytes[at + b] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng());
      }
      std::ofstream(bad, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
      PathFinder pf;
      try {
        pf.loadNavMesh(bad);
      } catch (const std::runtime_error& e) {
        ++refused;
        EXPECT_EQ(std::string(e.what()).rfind(bad + ": ", 0), 0u) << e.what();
        continue;
      }
      ++loaded;
      std::mt19937_64 q(trial);
      Vec3 lo, hi;
      pf.bounds(lo, hi);
      for (int i = 0; i < 8; ++i) {
        const Vec3 a = pf.randomNavigablePoint(q), b = pf.randomNavigablePoint(q);
        std::vector<Vec3> path;
        pf.findPath(a, b, path);
        pf.geodesicDistance(a, b);
        pf.tryStep(a, b);
        pf.islandIndex(a);
        pf.snapPoint({0.5f * (lo.x + hi.x), lo.y, 0.5f * (lo.z + hi.z)});
      }
    }
    EXPECT_GT(refused, 0) << name;
    EXPECT_EQ(loaded + refused, 1500) << name;
  }
}

}  // namespace
}  // namespace svln::sim
