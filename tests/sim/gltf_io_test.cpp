#include "sim/gltf_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <tuple>

#include "sim/path_finder.h"
#include "test_scenes.h"
#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::errorOf;

namespace fs = std::filesystem;
using nlohmann::json;

std::string tempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("svln_gltf_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::string& b) {
  std::ofstream f(path, std::ios::binary);
  f << b;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(k[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// A triangle as (vertex, uv) triples rotated to start at the smallest vertex (winding
// kept), plus material and object: equal sets of these mean equal meshes up to order.
using Corner = std::tuple<float, float, float, float, float>;
using TriKey = std::tuple<Corner, Corner, Corner, int, int>;

std::vector<TriKey> triangleSet(const Mesh& m) {
  std::vector<TriKey> out;
  for (size_t t = 0; t < m.numTriangles(); ++t) {
    Corner c[3];
    for (int k = 0; k < 3; ++k) {
      const uint32_t v = m.indices[3 * t + k];
      const Vec2 uv = m.uvs.empty() ? Vec2{} : m.uvs[v];
      c[k] = {m.positions[v].x, m.positions[v].y, m.positions[v].z, uv.u, uv.v};
    }
    const int first = static_cast<int>(std::min_element(c, c + 3) - c);
    out.emplace_back(c[first], c[(first + 1) % 3], c[(first + 2) % 3], m.triangle_material[t],
                     m.triangle_object[t]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Mesh sampleScene() {
  Mesh m;
  test::addFloor(m, 0, 0, 4, 3, /*material=*/0, /*object=*/0);
  test::addBox(m, {1, 0, 1}, {1.8f, 0.5f, 1.6f}, 1, 1);
  test::addBox(m, {3, 0, 2}, {3.5f, 2, 2.5f}, 1, -1);  // no object
  m.uvs.resize(m.positions.size());
  for (size_t i = 0; i < m.uvs.size(); ++i) m.uvs[i] = {0.25f * (i % 5), 0.5f * (i % 3)};
  Texture tex;
  tex.width = 4;
  tex.height = 2;
  for (int i = 0; i < 8 * 3; ++i) tex.rgb.push_back(static_cast<uint8_t>(i * 10));
  m.textures.push_back(tex);
  m.materials.push_back({"oak floor", {0.9f, 0.7f, 0.4f}, 0});
  m.materials.push_back({"blue", {0.1f, 0.2f, 0.8f}, -1});
  m.objects.push_back({"kitchen floor", "floor", "kitchen", {0, -0.1f, 0}, {4, 0, 3}});
  m.objects.push_back({"blue table", "table", "kitchen", {1, 0, 1}, {1.8f, 0.5f, 1.6f}});
  m.objects.push_back({"lamp", "lamp", "", {2, 0, 2}, {2.1f, 1, 2.1f}});  // no triangles
  m.rooms.push_back({"kitchen", {0, 0, 0}, {4, 2.5f, 3}});
  return m;
}

TEST(GltfIo, GlbRoundTripKeepsEverything) {
  const Mesh m = sampleScene();
  const std::string path = tempPath("rt.glb");
  saveGlb(m, path);
  const Mesh r = loadScene(path);
  EXPECT_EQ(triangleSet(r), triangleSet(m));
  ASSERT_EQ(r.materials.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.materials[i].name, m.materials[i].name);
    EXPECT_EQ(r.materials[i].base_color, m.materials[i].base_color);
    EXPECT_EQ(r.materials[i].texture, m.materials[i].texture);
  }
  ASSERT_EQ(r.textures.size(), 1u);
  EXPECT_EQ(r.textures[0].width, 4);
  EXPECT_EQ(r.textures[0].height, 2);
  EXPECT_EQ(r.textures[0].rgb, m.textures[0].rgb);
  ASSERT_EQ(r.objects.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.objects[i].name, m.objects[i].name);
    EXPECT_EQ(r.objects[i].category, m.objects[i].category);
    EXPECT_EQ(r.objects[i].room, m.objects[i].room);
    EXPECT_EQ(r.objects[i].bbox_min, m.objects[i].bbox_min);
    EXPECT_EQ(r.objects[i].bbox_max, m.objects[i].bbox_max);
  }
  ASSERT_EQ(r.rooms.size(), 1u);
  EXPECT_EQ(r.rooms[0].name, "kitchen");
  EXPECT_EQ(r.rooms[0].bbox_max, (Vec3{4, 2.5f, 3}));
  fs::remove(path);
}

TEST(GltfIo, GlbIsZUpOnDiskLikeMatterportAndDeterministic) {
  const Mesh m = sampleScene();
  const std::string a = tempPath("a.glb"), b = tempPath("b.glb");
  saveGlb(m, a);
  saveGlb(m, b);
  const std::string bytes = readBytes(a);
  EXPECT_EQ(bytes, readBytes(b));
  // The JSON chunk: the floor's POSITION bounds are in the file's Z-up frame, i.e. the
  // floor slab y in [-0.1, 0] appears as z in [-0.1, 0] and z in [0, 3] as y in [-3, 0].
  uint32_t json_len;
  std::memcpy(&json_len, bytes.data() + 12, 4);
  const json doc = json::parse(bytes.substr(20, json_len));
  const int acc = doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"];
  const auto& mn = doc["accessors"][acc]["min"];
  const auto& mx = doc["accessors"][acc]["max"];
  EXPECT_FLOAT_EQ(mn[1].get<float>(), -3.f);
  EXPECT_FLOAT_EQ(mx[1].get<float>(), 0.f);
  EXPECT_FLOAT_EQ(mn[2].get<float>(), -0.1f);
  EXPECT_FLOAT_EQ(mx[2].get<float>(), 0.f);
  EXPECT_EQ(doc["nodes"][1]["extras"]["category"], "table");
  // Loaded as Y-up explicitly, the floor lies in the file's XY plane instead.
  GltfLoadOptions yup;
  yup.up_axis = GltfLoadOptions::UpAxis::Y;
  Vec3 lo, hi;
  loadScene(a, yup).boundingBox(lo, hi);
  EXPECT_FLOAT_EQ(lo.y, -3.f);
  fs::remove(a);
  fs::remove(b);
}

TEST(GltfIo, SavedSceneGivesTheSameNavmesh) {
  const std::string path = tempPath("door.glb");
  saveGlb(test::wallWithDoor(), path);
  PathFinder direct, loaded;
  direct.build(test::wallWithDoor());
  loaded.build(loadScene(path));
  EXPECT_FLOAT_EQ(direct.geodesicDistance({2, 0, 1}, {8, 0, 1}),
                  loaded.geodesicDistance({2, 0, 1}, {8, 0, 1}));
  fs::remove(path);
}

// A hand-written .gltf: a hierarchy with TRS, matrix and mirrored nodes, u8/u16/no
// indices, and a node outside the default scene.
std::string handGltf(const std::string& indices_u8 = std::string("\x00\x01\x02\x00", 4)) {
  std::string bin;
  const float pos[9] = {0, 0, 0, 1, 0, 0, 0, 0, -1};            // CCW seen from +Y
  bin.append(reinterpret_cast<const char*>(pos), sizeof(pos));  // 0..36
  bin += indices_u8;                                            // 36..40
  const uint16_t i16[4] = {0, 1, 2, 0};
  bin.append(reinterpret_cast<const char*>(i16), sizeof(i16));  // 40..48
  // Rotation of +90 degrees about +Y: (0, sin 45, 0, cos 45).
  json doc = json::parse(R"({
    "asset": {"version": "2.0"},
    "buffers": [{"byteLength": 48, "uri": "URI"}],
    "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36},
                    {"buffer": 0, "byteOffset": 36, "byteLength": 3},
                    {"buffer": 0, "byteOffset": 40, "byteLength": 6}],
    "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                  {"bufferView": 1, "componentType": 5121, "count": 3, "type": "SCALAR"},
                  {"bufferView": 2, "componentType": 5123, "count": 3, "type": "SCALAR"}],
    "materials": [{"name": "red", "pbrMetallicRoughness": {"baseColorFactor": [1, 0, 0, 1]}}],
    "meshes": [{"name": "m8", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]},
               {"primitives": [{"attributes": {"POSITION": 0}, "indices": 2}]},
               {"primitives": [{"attributes": {"POSITION": 0}, "mode": 4}]}],
    "nodes": [{"name": "parent", "mesh": 0, "translation": [10, 0, 0], "children": [1, 2],
               "extras": {"category": "table", "room": "kitchen"}},
              {"mesh": 1, "rotation": [0, 0.7071067811865476, 0, 0.7071067811865476], "scale": [2, 2, 2]},
              {"name": "child", "mesh": 2, "matrix": [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,5,0,1]},
              {"name": "orphan", "mesh": 0},
              {"name": "mirror", "mesh": 0, "scale": [-1, 1, 1]}],
    "scenes": [{"nodes": [0, 4],
                "extras": {"rooms": [{"name": "kitchen", "bbox_min": [0, 0, 0], "bbox_max": [12, 3, 2]}]}}],
    "scene": 0
  })");
  doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64(bin);
  return doc.dump();
}

TEST(GltfIo, GltfHierarchyTransformsAndIndexTypes) {
  const std::string path = tempPath("hand.gltf");
  writeBytes(path, handGltf());
  const Mesh m = loadScene(path);  // .gltf: Y-up, as Habitat
  ASSERT_EQ(m.numTriangles(), 4u);
  auto tri = [&](size_t t, int k) { return m.positions[m.indices[3 * t + k]]; };
  // parent: translated by (10, 0, 0).
  EXPECT_EQ(tri(0, 1), (Vec3{11, 0, 0}));
  EXPECT_EQ(m.triangle_object[0], 0);
  EXPECT_EQ(m.triangle_material[0], 0);
  // unnamed child, u16 indices: rotated +90 deg about Y and scaled 2, inherits "parent".
  EXPECT_NEAR(tri(1, 1).x, 10.f, 1e-5f);
  EXPECT_NEAR(tri(1, 1).z, -2.f, 1e-5f);
  EXPECT_NEAR(tri(1, 2).x, 8.f, 1e-5f);
  EXPECT_EQ(m.triangle_object[1], 0);
  EXPECT_EQ(m.triangle_material[1], -1);
  // "child": column-major matrix translating by (0, 5, 0), non-indexed.
  EXPECT_EQ(tri(2, 0), (Vec3{10, 5, 0}));
  EXPECT_EQ(m.triangle_object[2], 1);
  // Every triangle, mirrored one included, still faces +Y.
  for (size_t t = 0; t < m.numTriangles(); ++t)
    EXPECT_GT(cross(tri(t, 1) - tri(t, 0), tri(t, 2) - tri(t, 0)).y, 0.f) << "triangle " << t;
  ASSERT_EQ(m.objects.size(), 3u);  // parent, child, mirror; not the orphan
  EXPECT_EQ(m.objects[0].name, "parent");
  EXPECT_EQ(m.objects[0].category, "table");
  EXPECT_EQ(m.objects[0].room, "kitchen");
  // Both triangles of "parent" (the rotated one within float rounding of exact).
  const Vec3 want_lo{8, 0, -2}, want_hi{11, 0, 0};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(m.objects[0].bbox_min[i], want_lo[i], 1e-5f);
    EXPECT_NEAR(m.objects[0].bbox_max[i], want_hi[i], 1e-5f);
  }
  EXPECT_EQ(m.objects[2].name, "mirror");
  ASSERT_EQ(m.materials.size(), 1u);
  EXPECT_EQ(m.materials[0].base_color, (Vec3{1, 0, 0}));
  ASSERT_EQ(m.rooms.size(), 1u);
  EXPECT_EQ(m.rooms[0].bbox_max, (Vec3{12, 3, 2}));
  // Forced Z-up: (x, y, z) -> (x, z, -y).
  GltfLoadOptions zup;
  zup.up_axis = GltfLoadOptions::UpAxis::Z;
  const Mesh z = loadScene(path, zup);
  EXPECT_EQ(z.positions[z.indices[6]], (Vec3{10, 0, -5}));
  fs::remove(path);
}

TEST(GltfIo, StripsAndFansBecomeUpFacingTriangles) {
  // A unit quad in the XZ plane drawn as a 4-vertex strip and as an indexed fan.
  std::string bin;
  const float quad[12] = {0, 0, 0, 1, 0, 0, 0, 0, -1, 1, 0, -1};
  bin.append(reinterpret_cast<const char*>(quad), sizeof(quad));
  bin += std::string("\x00\x01\x03\x02", 4);
  json doc = json::parse(R"({
    "asset": {"version": "2.0"},
    "buffers": [{"byteLength": 52, "uri": "URI"}],
    "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
                    {"buffer": 0, "byteOffset": 48, "byteLength": 4}],
    "accessors": [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3"},
                  {"bufferView": 1, "componentType": 5121, "count": 4, "type": "SCALAR"}],
    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "mode": 5},
                               {"attributes": {"POSITION": 0}, "indices": 1, "mode": 6},
                               {"attributes": {"POSITION": 0}, "mode": 1}]}],
    "nodes": [{"mesh": 0}],
    "scenes": [{"nodes": [0]}]
  })");
  doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64(bin);
  const std::string path = tempPath("strip.gltf");
  writeBytes(path, doc.dump());
  const Mesh m = loadScene(path);
  ASSERT_EQ(m.numTriangles(), 4u);  // 2 from the strip, 2 from the fan, lines skipped
  float area = 0;
  for (size_t t = 0; t < 4; ++t) {
    const Vec3 a = m.positions[m.indices[3 * t]], b = m.positions[m.indices[3 * t + 1]],
               c = m.positions[m.indices[3 * t + 2]];
    const Vec3 n = cross(b - a, c - a);
    EXPECT_FLOAT_EQ(n.y, 1.f) << "triangle " << t;  // area 0.5 each, facing +Y
    area += 0.5f * length(n);
  }
  EXPECT_FLOAT_EQ(area, 2.f);  // the quad twice
  EXPECT_TRUE(m.objects.empty());
  fs::remove(path);
}

TEST(GltfIo, UndecodableImageFallsBackToBaseColour) {
  const std::string path = tempPath("img.glb");
  saveGlb(sampleScene(), path);
  std::string bytes = readBytes(path);
  const size_t png = bytes.find("\x89PNG");
  ASSERT_NE(png, std::string::npos);
  bytes.replace(png, 4, "KTX2");
  writeBytes(path, bytes);
  const Mesh m = loadScene(path);
  EXPECT_TRUE(m.textures.empty());
  ASSERT_EQ(m.materials.size(), 2u);
  EXPECT_EQ(m.materials[0].texture, -1);
  EXPECT_EQ(m.materials[0].base_color, (Vec3{0.9f, 0.7f, 0.4f}));
  EXPECT_EQ(m.numTriangles(), sampleScene().numTriangles());
  fs::remove(path);
}

TEST(GltfIo, BadFilesGiveOneLineErrorsNamingTheFile) {
  auto expectError = [](const std::string& path, const std::string& what) {
    const std::string e = errorOf([&] { loadScene(path); });
    EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  };
  expectError(tempPath("missing.glb"), "cannot open");
  const std::string glb = tempPath("bad.glb");
  saveGlb(sampleScene(), glb);
  const std::string good = readBytes(glb);
  writeBytes(glb, good.substr(0, good.size() / 2));
  expectError(glb, "truncated GLB");
  writeBytes(glb, good.substr(0, 10));
  expectError(glb, "truncated GLB");
  writeBytes(glb, "GLTF" + good.substr(4));
  expectError(glb, "not a GLB");
  std::string broken = good;
  broken[21] = '#';  // inside the JSON chunk
  writeBytes(glb, broken);
  expectError(glb, "invalid glTF");
  const std::string gltf = tempPath("bad.gltf");
  writeBytes(gltf, handGltf(std::string("\x00\x01\x07\x00", 4)));
  expectError(gltf, "index 7 out of range");
  writeBytes(gltf, "{ not json");
  expectError(gltf, "invalid glTF");
  const std::string obj = tempPath("scene.obj");
  writeBytes(obj, "v 0 0 0");
  expectError(obj, "unsupported scene format");
  Mesh inconsistent = sampleScene();
  inconsistent.triangle_material.pop_back();
  EXPECT_NE(errorOf([&] { saveGlb(inconsistent, glb); }).find("inconsistent mesh"),
            std::string::npos);
  Mesh nan_vertex = sampleScene();
  nan_vertex.positions[1].y = std::numeric_limits<float>::quiet_NaN();
  saveGlb(nan_vertex, glb);
  expectError(glb, "is not finite");
  for (const auto& p : {glb, gltf, obj}) fs::remove(p);
}

}  // namespace
}  // namespace svln::sim
