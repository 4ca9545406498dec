// Hand-built scenes for tests: axis-aligned boxes as closed triangle meshes (outward
// faces counter-clockwise, so Recast sees up-facing tops as walkable floors).
#pragma once

#include <string>

#include "sim/mesh.h"

namespace svln::sim::test {

// Appends the box [lo, hi] as 12 triangles with material `material` and object `object`.
inline void addBox(Mesh& m, const Vec3& lo, const Vec3& hi, int material = 0, int object = -1) {
  const auto base = static_cast<uint32_t>(m.positions.size());
  for (int i = 0; i < 8; ++i) {
    m.positions.push_back({(i & 1) ? hi.x : lo.x, (i & 2) ? hi.y : lo.y, (i & 4) ? hi.z : lo.z});
  }
  if (!m.uvs.empty()) m.uvs.resize(m.positions.size());
  // Corner i has bit0 = +x, bit1 = +y, bit2 = +z; each quad is listed counter-clockwise
  // seen from outside.
  const int quads[6][4] = {
      {0, 4, 6, 2},  // -x
      {1, 3, 7, 5},  // +x
      {0, 1, 5, 4},  // -y
      {2, 6, 7, 3},  // +y
      {0, 2, 3, 1},  // -z
      {4, 5, 7, 6},  // +z
  };
  for (const auto& q : quads) {
    for (int t : {0, 2}) {
      m.indices.push_back(base + q[0]);
      m.indices.push_back(base + q[t == 0 ? 1 : 2]);
      m.indices.push_back(base + q[t == 0 ? 2 : 3]);
      m.triangle_material.push_back(material);
      m.triangle_object.push_back(object);
    }
  }
}

// A floor slab whose top is at y = 0 covering [x0, x1] x [z0, z1].
inline void addFloor(Mesh& m, float x0, float z0, float x1, float z1, int material = 0,
                     int object = -1) {
  addBox(m, {x0, -0.1f, z0}, {x1, 0.f, z1}, material, object);
}

// A wall 2 m high and `thickness` thick along x (from x0 to x1 at z) or along z.
inline void addWallX(Mesh& m, float x0, float x1, float z, float thickness = 0.1f) {
  addBox(m, {x0, 0.f, z - thickness / 2}, {x1, 2.f, z + thickness / 2});
}
inline void addWallZ(Mesh& m, float z0, float z1, float x, float thickness = 0.1f) {
  addBox(m, {x - thickness / 2, 0.f, z0}, {x + thickness / 2, 2.f, z1});
}

inline Mesh withDefaultMaterial(Mesh m) {
  if (m.materials.empty()) m.materials.push_back(Material{"default", {0.8f, 0.8f, 0.8f}, -1});
  return m;
}

// A 10 x 10 m open room with 2 m walls around it.
inline Mesh openRoom() {
  Mesh m;
  addFloor(m, 0, 0, 10, 10);
  addWallX(m, 0, 10, 0);
  addWallX(m, 0, 10, 10);
  addWallZ(m, 0, 10, 0);
  addWallZ(m, 0, 10, 10);
  return withDefaultMaterial(m);
}

// Two 5 x 6 m rooms side by side (x in [0, 10], z in [0, 6]) separated by a 0.1 m wall at
// x = 5 with a door gap z in [4.5, 5.5]; plus a separate 3 x 3 m platform (an unreachable
// island) at x in [12, 15], z in [0, 3].
inline Mesh wallWithDoor() {
  Mesh m;
  addFloor(m, 0, 0, 10, 6);
  addWallX(m, 0, 10, 0);
  addWallX(m, 0, 10, 6);
  addWallZ(m, 0, 6, 0);
  addWallZ(m, 0, 6, 10);
  addWallZ(m, 0, 4.5f, 5);
  addWallZ(m, 5.5f, 6, 5);
  addFloor(m, 12, 0, 15, 3);
  return withDefaultMaterial(m);
}

}  // namespace svln::sim::test
