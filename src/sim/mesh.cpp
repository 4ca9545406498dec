#include "sim/mesh.h"

#include <limits>

namespace svln::sim {

void Mesh::boundingBox(Vec3& lo, Vec3& hi) const {
  const float inf = std::numeric_limits<float>::infinity();
  lo = {inf, inf, inf};
  hi = {-inf, -inf, -inf};
  for (const Vec3& p : positions) {
    lo = vmin(lo, p);
    hi = vmax(hi, p);
  }
}

void Mesh::append(const Mesh& other) {
  const auto vbase = static_cast<uint32_t>(positions.size());
  const auto mbase = static_cast<int32_t>(materials.size());
  const auto tbase = static_cast<int32_t>(textures.size());
  const auto obase = static_cast<int32_t>(objects.size());
  const bool want_uvs = !uvs.empty() || !other.uvs.empty();
  positions.insert(positions.end(), other.positions.begin(), other.positions.end());
  if (want_uvs) {
    uvs.resize(vbase);  // zero UVs for this mesh's vertices when it had none
    if (other.uvs.empty()) {
      uvs.resize(positions.size());
    } else {
      uvs.insert(uvs.end(), other.uvs.begin(), other.uvs.end());
    }
  }
  for (uint32_t i : other.indices) indices.push_back(i + vbase);
  for (int32_t m : other.triangle_material) triangle_material.push_back(m < 0 ? m : m + mbase);
  for (int32_t o : other.triangle_object) triangle_object.push_back(o < 0 ? o : o + obase);
  for (Material m : other.materials) {
    if (m.texture >= 0) m.texture += tbase;
    materials.push_back(std::move(m));
  }
  textures.insert(textures.end(), other.textures.begin(), other.textures.end());
  objects.insert(objects.end(), other.objects.begin(), other.objects.end());
  rooms.insert(rooms.end(), other.rooms.begin(), other.rooms.end());
}

}  // namespace svln::sim
