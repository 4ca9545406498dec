// The real Habitat and VLN-CE files in ../shared/data/habitat-real (README there lists the
// sources and habitat-sim v0.2.4's own test values): real navmeshes reproduce Habitat's
// numbers, and both real R2R-VLN-CE splits load with their ground truth.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "sim/episode.h"
#include "sim/gltf_io.h"
#include "sim/path_finder.h"

namespace svln::sim {
namespace {

const std::string kReal = SVLN_REAL_DATA;

std::vector<char> fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), {});
}

// Overwrites 1-4 runs of 1-4 bytes at or after `from` with random values (a third 0xff).
void corrupt(std::vector<char>& bytes, std::mt19937_64& rng, size_t from) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < edits; ++k) {
    const size_t at = from + rng() % (bytes.size() - from);
    const int width = 1 + static_cast<int>(rng() % 4);
    for (int b = 0; b < width && at + b < bytes.size(); ++b)
      bytes[at + b] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng());
  }
}

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

TEST(HabitatReal, HabitatsPathSearchLimitsApplyByDefaultAndCanBeLifted) {
  PathFinder pf = navmesh("skokloster-castle.navmesh");
  EXPECT_TRUE(pf.searchLimits() == (PathSearchLimits{256, 2048})) << "Habitat's, by default";
  // A search whose path buffer is too short for the path finds only part of it: Habitat
  // (and this) then reports no path, +inf.
  std::mt19937_64 rng(5);
  int cut = 0;
  for (int i = 0; i < 50; ++i) {
    const Vec3 a = pf.randomNavigablePoint(rng), b = pf.randomNavigablePoint(rng);
    pf.setSearchLimits(PathSearchLimits::unlimited());
    const float full = pf.geodesicDistance(a, b);
    if (!std::isfinite(full)) continue;
    pf.setSearchLimits({3, 2048});
    const float limited = pf.geodesicDistance(a, b);
    if (std::isinf(limited)) ++cut;
    else EXPECT_FLOAT_EQ(limited, full) << "a path that fits is the same path";
    pf.setSearchLimits({256, 2048});
    EXPECT_FLOAT_EQ(pf.geodesicDistance(a, b), full) << "skokloster's paths fit Habitat's limits";
  }
  EXPECT_GT(cut, 10);
  EXPECT_THROW(pf.setSearchLimits({1, 0}), std::invalid_argument);
}

TEST(HabitatReal, BothR2rSplitsLoadWithTheirGroundTruth) {
  for (const auto& [split, count] :
       {std::pair<std::string, size_t>{"val_seen", 778}, {"val_unseen", 1839}}) {
    const std::string path =
        kReal + "/R2R_VLNCE_v1-3_preprocessed/" + split + "/" + split + ".json.gz";
    const EpisodeDataset d = loadEpisodes(path);
    ASSERT_EQ(d.episodes.size(), count) << path;
    EXPECT_EQ(d.episodes[0].trajectory_id, split == "val_seen" ? "37" : "15");  // ints in R2R
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
    const std::vector<char> good = fileBytes(src);
    ASSERT_GT(good.size(), 200u);
    const std::string bad = (std::filesystem::temp_directory_path() / "svln_fuzz.navmesh").string();
    std::mt19937_64 rng(1234);
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 1500; ++trial) {
      std::vector<char> bytes = good;
      corrupt(bytes, rng, 12);  // past the set header's magic and version
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

TEST(HabitatReal, CorruptedGlbScenesLoadCleanlyOrFailWithOneLine) {
  // habitat-sim's own test scene, corrupted 2000 ways (seeded): each load either gives a
  // mesh whose indices are all in range, or throws "<path>: ..." - never crashes.
  const std::string src = kReal + "/simple_room.glb";
  const std::vector<char> good = fileBytes(src);
  ASSERT_GT(good.size(), 1000u);
  const Mesh ok = loadScene(src);
  EXPECT_GT(ok.numTriangles(), 0u);
  const std::string bad = (std::filesystem::temp_directory_path() / "svln_fuzz.glb").string();
  std::mt19937_64 rng(99);
  int loaded = 0, refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<char> bytes = good;
    corrupt(bytes, rng, 0);
    std::ofstream(bad, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
    try {
      const Mesh m = loadScene(bad);
      ++loaded;
      for (uint32_t i : m.indices) ASSERT_LT(i, m.positions.size()) << "trial " << trial;
      ASSERT_EQ(m.triangle_material.size(), m.numTriangles()) << "trial " << trial;
    } catch (const std::runtime_error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind(bad + ": ", 0), 0u) << "trial " << trial << ": " << e.what();
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_EQ(loaded + refused, 2000);

  // Numbers in the JSON chunk (accessor counts, offsets, strides, indices) replaced, one
  // at a time, by values that overflow 32-bit sizes or point past every buffer; the GLB is
  // rebuilt around the edited JSON (chunk and file lengths updated, BIN chunk kept).
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(good[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(good[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(good[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(good[at + 3])) << 24;
  };
  auto put32 = [](std::vector<char>& v, uint32_t x) {
    for (int k = 0; k < 4; ++k) v.push_back(static_cast<char>((x >> (8 * k)) & 0xff));
  };
  const uint32_t json_len = u32(12);
  const std::string json(good.begin() + 20, good.begin() + 20 + json_len);
  const std::vector<char> rest(good.begin() + 20 + json_len, good.end());  // the BIN chunk
  int numbers = 0;
  for (size_t at = 0; at < json.size(); ++at) {
    if (json[at] != ':' || at + 1 >= json.size() ||
        !std::isdigit(static_cast<unsigned char>(json[at + 1])))
      continue;
    size_t end = at + 1;
    while (end < json.size() && std::isdigit(static_cast<unsigned char>(json[end]))) ++end;
    for (const char* value : {"4294967295", "2147483647", "1073741824", "99999999", "0"}) {
      std::string edited = json;
      edited.replace(at + 1, end - at - 1, value);
      while (edited.size() % 4) edited += ' ';
      std::vector<char> bytes(good.begin(), good.begin() + 8);
      put32(bytes, static_cast<uint32_t>(20 + edited.size() + rest.size()));
      put32(bytes, static_cast<uint32_t>(edited.size()));
      bytes.insert(bytes.end(), good.begin() + 16, good.begin() + 20);  // "JSON"
      bytes.insert(bytes.end(), edited.begin(), edited.end());
      bytes.insert(bytes.end(), rest.begin(), rest.end());
      std::ofstream(bad, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
      try {
        const Mesh m = loadScene(bad);
        for (uint32_t i : m.indices) ASSERT_LT(i, m.positions.size()) << json.substr(at - 20, 40);
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(bad + ": ", 0), 0u) << e.what();
      }
    }
    ++numbers;
  }
  EXPECT_GT(numbers, 50);
}

}  // namespace
}  // namespace svln::sim
