// Writes tests/data/nav/door_v1.navmesh: the navmesh of test::wallWithDoor() (two rooms
// joined by a door plus a separate platform) in Habitat's version-1 .navmesh format, so
// that path_finder_test checks files written by earlier builds keep loading.
//
// From the repository root, after building build-nav's svln_sim:
//   g++ -std=c++17 -O2 -Isrc -Itests/sim -I/usr/include/recastnavigation \
//       tests/data/nav/make_fixtures.cpp build-nav/src/sim/libsvln_sim.a \
//       -lRecast -lDetour -lspdlog -lfmt -o /tmp/make_nav_fixtures && /tmp/make_nav_fixtures
#include "sim/path_finder.h"
#include "test_scenes.h"

int main() {
  svln::sim::PathFinder pf;
  pf.build(svln::sim::test::wallWithDoor());
  pf.saveNavMesh("tests/data/nav/door_v1.navmesh", 1);
  return 0;
}
