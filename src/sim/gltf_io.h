// glTF 2.0 scenes (.glb, .gltf) <-> Mesh.
//
// Frames: the simulator is Y-up (Habitat). Habitat loads a bare `.glb` as a Matterport
// mesh whose file frame is Z-up (up +Z, front +Y) and rotates it by
// (x, y, z)_file -> (x, z, -y); `.gltf` files are taken as Y-up. loadScene does the same
// by default, and saveGlb writes that Z-up file frame, so a scene written here appears
// upright both in Habitat and after loadScene. See docs/navigation.md.
#pragma once

#include <string>

#include "sim/mesh.h"

namespace svln::sim {

struct GltfLoadOptions {
  enum class UpAxis { Auto, Y, Z };
  // Auto: Z for .glb (Habitat's MP3D convention), Y for .gltf.
  UpAxis up_axis = UpAxis::Auto;
};

// Loads every TRIANGLES primitive (also strips and fans) of the default scene, with node
// transforms, baseColorFactor / baseColorTexture materials (textures decoded to RGB) and
// TEXCOORD_0 (glTF convention: v = 0 is the image's first row). Images stb_image cannot
// decode (KTX2/Basis) are skipped with a warning and their materials keep only the colour. Each
// named node with a mesh (or with a "category" in its extras) becomes a SceneObject; unnamed
// descendants' triangles belong to the nearest named ancestor. Node extras "category" and "room"
// are kept; scene extras "rooms" give Mesh::rooms. Primitives without a material get
// triangle_material -1. Throws std::runtime_error("<path>: <problem>").
Mesh loadScene(const std::string& path, const GltfLoadOptions& options = {});

// Writes a binary glTF atomically: one node per SceneObject (name, extras {category,
// room, bbox_min, bbox_max}) holding one primitive per material, one unnamed node for
// triangles without an object, textures embedded as PNG, rooms in the scene's extras.
// Deterministic: the same Mesh gives the same bytes.
void saveGlb(const Mesh& mesh, const std::string& path);

}  // namespace svln::sim
