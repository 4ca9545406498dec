// A scene as the simulator sees it: one triangle soup with per-triangle material and
// object ids, in world coordinates (metres, Y up). Produced by the glTF loader and by the
// procedural generator; consumed by the navmesh builder and the renderer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/vec3.h"

namespace svln::sim {

struct Texture {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per texel, sRGB
};

struct Material {
  std::string name;
  Vec3 base_color{0.8f, 0.8f, 0.8f};  // linear [0,1]
  int texture = -1;                   // index into Mesh::textures, -1 = none
};

// A named thing in the scene (a piece of furniture, a door, a room's floor); the
// instruction generator and the reports refer to objects by these names.
struct SceneObject {
  std::string name;      // e.g. "blue sofa"
  std::string category;  // e.g. "sofa", "floor", "wall", "door"
  std::string room;      // e.g. "living room"; empty when not in a room
  Vec3 bbox_min, bbox_max;
};

// A region of the floor plan (axis-aligned rectangle in XZ) with a room type.
struct Room {
  std::string name;  // e.g. "kitchen"
  Vec3 bbox_min, bbox_max;
};

struct Mesh {
  std::vector<Vec3> positions;
  std::vector<Vec2> uvs;  // empty or one per position
  std::vector<uint32_t> indices;  // 3 per triangle
  std::vector<int32_t> triangle_material;  // one per triangle
  std::vector<int32_t> triangle_object;    // one per triangle, -1 = none
  std::vector<Material> materials;
  std::vector<Texture> textures;
  std::vector<SceneObject> objects;
  std::vector<Room> rooms;

  size_t numTriangles() const { return indices.size() / 3; }
  void boundingBox(Vec3& lo, Vec3& hi) const;
  // Appends another mesh (materials, textures and objects re-indexed).
  void append(const Mesh& other);
};

}  // namespace svln::sim
