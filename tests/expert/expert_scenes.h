// Hand-built scenes for the expert tests: floor slabs (top at y = 0) as closed boxes, so
// the navmesh is their union eroded by the agent radius. No walls are needed: a slab's edge
// is a ledge Recast does not walk over.
#pragma once

#include <cmath>
#include <vector>

#include "sim/agent.h"
#include "sim/mesh.h"
#include "sim/path_finder.h"

namespace svln::expert::test {

inline void addSlab(sim::Mesh& m, float x0, float z0, float x1, float z1) {
  const auto base = static_cast<uint32_t>(m.positions.size());
  const float lo_y = -0.1f, hi_y = 0.f;
  for (int i = 0; i < 8; ++i) {
    m.positions.push_back({(i & 1) ? x1 : x0, (i & 2) ? hi_y : lo_y, (i & 4) ? z1 : z0});
  }
  // Corner bits: 1 = +x, 2 = +y, 4 = +z; quads counter-clockwise seen from outside.
  const int quads[6][4] = {{0, 4, 6, 2}, {1, 3, 7, 5}, {0, 1, 5, 4},
                           {2, 6, 7, 3}, {0, 2, 3, 1}, {4, 5, 7, 6}};
  for (const auto& q : quads) {
    for (int t = 0; t < 2; ++t) {
      m.indices.insert(m.indices.end(), {base + q[0], base + q[t + 1], base + q[t + 2]});
      m.triangle_material.push_back(0);
      m.triangle_object.push_back(-1);
    }
  }
  if (m.materials.empty()) m.materials.push_back(sim::Material{"floor", {0.8f, 0.8f, 0.8f}, -1});
}

// A 20 x 20 m open floor, x and z in [0, 20], plus a 3 x 3 m island at x, z in [30, 33].
inline sim::Mesh openFloorWithIsland() {
  sim::Mesh m;
  addSlab(m, 0, 0, 20, 20);
  addSlab(m, 30, 30, 33, 33);
  return m;
}

// An L-shaped corridor 2 m wide: along +x for z in [0, 2], x in [0, 10], then along +z
// for x in [8, 10], z in [0, 10].
inline sim::Mesh lCorridor() {
  sim::Mesh m;
  addSlab(m, 0, 0, 10, 2);
  addSlab(m, 8, 2, 10, 10);
  return m;
}

inline sim::Vec3 at(float x, float z) { return {x, 0.f, z}; }

// Heading (radians) looking along +x / -x / +z / -z (0 looks along -z, left is positive).
constexpr float kPi = 3.14159265358979323846f;
constexpr float kFacePlusX = -kPi / 2;
constexpr float kFaceMinusX = kPi / 2;
constexpr float kFacePlusZ = kPi;
constexpr float kFaceMinusZ = 0.f;

// Waypoints every `spacing` metres from a to b (both included).
inline std::vector<sim::Vec3> line(const sim::Vec3& a, const sim::Vec3& b, float spacing) {
  const int n = static_cast<int>(std::round(sim::horizontalDistance(a, b) / spacing));
  std::vector<sim::Vec3> pts;
  for (int i = 0; i <= n; ++i) pts.push_back(a + (b - a) * (float(i) / float(n)));
  return pts;
}

}  // namespace svln::expert::test
