// Navmesh build time per procedural apartment and single-thread query throughput
// (geodesic distance, tryStep, snapPoint) over random same-island point pairs. Times are
// thread CPU time, so the figures are per core and hold on a busy shared machine.
//
//   navmesh_bench [--scenes N] [--queries Q]
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sim/path_finder.h"
#include "sim/procedural_scene.h"

namespace {

double threadSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace svln::sim;
  int scenes = 5;
  int queries = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--scenes"))
      scenes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--queries"))
      queries = std::atoi(argv[i + 1]);
  }
  std::printf("navmesh_bench: %d procedural apartments, %d queries each, 1 thread (CPU time)\n", scenes,
              queries);
  std::printf("%6s %9s %9s %9s %10s %12s %12s %12s\n", "seed", "tris", "build_ms", "area_m2",
              "nav_tris", "geodesic/s", "tryStep/s", "snap/s");
  double build_total = 0, geo_total = 0, step_total = 0;
  for (int s = 1; s <= scenes; ++s) {
    const Mesh mesh = generateApartment(static_cast<uint64_t>(s));
    PathFinder pf;
    double t0 = threadSeconds();
    pf.build(mesh);
    const double build_s = (threadSeconds() - t0);
    build_total += build_s;

    // Pairs on one island so every query runs a full A* + string pull.
    std::mt19937_64 rng(s);
    std::vector<std::pair<Vec3, Vec3>> pairs;
    pairs.reserve(queries);
    for (int q = 0; q < queries; ++q) {
      const Vec3 a = pf.randomNavigablePoint(rng);
      pairs.emplace_back(a, pf.randomNavigablePoint(rng, pf.islandIndex(a)));
    }
    double checksum = 0;
    t0 = threadSeconds();
    for (const auto& [a, b] : pairs) checksum += pf.geodesicDistance(a, b);
    const double geo_s = (threadSeconds() - t0);
    t0 = threadSeconds();
    for (const auto& [a, b] : pairs) {
      // A 0.25 m step towards b, as MOVE_FORWARD does.
      const Vec3 d = normalize(Vec3{b.x - a.x, 0, b.z - a.z});
      checksum += pf.tryStep(a, a + d * 0.25f).x;
    }
    const double step_s = (threadSeconds() - t0);
    t0 = threadSeconds();
    for (const auto& [a, b] : pairs) checksum += pf.snapPoint(b).y;
    const double snap_s = (threadSeconds() - t0);
    geo_total += geo_s;
    step_total += step_s;
    std::printf("%6d %9zu %9.1f %9.1f %10zu %12.0f %12.0f %12.0f\n", s, mesh.numTriangles(),
                build_s * 1e3, pf.navigableArea(), pf.navMeshTriangles().size() / 3,
                queries / geo_s, queries / step_s, queries / snap_s);
    if (checksum == 42.0) std::printf(" ");  // keeps the loops from being optimised away
  }
  std::printf("mean build %.1f ms/scene, geodesic %.0f queries/s, tryStep %.0f steps/s\n",
              build_total / scenes * 1e3, static_cast<double>(queries) * scenes / geo_total,
              static_cast<double>(queries) * scenes / step_total);
  return 0;
}
