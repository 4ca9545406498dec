#include "sim/path_finder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <thread>

#include "test_scenes.h"
#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::errorOf;

namespace fs = std::filesystem;

// Recast quantises walls to 5 cm cells and simplifies contours within 1.3 cells, so
// corners of the eroded free space sit within about one cell of the analytic ones.
constexpr float kCell = 0.05f;

const PathFinder& openRoomNav() {
  static PathFinder pf = [] {
    PathFinder p;
    p.build(test::openRoom());
    return p;
  }();
  return pf;
}

const PathFinder& doorNav() {
  static PathFinder pf = [] {
    PathFinder p;
    p.build(test::wallWithDoor());
    return p;
  }();
  return pf;
}

std::string tempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("svln_nav_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<char> readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

TEST(TestScenes, BoxFacesPointOutwards) {
  Mesh m;
  test::addBox(m, {0, 0, 0}, {1, 1, 1});
  ASSERT_EQ(m.numTriangles(), 12u);
  for (size_t t = 0; t < m.numTriangles(); ++t) {
    const Vec3 a = m.positions[m.indices[3 * t]], b = m.positions[m.indices[3 * t + 1]],
               c = m.positions[m.indices[3 * t + 2]];
    const Vec3 n = cross(b - a, c - a);
    const Vec3 centre = (a + b + c) / 3.f - Vec3{0.5f, 0.5f, 0.5f};
    EXPECT_GT(dot(n, centre), 0.f) << "triangle " << t;
  }
}

TEST(PathFinder, OpenRoomGeodesicIsEuclidean) {
  const PathFinder& pf = openRoomNav();
  ASSERT_TRUE(pf.isLoaded());
  const std::pair<Vec3, Vec3> pairs[] = {
      {{1, 0, 1}, {8, 0, 6}}, {{2, 0, 8}, {9, 0, 1}}, {{5, 0, 5}, {5.5f, 0, 5}}};
  for (const auto& [a, b] : pairs) {
    const float d = pf.geodesicDistance(a, b);
    // The floor is flat, so the geodesic is the horizontal straight line.
    EXPECT_NEAR(d, horizontalDistance(a, b), 0.05f) << a.x << "," << a.z;
  }
  std::vector<Vec3> path;
  float d = 0;
  ASSERT_TRUE(pf.findPath({1, 0, 1}, {8, 0, 6}, path, &d));
  EXPECT_EQ(path.size(), 2u);  // straight line: start and end only
  EXPECT_NEAR(d, std::sqrt(49.f + 25.f), 0.05f);
  EXPECT_FLOAT_EQ(pf.geodesicDistance({3, 0, 3}, {3, 0, 3}), 0.f);
}

TEST(PathFinder, EndpointsKeepTheirRequestedHeightAsInHabitat) {
  // habitat-sim's findStraightPath runs between the requested points (Detour clamps them onto
  // the end polygons horizontally only): a start 1 m above the floor makes the straight
  // (7, 1, 5) leg sqrt(49 + 1 + 25) = 8.660 m long, not the surface's sqrt(74) = 8.602 m.
  const PathFinder& pf = openRoomNav();
  const Vec3 a = pf.snapPoint({1, 0, 1}), b = pf.snapPoint({8, 0, 6});
  EXPECT_NEAR(pf.geodesicDistance(a, b), std::sqrt(74.f), 1e-3f);
  const Vec3 above{a.x, a.y + 1.f, a.z};
  EXPECT_NEAR(pf.geodesicDistance(above, b), std::sqrt(75.f), 1e-3f);
  EXPECT_NEAR(pf.geodesicDistance(above, std::vector<Vec3>{b}), std::sqrt(75.f), 1e-3f);
  std::vector<Vec3> path;
  ASSERT_TRUE(pf.findPath(above, b, path));
  EXPECT_EQ(path.front(), above);
  EXPECT_EQ(path.back(), b);
}

TEST(PathFinder, OpenRoomAreaAndBoundsAreErodedByAgentRadius) {
  const PathFinder& pf = openRoomNav();
  // Inner floor 9.9 x 9.9 m, eroded by the 0.1 m radius on each side: 9.7^2 = 94.09 m^2.
  EXPECT_NEAR(pf.navigableArea(), 9.7f * 9.7f, 9.7f * 4 * kCell);
  Vec3 lo, hi;
  pf.bounds(lo, hi);
  // Walls' inner faces at 0.05 and 9.95, plus the 0.1 m radius; conservative
  // rasterisation may take one more cell on either side.
  const float tol = 1.2f * kCell;
  EXPECT_NEAR(lo.x, 0.15f, tol);
  EXPECT_NEAR(hi.x, 9.85f, tol);
  EXPECT_NEAR(lo.z, 0.15f, tol);
  EXPECT_NEAR(hi.z, 9.85f, tol);
  EXPECT_EQ(pf.navMeshTriangles().size() % 3, 0u);
  EXPECT_GT(pf.navMeshTriangles().size(), 0u);
}

TEST(PathFinder, PathGoesThroughTheDoorNotTheWall) {
  const PathFinder& pf = doorNav();
  const Vec3 a{2, 0, 1}, b{8, 0, 1};
  std::vector<Vec3> path;
  float d = 0;
  ASSERT_TRUE(pf.findPath(a, b, path, &d));
  // Around the wall end (x = 4.95..5.05, z <= 4.5) kept 0.1 m away: corners (4.85, 4.6)
  // and (5.15, 4.6). Length = 2 * |(2,1)-(4.85,4.6)| + 0.3 = 2 * 4.5916 + 0.3 = 9.483 m.
  const float analytic = 2 * std::hypot(2.85f, 3.6f) + 0.3f;
  EXPECT_NEAR(d, analytic, 2 * kCell);
  EXPECT_GT(d, 9.f);  // the straight line through the wall is 6 m
  // Every path vertex between the rooms is at the door (z > 4.5).
  ASSERT_GE(path.size(), 3u);
  for (size_t i = 1; i + 1 < path.size(); ++i) {
    EXPECT_GT(path[i].z, 4.5f);
    EXPECT_LT(path[i].z, 5.5f);
  }
  // No segment crosses x = 5 below the door.
  for (size_t i = 1; i < path.size(); ++i) {
    const Vec3 p = path[i - 1], q = path[i];
    if ((p.x - 5) * (q.x - 5) < 0) {
      const float t = (5 - p.x) / (q.x - p.x);
      EXPECT_GT(p.z + t * (q.z - p.z), 4.5f);
    }
  }
  // Within one room the distance is Euclidean.
  EXPECT_NEAR(pf.geodesicDistance({1, 0, 1}, {4, 0, 5}), std::hypot(3.f, 4.f), 0.05f);
}

TEST(PathFinder, IslandIsUnreachable) {
  const PathFinder& pf = doorNav();
  const Vec3 room{2, 0, 2}, platform{13.5f, 0, 1.5f};
  EXPECT_TRUE(std::isinf(pf.geodesicDistance(room, platform)));
  std::vector<Vec3> path;
  EXPECT_FALSE(pf.findPath(room, platform, path));
  EXPECT_TRUE(path.empty());
  const int ri = pf.islandIndex(room), pi = pf.islandIndex(platform);
  EXPECT_GE(ri, 0);
  EXPECT_GE(pi, 0);
  EXPECT_NE(ri, pi);
  EXPECT_EQ(pf.islandIndex({8, 0, 3}), ri);  // the other side of the door
  EXPECT_EQ(pf.islandIndex({-50, 0, -50}), -1);
  // Platform 3 x 3 m eroded by 0.1 m (ledges drop one more cell): between 2.7^2 and 2.8^2.
  EXPECT_GT(pf.navigableArea(pi), 2.65f * 2.65f);
  EXPECT_LT(pf.navigableArea(pi), 2.85f * 2.85f);
  EXPECT_NEAR(pf.navigableArea(ri) + pf.navigableArea(pi), pf.navigableArea(), 1e-3f);
}

TEST(PathFinder, MultiGoalTakesTheNearestReachableGoal) {
  const PathFinder& pf = doorNav();
  const Vec3 start{2, 0, 1};
  const std::vector<Vec3> goals = {{8, 0, 1}, {13.5f, 0, 1.5f}, {2, 0, 4}};
  EXPECT_NEAR(pf.geodesicDistance(start, goals), 3.f, 0.05f);
  EXPECT_NEAR(pf.geodesicDistance(start, std::vector<Vec3>{{8, 0, 1}, {13.5f, 0, 1.5f}}),
              pf.geodesicDistance(start, Vec3{8, 0, 1}), 1e-6f);
  EXPECT_TRUE(std::isinf(pf.geodesicDistance(start, std::vector<Vec3>{{13.5f, 0, 1.5f}})));
  EXPECT_TRUE(std::isinf(pf.geodesicDistance(start, std::vector<Vec3>{})));
  // A goal that projects onto nothing is skipped, as in habitat-sim 0.2.4; the query fails
  // (+inf) only when no goal projects.
  EXPECT_NEAR(pf.geodesicDistance(start, std::vector<Vec3>{{100, 0, 100}, {2, 0, 4}}), 3.f, 0.05f);
  EXPECT_TRUE(std::isinf(pf.geodesicDistance(start, std::vector<Vec3>{{100, 0, 100}})));
}

TEST(PathFinder, SnapAndNavigable) {
  const PathFinder& pf = doorNav();
  const Vec3 s = pf.snapPoint({2, 1.0f, 2});
  EXPECT_NEAR(s.x, 2.f, 1e-4f);
  EXPECT_NEAR(s.z, 2.f, 1e-4f);
  EXPECT_NEAR(s.y, 0.f, 0.25f);  // navmesh heights are quantised to the 0.2 m cell height
  EXPECT_TRUE(pf.isNavigable(s));
  EXPECT_FALSE(pf.isNavigable({s.x, s.y + 1.f, s.z}));  // 1 m above the floor
  EXPECT_TRUE(pf.isNavigable({s.x, s.y + 1.f, s.z}, 1.5f));
  // Inside the wall: snaps 0.15 m sideways, so not navigable.
  const Vec3 w = pf.snapPoint({5, 0, 2});
  EXPECT_NEAR(std::fabs(w.x - 5), 0.15f, kCell);
  EXPECT_FALSE(pf.isNavigable({5, s.y, 2}));
  // Far away from everything: NaN.
  EXPECT_TRUE(std::isnan(pf.snapPoint({-20, 0, -20}).x));
  EXPECT_FALSE(pf.isNavigable({-20, 0, -20}));
}

TEST(PathFinder, TryStepSlidesAlongWall) {
  const PathFinder& pf = doorNav();
  const Vec3 start = pf.snapPoint({4.5f, 0, 2});
  // Aim through the wall at x = 5 diagonally: x stops at the eroded wall face (4.85) while
  // z keeps going: the reachable point nearest the target is (4.85, 3).
  const Vec3 end = pf.tryStep(start, {5.5f, start.y, 3});
  EXPECT_NEAR(end.x, 4.85f, kCell);
  EXPECT_NEAR(end.z, 3.f, kCell);
  EXPECT_TRUE(pf.isNavigable(end));
  // A free move reaches its target.
  const Vec3 free = pf.tryStep(start, {4.f, start.y, 2.5f});
  EXPECT_NEAR(free.x, 4.f, 1e-3f);
  EXPECT_NEAR(free.z, 2.5f, 1e-3f);
  // Towards another island: stays put (Habitat returns the start).
  const Vec3 same = pf.tryStep(start, {13.5f, 0, 1.5f});
  EXPECT_EQ(same, start);
}

// Habitat's tryStepNoSliding (its Detour fork's moveAlongSurface with allowSliding false).
TEST(PathFinder, TryStepNoSlidingStopsWhereTheSegmentMeetsTheWall) {
  const PathFinder& pf = doorNav();
  const Vec3 start = pf.snapPoint({4.5f, 0, 2});
  // The same diagonal as above: the segment (4.5, 2) -> (5.5, 3) meets the eroded wall face
  // (x = 4.85) at z = 2 + 0.35 = 2.35, and the move ends there instead of sliding to z = 3.
  const Vec3 end = pf.tryStepNoSliding(start, {5.5f, start.y, 3});
  EXPECT_NEAR(end.x, 4.85f, kCell);
  EXPECT_NEAR(end.z - 2.f, end.x - 4.5f, 1e-4f);  // on the segment
  EXPECT_TRUE(pf.isNavigable(end));
  // Through the door gap (z in [4.5, 5.5], eroded to [4.6, 5.4]) across several polygons.
  const Vec3 door = pf.snapPoint({4.5f, 0, 5});
  const Vec3 through = pf.tryStepNoSliding(door, {5.5f, door.y, 5});
  EXPECT_NEAR(through.x, 5.5f, 1e-3f);
  EXPECT_NEAR(through.z, 5.f, 1e-3f);
  // Towards another island: stays put, as tryStep.
  EXPECT_EQ(pf.tryStepNoSliding(start, {13.5f, 0, 1.5f}), start);
  // Random 0.25-1 m moves: the result is on the segment (2-D) and is the target whenever
  // the target is reached; where sliding gets nearer the target, no-sliding was stopped.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> angle(-3.14159f, 3.14159f), len(0.25f, 1.f);
  int stopped = 0, reached = 0;
  for (int i = 0; i < 400; ++i) {
    const Vec3 a = pf.randomNavigablePoint(rng);
    const float h = angle(rng), l = len(rng);
    const Vec3 b{a.x - std::sin(h) * l, a.y, a.z - std::cos(h) * l};
    const Vec3 ns = pf.tryStepNoSliding(a, b);
    const Vec3 sl = pf.tryStep(a, b);
    const float along = ((ns.x - a.x) * (b.x - a.x) + (ns.z - a.z) * (b.z - a.z)) / (l * l);
    const float off = std::abs((ns.x - a.x) * (b.z - a.z) - (ns.z - a.z) * (b.x - a.x)) / l;
    EXPECT_LT(off, 2e-3f) << i;
    EXPECT_GT(along, -1e-3f) << i;
    EXPECT_LT(along, 1.f + 1e-3f) << i;
    const float d_ns = std::hypot(ns.x - b.x, ns.z - b.z);
    const float d_sl = std::hypot(sl.x - b.x, sl.z - b.z);
    EXPECT_LE(d_sl, d_ns + 1e-3f) << i;  // sliding gets at least as near
    if (d_ns < 1e-4f) {
      ++reached;
      EXPECT_LT(d_sl, 1e-4f) << i;
    } else {
      ++stopped;
    }
  }
  EXPECT_GT(reached, 100);
  EXPECT_GT(stopped, 10);
}

TEST(PathFinder, RandomPointsAreDeterministicAndOnTheIsland) {
  const PathFinder& pf = doorNav();
  std::mt19937_64 r1(7), r2(7);
  const int platform = pf.islandIndex({13.5f, 0, 1.5f});
  int in_left = 0;
  for (int i = 0; i < 200; ++i) {
    const Vec3 p = pf.randomNavigablePoint(r1);
    EXPECT_EQ(p, pf.randomNavigablePoint(r2));
    EXPECT_TRUE(pf.isNavigable(p)) << p.x << " " << p.z;
    const Vec3 q = pf.randomNavigablePoint(r1, platform);
    pf.randomNavigablePoint(r2, platform);
    EXPECT_GT(q.x, 12.f);
    EXPECT_LT(q.x, 15.f);
    EXPECT_EQ(pf.islandIndex(q), platform);
    in_left += p.x < 5 ? 1 : 0;
  }
  // Uniform by area: the left room holds 4.75*5.8 of ~57 m^2 (48%); 200 draws give
  // 96 +- 7 (1 sigma), so 60..132 fails only when sampling is badly non-uniform.
  EXPECT_GT(in_left, 60);
  EXPECT_LT(in_left, 132);
  EXPECT_THROW(pf.randomNavigablePoint(r1, 99), std::runtime_error);
}

TEST(PathFinder, SaveLoadRoundTripGivesIdenticalDistances) {
  const PathFinder& pf = doorNav();
  for (int version : {1, 2}) {
    const std::string path = tempPath("rt" + std::to_string(version) + ".navmesh");
    pf.saveNavMesh(path, version);
    const auto bytes = readBytes(path);
    ASSERT_GE(bytes.size(), 48u);
    EXPECT_EQ(std::string(bytes.data(), 4), "TESM");  // 'MSET' as a little-endian int
    EXPECT_EQ(bytes[4], version);
    PathFinder loaded;
    loaded.loadNavMesh(path);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 50; ++i) {
      const Vec3 a = pf.randomNavigablePoint(rng), b = pf.randomNavigablePoint(rng);
      EXPECT_EQ(pf.geodesicDistance(a, b), loaded.geodesicDistance(a, b));
      EXPECT_EQ(pf.tryStep(a, b), loaded.tryStep(a, b));
    }
    EXPECT_EQ(pf.navigableArea(), loaded.navigableArea());
    EXPECT_EQ(pf.navMeshTriangles().size(), loaded.navMeshTriangles().size());
    fs::remove(path);
  }
}

TEST(PathFinder, LoadsTheCommittedHabitatFormatFixture) {
  // tests/data/nav/door_v1.navmesh, written by tests/data/nav/make_fixtures.cpp.
  const std::string path = std::string(SVLN_TEST_DATA) + "/nav/door_v1.navmesh";
  const auto bytes = readBytes(path);
  ASSERT_GT(bytes.size(), 48u);
  EXPECT_EQ(std::string(bytes.data(), 8), std::string("TESM\x01\0\0\0", 8));
  PathFinder pf;
  pf.loadNavMesh(path);
  EXPECT_NEAR(pf.geodesicDistance({2, 0, 1}, {8, 0, 1}), 2 * std::hypot(2.85f, 3.6f) + 0.3f,
              2 * kCell);
  EXPECT_TRUE(std::isinf(pf.geodesicDistance({2, 0, 1}, {13.5f, 0, 1.5f})));
  EXPECT_NEAR(pf.navigableArea(), doorNav().navigableArea(), 0.5f);
  EXPECT_FLOAT_EQ(pf.settings().agent_radius, 0.1f);  // version 1: Habitat's defaults
}

TEST(PathFinder, Version2RecordsSettings) {
  NavMeshSettings s;
  s.agent_radius = 0.2f;
  PathFinder pf;
  pf.build(test::openRoom(), s);
  const std::string path = tempPath("v2.navmesh");
  pf.saveNavMesh(path, 2);
  PathFinder loaded;
  loaded.loadNavMesh(path);
  EXPECT_FLOAT_EQ(loaded.settings().agent_radius, 0.2f);
  // A wider agent keeps 0.2 m from the walls: (9.9 - 0.4)^2.
  EXPECT_NEAR(loaded.navigableArea(), 9.5f * 9.5f, 9.5f * 4 * kCell);
  fs::remove(path);
}

TEST(PathFinder, BadNavMeshFilesGiveOneLineErrors) {
  const std::string good = tempPath("good.navmesh");
  doorNav().saveNavMesh(good);
  const auto bytes = readBytes(good);
  PathFinder pf;

  const std::string missing = tempPath("missing.navmesh");
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(missing); }).find(missing + ": cannot open"),
            std::string::npos);

  const std::string trunc = tempPath("trunc.navmesh");
  writeBytes(trunc, std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(trunc); }).find(trunc + ": truncated"), std::string::npos);
  writeBytes(trunc, std::vector<char>(bytes.begin(), bytes.begin() + 20));
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(trunc); }).find("truncated navmesh (header)"),
            std::string::npos);

  const std::string magic = tempPath("magic.navmesh");
  auto m = bytes;
  m[0] = 'X';
  writeBytes(magic, m);
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(magic); }).find("magic"), std::string::npos);

  auto v = bytes;
  v[4] = 9;
  writeBytes(magic, v);
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(magic); }).find("version 9"), std::string::npos);

  // Corrupt the tile's polygon count (dtMeshHeader.polyCount sits 24 bytes in).
  auto c = bytes;
  const size_t tile = 40 + 8;
  c[tile + 24] = 0x7f;
  c[tile + 25] = 0x7f;
  writeBytes(magic, c);
  EXPECT_NE(errorOf([&] { pf.loadNavMesh(magic); }).find("corrupt tile 0"), std::string::npos);
  EXPECT_FALSE(pf.isLoaded());

  for (const auto& p : {good, trunc, magic}) fs::remove(p);
}

TEST(PathFinder, LoadOrBuildCachesOnDisk) {
  const std::string path = tempPath("cache.navmesh");
  fs::remove(path);
  PathFinder a;
  a.loadOrBuild(path, test::wallWithDoor());
  ASSERT_TRUE(fs::exists(path));
  ASSERT_TRUE(fs::exists(path + ".geometry")) << "the cache records its geometry";
  const auto written = fs::last_write_time(path);
  PathFinder b;
  b.loadOrBuild(path, test::wallWithDoor());  // same geometry: the file is used as it is
  EXPECT_EQ(fs::last_write_time(path), written);
  EXPECT_EQ(a.geodesicDistance({2, 0, 1}, {8, 0, 1}), b.geodesicDistance({2, 0, 1}, {8, 0, 1}));
  // Other geometry (the scene changed since the cache was built): rebuilt, not reused.
  PathFinder open;
  open.loadOrBuild(path, test::openRoom());
  PathFinder fresh;
  fresh.build(test::openRoom());
  EXPECT_FLOAT_EQ(open.navigableArea(), fresh.navigableArea());
  EXPECT_NE(open.navigableArea(), a.navigableArea());
  // A .navmesh without the record (shipped with a dataset) is trusted, as Habitat does: an
  // empty mesh proves the file was used, not a rebuild.
  fs::remove(path + ".geometry");
  PathFinder trusted;
  trusted.loadOrBuild(path, Mesh{});
  EXPECT_FLOAT_EQ(trusted.navigableArea(), fresh.navigableArea());
  // A corrupt cache is rebuilt and rewritten.
  writeBytes(path, {'b', 'a', 'd'});
  PathFinder c;
  c.loadOrBuild(path, test::wallWithDoor());
  EXPECT_EQ(a.geodesicDistance({2, 0, 1}, {8, 0, 1}), c.geodesicDistance({2, 0, 1}, {8, 0, 1}));
  EXPECT_GT(fs::file_size(path), 100u);
  fs::remove(path);
  fs::remove(path + ".geometry");
}

// RxR-CE's agent (0.88 m tall, 0.18 m radius) needs its own navmesh; habitat-sim rebuilds
// it in memory. The scene's .navmesh (Habitat's default agent) must stay as it is.
TEST(PathFinder, LoadOrBuildForAnotherAgentSizeNeverWritesTheScenesFile) {
  const std::string path = tempPath("agent.navmesh");
  fs::remove(path);
  fs::remove(path + ".geometry");
  NavMeshSettings rxr;
  rxr.agent_height = 0.88f;
  rxr.agent_radius = 0.18f;
  PathFinder absent;
  absent.loadOrBuild(path, test::wallWithDoor(), rxr);
  EXPECT_FALSE(fs::exists(path)) << "nothing is written for a non-default agent";
  EXPECT_FALSE(fs::exists(path + ".geometry"));
  EXPECT_FLOAT_EQ(absent.settings().agent_radius, 0.18f);

  PathFinder habitat;
  habitat.loadOrBuild(path, test::wallWithDoor());  // the default agent: cached on disk
  ASSERT_TRUE(fs::exists(path));
  const auto bytes = readBytes(path);
  PathFinder big;
  big.loadOrBuild(path, test::wallWithDoor(), rxr);
  EXPECT_EQ(readBytes(path), bytes) << "the scene's .navmesh was rewritten";
  EXPECT_FLOAT_EQ(big.settings().agent_radius, 0.18f);
  EXPECT_FLOAT_EQ(big.settings().agent_height, 0.88f);
  // The wider agent keeps 0.2 m (4 cells) from walls instead of 0.1 m: less floor.
  EXPECT_LT(big.navigableArea(), habitat.navigableArea() - 1.f);
  PathFinder fresh;
  fresh.build(test::wallWithDoor(), rxr);
  EXPECT_FLOAT_EQ(big.navigableArea(), fresh.navigableArea());
  fs::remove(path);
  fs::remove(path + ".geometry");
}

TEST(PathFinder, ConcurrentQueriesMatchSerialOnes) {
  const PathFinder& pf = doorNav();
  std::mt19937_64 rng(11);
  std::vector<std::pair<Vec3, Vec3>> pairs;
  for (int i = 0; i < 400; ++i)
    pairs.emplace_back(pf.randomNavigablePoint(rng), pf.randomNavigablePoint(rng));
  std::vector<float> serial;
  for (const auto& [a, b] : pairs) serial.push_back(pf.geodesicDistance(a, b));
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& [a, b] : pairs) {
        results[t].push_back(pf.geodesicDistance(a, b));
        pf.tryStep(a, b);
        pf.snapPoint(a);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(results[t], serial);
}

TEST(PathFinder, EmptySceneFailsToBuild) {
  PathFinder pf;
  EXPECT_THROW(pf.build(Mesh{}), std::runtime_error);
  Mesh wall;
  test::addWallZ(wall, 0, 5, 0);  // only a 0.1 m thick wall: nothing to stand on
  EXPECT_THROW(pf.build(wall), std::runtime_error);
  EXPECT_FALSE(pf.isLoaded());
}

}  // namespace
}  // namespace svln::sim
