#include "sim/gltf_io.h"

#include <spdlog/spdlog.h>
#include <stb/stb_image_write.h>
#include <tiny_gltf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

namespace svln::sim {

namespace {

namespace fs = std::filesystem;
using Mat4 = std::array<double, 16>;  // column-major, as glTF stores node.matrix

constexpr uint32_t kGlbMagic = 0x46546C67;   // "glTF"
constexpr uint32_t kChunkJson = 0x4E4F534A;  // "JSON"
constexpr uint32_t kChunkBin = 0x004E4942;   // "BIN\0"
constexpr int kModeTriangles = 4, kModeStrip = 5, kModeFan = 6;

std::runtime_error fail(const std::string& path, const std::string& what) {
  return std::runtime_error(path + ": " + what);
}

std::string oneLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ';');
  return s;
}

Mat4 identity() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }

Mat4 mul(const Mat4& a, const Mat4& b) {
  Mat4 r{};
  for (int c = 0; c < 4; ++c)
    for (int row = 0; row < 4; ++row) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[k * 4 + row] * b[c * 4 + k];
      r[c * 4 + row] = s;
    }
  return r;
}

// Local transform: node.matrix, or T * R * S from translation, rotation (x, y, z, w), scale.
Mat4 localTransform(const tinygltf::Node& n) {
  if (n.matrix.size() == 16) {
    Mat4 m;
    std::copy(n.matrix.begin(), n.matrix.end(), m.begin());
    return m;
  }
  const double x = n.rotation.size() == 4 ? n.rotation[0] : 0,
               y = n.rotation.size() == 4 ? n.rotation[1] : 0,
               z = n.rotation.size() == 4 ? n.rotation[2] : 0,
               w = n.rotation.size() == 4 ? n.rotation[3] : 1;
  const double sx = n.scale.size() == 3 ? n.scale[0] : 1, sy = n.scale.size() == 3 ? n.scale[1] : 1,
               sz = n.scale.size() == 3 ? n.scale[2] : 1;
  Mat4 m = identity();
  // Columns of the rotation matrix, each scaled by its axis' scale factor.
  m[0] = (1 - 2 * (y * y + z * z)) * sx;
  m[1] = (2 * (x * y + z * w)) * sx;
  m[2] = (2 * (x * z - y * w)) * sx;
  m[4] = (2 * (x * y - z * w)) * sy;
  m[5] = (1 - 2 * (x * x + z * z)) * sy;
  m[6] = (2 * (y * z + x * w)) * sy;
  m[8] = (2 * (x * z + y * w)) * sz;
  m[9] = (2 * (y * z - x * w)) * sz;
  m[10] = (1 - 2 * (x * x + y * y)) * sz;
  if (n.translation.size() == 3) {
    m[12] = n.translation[0];
    m[13] = n.translation[1];
    m[14] = n.translation[2];
  }
  return m;
}

double det3(const Mat4& m) {
  return m[0] * (m[5] * m[10] - m[9] * m[6]) - m[4] * (m[1] * m[10] - m[9] * m[2]) +
         m[8] * (m[1] * m[6] - m[5] * m[2]);
}

Vec3 apply(const Mat4& m, const Vec3& p) {
  return {static_cast<float>(m[0] * p.x + m[4] * p.y + m[8] * p.z + m[12]),
          static_cast<float>(m[1] * p.x + m[5] * p.y + m[9] * p.z + m[13]),
          static_cast<float>(m[2] * p.x + m[6] * p.y + m[10] * p.z + m[14])};
}

// Habitat's MP3D frame (up +Z, front +Y) -> simulator frame (up +Y, front -Z) and back.
Vec3 zUpToYUp(const Vec3& p) { return {p.x, p.z, -p.y}; }
Vec3 yUpToZUp(const Vec3& p) { return {p.x, -p.z, p.y}; }

// A validated view of an accessor's elements inside its buffer.
struct AccessorView {
  const unsigned char* data = nullptr;
  size_t stride = 0;
  size_t count = 0;
  int comps = 0;
  int ctype = 0;
  bool normalized = false;
};

AccessorView viewOf(const tinygltf::Model& model, int index, const std::string& path,
                    const char* what) {
  if (index < 0 || index >= static_cast<int>(model.accessors.size()))
    throw fail(path, std::string("invalid accessor index for ") + what);
  const tinygltf::Accessor& a = model.accessors[index];
  if (a.sparse.isSparse)
    throw fail(path, std::string("sparse accessor for ") + what + " is not supported");
  if (a.bufferView < 0 || a.bufferView >= static_cast<int>(model.bufferViews.size()))
    throw fail(path, std::string("accessor for ") + what + " has no buffer view");
  const tinygltf::BufferView& bv = model.bufferViews[a.bufferView];
  if (bv.buffer < 0 || bv.buffer >= static_cast<int>(model.buffers.size()))
    throw fail(path, std::string("buffer view for ") + what + " has no buffer");
  const tinygltf::Buffer& buf = model.buffers[bv.buffer];
  AccessorView v;
  v.comps = tinygltf::GetNumComponentsInType(a.type);
  const int csize = tinygltf::GetComponentSizeInBytes(a.componentType);
  if (v.comps <= 0 || csize <= 0) throw fail(path, std::string("bad accessor type for ") + what);
  const size_t elem = static_cast<size_t>(v.comps) * csize;
  v.stride = bv.byteStride ? bv.byteStride : elem;
  v.count = a.count;
  v.ctype = a.componentType;
  v.normalized = a.normalized;
  const size_t start = bv.byteOffset + a.byteOffset;
  const size_t end = a.count == 0 ? start : start + v.stride * (a.count - 1) + elem;
  if (bv.byteOffset + bv.byteLength > buf.data.size() || end > bv.byteOffset + bv.byteLength)
    throw fail(path, std::string("accessor for ") + what + " runs past the end of its buffer");
  v.data = buf.data.data() + start;
  return v;
}

float component(const AccessorView& v, size_t i, int c) {
  const unsigned char* p = v.data + i * v.stride;
  switch (v.ctype) {
    case TINYGLTF_COMPONENT_TYPE_FLOAT: {
      float f;
      std::memcpy(&f, p + 4 * c, 4);
      return f;
    }
    case TINYGLTF_COMPONENT_TYPE_UNSIGNED_BYTE:
      return p[c] / (v.normalized ? 255.f : 1.f);
    case TINYGLTF_COMPONENT_TYPE_BYTE: {
      const float x = static_cast<int8_t>(p[c]);
      return v.normalized ? std::max(x / 127.f, -1.f) : x;
    }
    case TINYGLTF_COMPONENT_TYPE_UNSIGNED_SHORT: {
      uint16_t s;
      std::memcpy(&s, p + 2 * c, 2);
      return s / (v.normalized ? 65535.f : 1.f);
    }
    case TINYGLTF_COMPONENT_TYPE_SHORT: {
      int16_t s;
      std::memcpy(&s, p + 2 * c, 2);
      return v.normalized ? std::max(s / 32767.f, -1.f) : s;
    }
    default:
      return 0.f;
  }
}

uint32_t indexAt(const AccessorView& v, size_t i) {
  const unsigned char* p = v.data + i * v.stride;
  switch (v.ctype) {
    case TINYGLTF_COMPONENT_TYPE_UNSIGNED_BYTE:
      return p[0];
    case TINYGLTF_COMPONENT_TYPE_UNSIGNED_SHORT: {
      uint16_t s;
      std::memcpy(&s, p, 2);
      return s;
    }
    default: {
      uint32_t u;
      std::memcpy(&u, p, 4);
      return u;
    }
  }
}

std::string extraString(const tinygltf::Value& extras, const char* key) {
  if (!extras.IsObject() || !extras.Has(key)) return "";
  const tinygltf::Value& v = extras.Get(key);
  return v.IsString() ? v.Get<std::string>() : "";
}

bool extraVec3(const tinygltf::Value& extras, const char* key, Vec3& out) {
  if (!extras.IsObject() || !extras.Has(key)) return false;
  const tinygltf::Value& v = extras.Get(key);
  if (!v.IsArray() || v.ArrayLen() != 3) return false;
  for (int i = 0; i < 3; ++i) {
    if (!v.Get(i).IsNumber()) return false;
    out[i] = static_cast<float>(v.Get(i).GetNumberAsDouble());
  }
  return true;
}

Texture toRgb(const tinygltf::Image& img, const std::string& path, int index) {
  if (img.width <= 0 || img.height <= 0 || img.component < 1 || img.component > 4)
    throw fail(path, "image " + std::to_string(index) + " could not be decoded");
  const int bytes_per = img.bits == 16 ? 2 : 1;
  const size_t n = static_cast<size_t>(img.width) * img.height;
  if (img.image.size() < n * img.component * bytes_per)
    throw fail(path, "image " + std::to_string(index) + " has too little pixel data");
  Texture t;
  t.width = img.width;
  t.height = img.height;
  t.rgb.resize(n * 3);
  auto at = [&](size_t px, int c) -> uint8_t {
    const size_t off = (px * img.component + c) * bytes_per;
    // 16-bit samples are stored native-endian; keep their high byte.
    if (bytes_per == 2) {
      uint16_t s;
      std::memcpy(&s, &img.image[off], 2);
      return static_cast<uint8_t>(s >> 8);
    }
    return img.image[off];
  };
  for (size_t px = 0; px < n; ++px) {
    for (int c = 0; c < 3; ++c) {
      // Grey (+alpha) images replicate their single channel.
      t.rgb[px * 3 + c] = at(px, img.component >= 3 ? c : 0);
    }
  }
  return t;
}

// stb_image decodes PNG/JPEG/BMP/...; images it cannot decode (e.g. KTX2/Basis in
// HM3D's .basis.glb) are left empty so their materials fall back to the base colour.
bool tolerantImageLoader(tinygltf::Image* image, const int index, std::string* err,
                         std::string* warn, int w, int h, const unsigned char* bytes, int size,
                         void* user) {
  std::string e;
  if (!tinygltf::LoadImageData(image, index, &e, warn, w, h, bytes, size, nullptr))
    image->image.clear();
  return true;
}

std::vector<unsigned char> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(path, "cannot open scene file");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t u32At(const std::vector<unsigned char>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

// Checks the GLB container (header and chunk lengths) before tinygltf parses it.
void validateGlb(const std::vector<unsigned char>& b, const std::string& path) {
  if (b.size() < 20) throw fail(path, "truncated GLB (" + std::to_string(b.size()) + " bytes)");
  if (u32At(b, 0) != kGlbMagic) throw fail(path, "not a GLB file (bad magic)");
  if (u32At(b, 4) != 2) throw fail(path, "unsupported GLB version " + std::to_string(u32At(b, 4)));
  const uint32_t total = u32At(b, 8);
  if (total > b.size())
    throw fail(path, "truncated GLB (header says " + std::to_string(total) + " bytes, file has " +
                         std::to_string(b.size()) + ")");
  const uint32_t json_len = u32At(b, 12);
  if (u32At(b, 16) != kChunkJson) throw fail(path, "corrupt GLB (first chunk is not JSON)");
  if (20ull + json_len > total) throw fail(path, "truncated GLB (JSON chunk)");
  const size_t bin_at = 20ull + json_len;
  if (bin_at + 8 <= total) {
    const uint32_t bin_len = u32At(b, bin_at);
    if (bin_at + 8 + bin_len > total) throw fail(path, "truncated GLB (binary chunk)");
  }
}

struct Loader {
  const tinygltf::Model& model;
  const std::string& path;
  bool z_up;
  Mesh out;
  std::vector<Vec2> uvs;
  bool any_uvs = false;
  std::vector<bool> bbox_from_extras;

  void primitive(const tinygltf::Primitive& prim, const Mat4& world, int object) {
    const int mode = prim.mode < 0 ? kModeTriangles : prim.mode;
    if (mode != kModeTriangles && mode != kModeStrip && mode != kModeFan) {
      spdlog::debug("{}: skipping a primitive of mode {}", path, mode);
      return;
    }
    const auto pos_it = prim.attributes.find("POSITION");
    if (pos_it == prim.attributes.end()) throw fail(path, "primitive without POSITION");
    const AccessorView pos = viewOf(model, pos_it->second, path, "POSITION");
    if (pos.comps != 3) throw fail(path, "POSITION is not VEC3");
    const auto base = static_cast<uint32_t>(out.positions.size());
    for (size_t i = 0; i < pos.count; ++i) {
      Vec3 p = apply(world, {component(pos, i, 0), component(pos, i, 1), component(pos, i, 2)});
      // A NaN or infinite vertex would poison the navmesh build and every ray near it.
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
        throw fail(path, "vertex " + std::to_string(i) + " of a primitive (accessor " +
                             std::to_string(pos_it->second) + ") is not finite");
      out.positions.push_back(z_up ? zUpToYUp(p) : p);
    }
    const auto uv_it = prim.attributes.find("TEXCOORD_0");
    if (uv_it != prim.attributes.end()) {
      const AccessorView uv = viewOf(model, uv_it->second, path, "TEXCOORD_0");
      if (uv.comps != 2 || uv.count != pos.count)
        throw fail(path, "TEXCOORD_0 does not match POSITION");
      for (size_t i = 0; i < uv.count; ++i)
        uvs.push_back({component(uv, i, 0), component(uv, i, 1)});
      any_uvs = true;
    } else {
      uvs.resize(out.positions.size());
    }
    std::vector<uint32_t> idx;
    if (prim.indices >= 0) {
      const AccessorView iv = viewOf(model, prim.indices, path, "indices");
      if (iv.comps != 1 || (iv.ctype != TINYGLTF_COMPONENT_TYPE_UNSIGNED_BYTE &&
                            iv.ctype != TINYGLTF_COMPONENT_TYPE_UNSIGNED_SHORT &&
                            iv.ctype != TINYGLTF_COMPONENT_TYPE_UNSIGNED_INT))
        throw fail(path, "indices must be unsigned 8, 16 or 32-bit scalars");
      idx.resize(iv.count);
      for (size_t i = 0; i < iv.count; ++i) {
        idx[i] = indexAt(iv, i);
        if (idx[i] >= pos.count)
          throw fail(path, "index " + std::to_string(idx[i]) + " out of range");
      }
    } else {
      idx.resize(pos.count);
      for (size_t i = 0; i < pos.count; ++i) idx[i] = static_cast<uint32_t>(i);
    }
    const int material = prim.material;
    if (material >= static_cast<int>(out.materials.size()))
      throw fail(path, "primitive refers to missing material " + std::to_string(material));
    // A mirroring transform turns counter-clockwise faces clockwise; swap to keep them CCW.
    const bool flip = det3(world) < 0;
    auto emit = [&](uint32_t a, uint32_t b, uint32_t c) {
      if (a == b || b == c || a == c) return;  // degenerate strip/fan joints
      if (flip) std::swap(b, c);
      out.indices.insert(out.indices.end(), {base + a, base + b, base + c});
      out.triangle_material.push_back(material < 0 ? -1 : material);
      out.triangle_object.push_back(object);
    };
    if (mode == kModeTriangles) {
      for (size_t i = 0; i + 2 < idx.size(); i += 3) emit(idx[i], idx[i + 1], idx[i + 2]);
    } else if (mode == kModeStrip) {
      for (size_t i = 0; i + 2 < idx.size(); ++i) {
        if (i % 2 == 0)
          emit(idx[i], idx[i + 1], idx[i + 2]);
        else
          emit(idx[i + 1], idx[i], idx[i + 2]);
      }
    } else {
      for (size_t i = 1; i + 1 < idx.size(); ++i) emit(idx[0], idx[i], idx[i + 1]);
    }
  }

  void node(int index, const Mat4& parent, int object, int depth) {
    if (index < 0 || index >= static_cast<int>(model.nodes.size()))
      throw fail(path, "invalid node index " + std::to_string(index));
    if (depth > 256) throw fail(path, "node hierarchy is cyclic or deeper than 256");
    const tinygltf::Node& n = model.nodes[index];
    const Mat4 world = mul(parent, localTransform(n));
    std::string name = n.name;
    if (name.empty() && n.mesh >= 0 && n.mesh < static_cast<int>(model.meshes.size()))
      name = model.meshes[n.mesh].name;
    const std::string category = extraString(n.extras, "category");
    if (!name.empty() && (n.mesh >= 0 || !category.empty())) {
      SceneObject o;
      o.name = name;
      o.category = category;
      o.room = extraString(n.extras, "room");
      const bool has_bbox = extraVec3(n.extras, "bbox_min", o.bbox_min) &&
                            extraVec3(n.extras, "bbox_max", o.bbox_max);
      out.objects.push_back(o);
      bbox_from_extras.push_back(has_bbox);
      object = static_cast<int>(out.objects.size()) - 1;
    }
    if (n.mesh >= 0) {
      if (n.mesh >= static_cast<int>(model.meshes.size()))
        throw fail(path, "node refers to missing mesh " + std::to_string(n.mesh));
      for (const auto& prim : model.meshes[n.mesh].primitives) primitive(prim, world, object);
    }
    for (int child : n.children) node(child, world, object, depth + 1);
  }

  void materialsAndTextures() {
    // Texture index = image index, except that undecodable images get none.
    std::vector<int> texture_of(model.images.size(), -1);
    for (size_t i = 0; i < model.images.size(); ++i) {
      if (model.images[i].image.empty()) {
        spdlog::warn("{}: image {} could not be decoded; its materials use their base colour", path,
                     i);
        continue;
      }
      texture_of[i] = static_cast<int>(out.textures.size());
      out.textures.push_back(toRgb(model.images[i], path, static_cast<int>(i)));
    }
    for (size_t i = 0; i < model.materials.size(); ++i) {
      const tinygltf::Material& gm = model.materials[i];
      Material m;
      m.name = gm.name.empty() ? "material_" + std::to_string(i) : gm.name;
      const auto& f = gm.pbrMetallicRoughness.baseColorFactor;
      if (f.size() >= 3) m.base_color = {float(f[0]), float(f[1]), float(f[2])};
      const int tex = gm.pbrMetallicRoughness.baseColorTexture.index;
      if (tex >= 0) {
        if (tex >= static_cast<int>(model.textures.size()))
          throw fail(path, "material " + std::to_string(i) + " refers to missing texture");
        const int src = model.textures[tex].source;
        if (src < 0 || src >= static_cast<int>(texture_of.size()))
          throw fail(path, "texture " + std::to_string(tex) + " has no image");
        m.texture = texture_of[src];
      }
      out.materials.push_back(m);
    }
  }

  void rooms(const tinygltf::Value& extras) {
    if (!extras.IsObject() || !extras.Has("rooms")) return;
    const tinygltf::Value& rs = extras.Get("rooms");
    if (!rs.IsArray()) throw fail(path, "scene extras 'rooms' is not an array");
    for (size_t i = 0; i < rs.ArrayLen(); ++i) {
      const tinygltf::Value& r = rs.Get(static_cast<int>(i));
      Room room;
      room.name = extraString(r, "name");
      if (!extraVec3(r, "bbox_min", room.bbox_min) || !extraVec3(r, "bbox_max", room.bbox_max))
        throw fail(path, "room " + std::to_string(i) + " lacks bbox_min/bbox_max");
      out.rooms.push_back(room);
    }
  }

  void objectBoxes() {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<std::pair<Vec3, Vec3>> box(out.objects.size(),
                                           {{inf, inf, inf}, {-inf, -inf, -inf}});
    for (size_t t = 0; t < out.numTriangles(); ++t) {
      const int o = out.triangle_object[t];
      if (o < 0) continue;
      for (int k = 0; k < 3; ++k) {
        const Vec3& p = out.positions[out.indices[3 * t + k]];
        box[o].first = vmin(box[o].first, p);
        box[o].second = vmax(box[o].second, p);
      }
    }
    for (size_t o = 0; o < out.objects.size(); ++o) {
      if (bbox_from_extras[o] || box[o].first.x > box[o].second.x) continue;
      out.objects[o].bbox_min = box[o].first;
      out.objects[o].bbox_max = box[o].second;
    }
  }
};

}  // namespace

Mesh loadScene(const std::string& path, const GltfLoadOptions& options) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext != ".glb" && ext != ".gltf")
    throw fail(path, "unsupported scene format (want .glb or .gltf)");
  const std::vector<unsigned char> bytes = readFile(path);
  tinygltf::TinyGLTF gltf;
  gltf.SetImageLoader(tolerantImageLoader, nullptr);
  tinygltf::Model model;
  std::string err, warn;
  const std::string base_dir = fs::path(path).parent_path().string();
  bool ok = false;
  if (ext == ".glb") validateGlb(bytes, path);
  try {
    // tinygltf itself throws on some malformed input (std::out_of_range from a bounds-checked
    // lookup, nlohmann's type errors): one line naming the file, like every other problem.
    if (ext == ".glb") {
      ok = gltf.LoadBinaryFromMemory(&model, &err, &warn, bytes.data(),
                                     static_cast<unsigned int>(bytes.size()), base_dir);
    } else {
      ok = gltf.LoadASCIIFromString(&model, &err, &warn, reinterpret_cast<const char*>(bytes.data()),
                                    static_cast<unsigned int>(bytes.size()), base_dir);
    }
  } catch (const std::exception& e) {
    throw fail(path, "invalid glTF: " + oneLine(e.what()));
  }
  if (!ok) throw fail(path, "invalid glTF: " + oneLine(err.empty() ? "unknown error" : err));
  if (!warn.empty()) spdlog::debug("{}: {}", path, oneLine(warn));

  const bool z_up = options.up_axis == GltfLoadOptions::UpAxis::Z ||
                    (options.up_axis == GltfLoadOptions::UpAxis::Auto && ext == ".glb");
  Loader ld{model, path, z_up, {}, {}, false, {}};
  ld.materialsAndTextures();
  const int scene = model.defaultScene >= 0 ? model.defaultScene : (model.scenes.empty() ? -1 : 0);
  if (scene >= static_cast<int>(model.scenes.size()))
    throw fail(path, "default scene does not exist");
  std::vector<int> roots;
  if (scene >= 0) {
    roots = model.scenes[scene].nodes;
    ld.rooms(model.scenes[scene].extras);
  } else {
    // No scenes: every node that is nobody's child is a root.
    std::vector<bool> is_child(model.nodes.size(), false);
    for (const auto& n : model.nodes)
      for (int c : n.children)
        if (c >= 0 && c < static_cast<int>(is_child.size())) is_child[c] = true;
    for (size_t i = 0; i < model.nodes.size(); ++i)
      if (!is_child[i]) roots.push_back(static_cast<int>(i));
  }
  for (int r : roots) ld.node(r, identity(), -1, 0);
  if (ld.any_uvs) ld.out.uvs = std::move(ld.uvs);
  ld.objectBoxes();
  spdlog::debug("{}: {} triangles, {} materials, {} textures, {} objects", path,
                ld.out.numTriangles(), ld.out.materials.size(), ld.out.textures.size(),
                ld.out.objects.size());
  return std::move(ld.out);
}

namespace {

using nlohmann::json;

json vec3Json(const Vec3& v) { return json::array({v.x, v.y, v.z}); }

struct GlbWriter {
  json doc;
  std::string bin;

  int addView(const void* data, size_t n, int target) {
    while (bin.size() % 4) bin.push_back('\0');
    json v = {{"buffer", 0}, {"byteOffset", bin.size()}, {"byteLength", n}};
    if (target) v["target"] = target;
    bin.append(static_cast<const char*>(data), n);
    doc["bufferViews"].push_back(v);
    return static_cast<int>(doc["bufferViews"].size()) - 1;
  }

  int addAccessor(int view, int ctype, size_t count, const char* type,
                  json extra = json::object()) {
    json a = {{"bufferView", view}, {"componentType", ctype}, {"count", count}, {"type", type}};
    a.update(extra);
    doc["accessors"].push_back(a);
    return static_cast<int>(doc["accessors"].size()) - 1;
  }
};

void appendPng(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(ctx);
  out->insert(out->end(), static_cast<unsigned char*>(data),
              static_cast<unsigned char*>(data) + size);
}

void writeAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw fail(path, "cannot write GLB");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      throw fail(path, "cannot write GLB");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw fail(path, "cannot rename the temporary GLB into place");
  }
}

}  // namespace

void saveGlb(const Mesh& mesh, const std::string& path) {
  const size_t ntris = mesh.numTriangles();
  if (mesh.indices.size() % 3 || mesh.triangle_material.size() != ntris ||
      mesh.triangle_object.size() != ntris)
    throw fail(path, "inconsistent mesh (" + std::to_string(ntris) + " triangles, " +
                         std::to_string(mesh.triangle_material.size()) + " materials, " +
                         std::to_string(mesh.triangle_object.size()) + " object ids)");
  if (!mesh.uvs.empty() && mesh.uvs.size() != mesh.positions.size())
    throw fail(path, "mesh has uvs for only some vertices");
  for (uint32_t i : mesh.indices)
    if (i >= mesh.positions.size()) throw fail(path, "mesh index out of range");
  for (size_t t = 0; t < ntris; ++t) {
    if (mesh.triangle_material[t] >= static_cast<int>(mesh.materials.size()) ||
        mesh.triangle_object[t] >= static_cast<int>(mesh.objects.size()))
      throw fail(path, "triangle " + std::to_string(t) + " refers to a missing material/object");
  }

  GlbWriter w;
  w.doc["asset"] = {{"version", "2.0"}, {"generator", "streamvln-rl saveGlb"}};
  w.doc["bufferViews"] = json::array();
  w.doc["accessors"] = json::array();

  // Textures as PNG images, one glTF texture per image so indices survive a round trip.
  if (!mesh.textures.empty()) {
    w.doc["samplers"] = json::array(
        {{{"magFilter", 9729}, {"minFilter", 9987}, {"wrapS", 10497}, {"wrapT", 10497}}});
    for (size_t i = 0; i < mesh.textures.size(); ++i) {
      const Texture& t = mesh.textures[i];
      if (t.width <= 0 || t.height <= 0 || t.rgb.size() != size_t(t.width) * t.height * 3)
        throw fail(path, "texture " + std::to_string(i) + " has inconsistent size");
      std::vector<unsigned char> png;
      if (!stbi_write_png_to_func(appendPng, &png, t.width, t.height, 3, t.rgb.data(), t.width * 3))
        throw fail(path, "could not encode texture " + std::to_string(i) + " as PNG");
      const int view = w.addView(png.data(), png.size(), 0);
      w.doc["images"].push_back({{"bufferView", view}, {"mimeType", "image/png"}});
      w.doc["textures"].push_back({{"source", i}, {"sampler", 0}});
    }
  }
  for (const Material& m : mesh.materials) {
    json pbr = {{"baseColorFactor", {m.base_color.x, m.base_color.y, m.base_color.z, 1.0}},
                {"metallicFactor", 0.0},
                {"roughnessFactor", 1.0}};
    if (m.texture >= 0) {
      if (m.texture >= static_cast<int>(mesh.textures.size()))
        throw fail(path, "material '" + m.name + "' refers to a missing texture");
      pbr["baseColorTexture"] = {{"index", m.texture}};
    }
    w.doc["materials"].push_back({{"name", m.name}, {"pbrMetallicRoughness", pbr}});
  }

  // Triangles grouped by object (objects in order, then the unassigned ones), then by
  // material in ascending order, each group with its own compact vertex range.
  const int nobj = static_cast<int>(mesh.objects.size());
  std::vector<std::map<int, std::vector<uint32_t>>> groups(nobj + 1);
  for (size_t t = 0; t < ntris; ++t) {
    const int o = mesh.triangle_object[t];
    groups[o < 0 ? nobj : o][mesh.triangle_material[t]].push_back(static_cast<uint32_t>(t));
  }
  json nodes = json::array(), meshes = json::array();
  for (int o = 0; o <= nobj; ++o) {
    json prims = json::array();
    for (const auto& [material, tris] : groups[o]) {
      std::unordered_map<uint32_t, uint32_t> remap;
      std::vector<float> pos, uv;
      std::vector<uint32_t> idx;
      const float inf = std::numeric_limits<float>::infinity();
      Vec3 lo{inf, inf, inf}, hi{-inf, -inf, -inf};
      for (uint32_t t : tris) {
        for (int k = 0; k < 3; ++k) {
          const uint32_t v = mesh.indices[3 * t + k];
          auto [it, fresh] = remap.emplace(v, static_cast<uint32_t>(remap.size()));
          if (fresh) {
            const Vec3 p = yUpToZUp(mesh.positions[v]);
            pos.insert(pos.end(), {p.x, p.y, p.z});
            lo = vmin(lo, p);
            hi = vmax(hi, p);
            if (!mesh.uvs.empty()) uv.insert(uv.end(), {mesh.uvs[v].u, mesh.uvs[v].v});
          }
          idx.push_back(it->second);
        }
      }
      json attrs;
      const int pv = w.addView(pos.data(), pos.size() * 4, 34962);
      attrs["POSITION"] = w.addAccessor(pv, TINYGLTF_COMPONENT_TYPE_FLOAT, remap.size(), "VEC3",
                                        {{"min", vec3Json(lo)}, {"max", vec3Json(hi)}});
      if (!uv.empty()) {
        const int uvv = w.addView(uv.data(), uv.size() * 4, 34962);
        attrs["TEXCOORD_0"] =
            w.addAccessor(uvv, TINYGLTF_COMPONENT_TYPE_FLOAT, remap.size(), "VEC2");
      }
      const int iv = w.addView(idx.data(), idx.size() * 4, 34963);
      json prim = {{"attributes", attrs},
                   {"indices",
                    w.addAccessor(iv, TINYGLTF_COMPONENT_TYPE_UNSIGNED_INT, idx.size(), "SCALAR")},
                   {"mode", kModeTriangles}};
      if (material >= 0) prim["material"] = material;
      prims.push_back(prim);
    }
    json node = json::object();
    if (o < nobj) {
      const SceneObject& so = mesh.objects[o];
      node["name"] = so.name;
      node["extras"] = {{"category", so.category},
                        {"room", so.room},
                        {"bbox_min", vec3Json(so.bbox_min)},
                        {"bbox_max", vec3Json(so.bbox_max)}};
    } else if (prims.empty()) {
      continue;  // no unassigned triangles
    }
    if (!prims.empty()) {
      json m = {{"primitives", prims}};
      if (o < nobj) m["name"] = mesh.objects[o].name;
      meshes.push_back(m);
      node["mesh"] = meshes.size() - 1;
    }
    nodes.push_back(node);
  }
  json scene_nodes = json::array();
  for (size_t i = 0; i < nodes.size(); ++i) scene_nodes.push_back(i);
  json rooms = json::array();
  for (const Room& r : mesh.rooms)
    rooms.push_back(
        {{"name", r.name}, {"bbox_min", vec3Json(r.bbox_min)}, {"bbox_max", vec3Json(r.bbox_max)}});
  json scene = {{"nodes", scene_nodes}};
  // Metadata (object/room boxes) is in the simulator's Y-up frame; geometry is Z-up.
  scene["extras"] = {{"rooms", rooms}, {"metadata_frame", "y_up"}};
  w.doc["scenes"] = json::array({scene});
  w.doc["scene"] = 0;
  w.doc["nodes"] = nodes;
  if (!meshes.empty()) w.doc["meshes"] = meshes;
  while (w.bin.size() % 4) w.bin.push_back('\0');
  if (!w.bin.empty()) w.doc["buffers"] = json::array({{{"byteLength", w.bin.size()}}});
  if (w.doc["bufferViews"].empty()) w.doc.erase("bufferViews");
  if (w.doc["accessors"].empty()) w.doc.erase("accessors");

  std::string js = w.doc.dump();
  while (js.size() % 4) js.push_back(' ');
  while (w.bin.size() % 4) w.bin.push_back('\0');
  std::string out;
  auto put32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  const bool has_bin = !w.bin.empty();
  const size_t total = 12 + 8 + js.size() + (has_bin ? 8 + w.bin.size() : 0);
  put32(kGlbMagic);
  put32(2);
  put32(static_cast<uint32_t>(total));
  put32(static_cast<uint32_t>(js.size()));
  put32(kChunkJson);
  out += js;
  if (has_bin) {
    put32(static_cast<uint32_t>(w.bin.size()));
    put32(kChunkBin);
    out += w.bin;
  }
  writeAtomically(path, out);
}

}  // namespace svln::sim
