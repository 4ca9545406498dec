#include "sim/procedural_scene.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace svln::sim {
namespace {

constexpr float kPi = 3.14159265358979323846f;

// ---------------------------------------------------------------------------------------
// Random numbers: our own mappings from raw 64-bit draws, because the std distributions
// differ between standard libraries and "same seed, same bytes" must hold everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double u01() { return static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0); }
  float uniform(float lo, float hi) { return lo + static_cast<float>(u01()) * (hi - lo); }
  // Integer in [lo, hi].
  int irange(int lo, int hi) {
    return lo + static_cast<int>(gen_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(float p) { return u01() < p; }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (int i = static_cast<int>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[irange(0, i)]);
  }

 private:
  std::mt19937_64 gen_;
};

float snap5cm(float x) { return std::round(x * 20.f) / 20.f; }

float srgbToLinear(float c) {
  return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f);
}
Vec3 linearFromSrgb(const Vec3& c) {
  return {srgbToLinear(c.x), srgbToLinear(c.y), srgbToLinear(c.z)};
}

// ---------------------------------------------------------------------------------------
// Colours (sRGB). Furniture colours carry the names the instructions use.
struct NamedColor {
  const char* name;
  Vec3 srgb;
};
const std::vector<NamedColor>& furnitureColors() {
  static const std::vector<NamedColor> colors = {
      {"red", {0.75f, 0.12f, 0.12f}},    {"blue", {0.15f, 0.28f, 0.75f}},
      {"green", {0.18f, 0.55f, 0.22f}},  {"yellow", {0.92f, 0.80f, 0.18f}},
      {"white", {0.93f, 0.93f, 0.91f}},  {"black", {0.08f, 0.08f, 0.09f}},
      {"brown", {0.45f, 0.28f, 0.14f}},  {"grey", {0.52f, 0.52f, 0.54f}},
      {"orange", {0.93f, 0.50f, 0.12f}}, {"purple", {0.48f, 0.20f, 0.60f}},
      {"pink", {0.93f, 0.55f, 0.66f}},   {"beige", {0.85f, 0.78f, 0.62f}},
      {"teal", {0.10f, 0.52f, 0.52f}},
  };
  return colors;
}
Vec3 colorByName(const std::string& name) {
  for (const NamedColor& c : furnitureColors())
    if (name == c.name) return c.srgb;
  return {0.5f, 0.5f, 0.5f};
}

// Wall paints and floor finishes, picked without repetition inside one apartment.
const std::vector<Vec3>& wallPaints() {
  static const std::vector<Vec3> paints = {
      {0.95f, 0.92f, 0.84f}, {0.78f, 0.86f, 0.93f}, {0.80f, 0.90f, 0.78f}, {0.85f, 0.85f, 0.86f},
      {0.96f, 0.82f, 0.72f}, {0.84f, 0.78f, 0.92f}, {0.98f, 0.97f, 0.95f}, {0.90f, 0.83f, 0.68f},
      {0.74f, 0.92f, 0.88f}, {0.93f, 0.76f, 0.78f},
  };
  return paints;
}
enum class FloorKind { Wood, Tile, Carpet };
struct FloorFinish {
  FloorKind kind;
  Vec3 srgb;
  Vec3 srgb_alt;  // second tile tone / unused
};
const std::vector<FloorFinish>& floorFinishes() {
  static const std::vector<FloorFinish> f = {
      {FloorKind::Wood, {0.62f, 0.42f, 0.24f}, {}},
      {FloorKind::Wood, {0.80f, 0.64f, 0.42f}, {}},
      {FloorKind::Wood, {0.40f, 0.26f, 0.15f}, {}},
      {FloorKind::Wood, {0.70f, 0.60f, 0.50f}, {}},
      {FloorKind::Tile, {0.90f, 0.90f, 0.88f}, {0.30f, 0.32f, 0.36f}},
      {FloorKind::Tile, {0.72f, 0.82f, 0.88f}, {0.92f, 0.94f, 0.96f}},
      {FloorKind::Tile, {0.75f, 0.45f, 0.30f}, {0.82f, 0.55f, 0.38f}},
      {FloorKind::Tile, {0.58f, 0.58f, 0.55f}, {0.70f, 0.70f, 0.66f}},
      {FloorKind::Carpet, {0.55f, 0.20f, 0.22f}, {}},
      {FloorKind::Carpet, {0.25f, 0.35f, 0.55f}, {}},
      {FloorKind::Carpet, {0.60f, 0.60f, 0.52f}, {}},
      {FloorKind::Carpet, {0.35f, 0.48f, 0.32f}, {}},
  };
  return f;
}
std::vector<FloorKind> floorKindsFor(const std::string& room_type) {
  if (room_type == "kitchen" || room_type == "bathroom") return {FloorKind::Tile};
  if (room_type == "bedroom" || room_type == "guest bedroom")
    return {FloorKind::Carpet, FloorKind::Wood};
  if (room_type == "hallway" || room_type == "dining room")
    return {FloorKind::Wood, FloorKind::Tile};
  return {FloorKind::Wood, FloorKind::Carpet};
}

// ---------------------------------------------------------------------------------------
// Procedural textures (sRGB bytes). Integer hashing keeps them platform independent.
uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
float hashUnit(uint32_t a, uint32_t b, uint32_t salt) {
  return static_cast<float>(hash32(a * 73856093U ^ b * 19349663U ^ salt) & 0xffffffU) / 16777215.f;
}
uint8_t toByte(float c) {
  return static_cast<uint8_t>(std::lround(std::min(std::max(c, 0.f), 1.f) * 255.f));
}

Texture makeFloorTexture(const FloorFinish& f, int n, uint32_t salt) {
  Texture t;
  t.width = t.height = n;
  t.rgb.resize(static_cast<size_t>(n) * n * 3);
  const int planks = 4, tiles = 4;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      float shade = 1.f;
      Vec3 base = f.srgb;
      if (f.kind == FloorKind::Wood) {
        // Planks run along u; each has its own tone and a sinusoidal grain.
        const int plank = y * planks / n;
        const int offset = static_cast<int>(hashUnit(plank, 7, salt) * n);
        const float tone = 0.85f + 0.3f * hashUnit(plank, 3, salt);
        const float grain = 0.06f * std::sin(2 * kPi * (((x + offset) % n) * 3.f / n) +
                                             4.f * hashUnit(plank, 11, salt) + 0.4f * y);
        const bool seam = (y * planks) % n < planks || (x + offset) % n == 0;
        shade = seam ? 0.6f : tone + grain;
      } else if (f.kind == FloorKind::Tile) {
        const int tx = x * tiles / n, ty = y * tiles / n;
        const bool grout = (x * tiles) % n < tiles || (y * tiles) % n < tiles;
        if (grout) {
          base = {0.80f, 0.80f, 0.78f};
        } else if ((tx + ty) % 2 == 1) {
          base = f.srgb_alt;
        }
        shade = grout ? 1.f : 0.95f + 0.1f * hashUnit(tx, ty, salt);
      } else {
        shade = 0.88f + 0.24f * hashUnit(x, y, salt);
      }
      uint8_t* px = &t.rgb[(static_cast<size_t>(y) * n + x) * 3];
      px[0] = toByte(base.x * shade);
      px[1] = toByte(base.y * shade);
      px[2] = toByte(base.z * shade);
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// Geometry helpers. Every face is emitted with its outward normal given, and its winding
// fixed to be counter-clockwise seen from outside (glTF front faces, Recast's "up").
struct Rect {
  float x0, z0, x1, z1;
  bool overlaps(const Rect& o, float gap = 0.f) const {
    return x0 < o.x1 + gap && o.x0 < x1 + gap && z0 < o.z1 + gap && o.z0 < z1 + gap;
  }
  bool inside(const Rect& o) const { return x0 >= o.x0 && z0 >= o.z0 && x1 <= o.x1 && z1 <= o.z1; }
  Rect inflated(float d) const { return {x0 - d, z0 - d, x1 + d, z1 + d}; }
};

class Builder {
 public:
  explicit Builder(Mesh& m) : m_(m) {}

  int material(const std::string& name, const Vec3& srgb, int texture = -1) {
    auto it = material_ids_.find(name);
    if (it != material_ids_.end()) return it->second;
    Material mat;
    mat.name = name;
    mat.base_color = texture >= 0 ? Vec3{1.f, 1.f, 1.f} : linearFromSrgb(srgb);
    mat.texture = texture;
    m_.materials.push_back(mat);
    const int id = static_cast<int>(m_.materials.size()) - 1;
    material_ids_[name] = id;
    return id;
  }
  int texture(Texture t) {
    m_.textures.push_back(std::move(t));
    return static_cast<int>(m_.textures.size()) - 1;
  }

  // Triangles emitted between begin and end belong to the object; its bbox covers them.
  int beginObject(const std::string& name, const std::string& category, const std::string& room) {
    SceneObject o;
    o.name = name;
    o.category = category;
    o.room = room;
    m_.objects.push_back(o);
    object_ = static_cast<int>(m_.objects.size()) - 1;
    first_vertex_ = m_.positions.size();
    return object_;
  }
  void endObject() {
    SceneObject& o = m_.objects[object_];
    const float inf = 1e30f;
    o.bbox_min = {inf, inf, inf};
    o.bbox_max = {-inf, -inf, -inf};
    for (size_t i = first_vertex_; i < m_.positions.size(); ++i) {
      o.bbox_min = vmin(o.bbox_min, m_.positions[i]);
      o.bbox_max = vmax(o.bbox_max, m_.positions[i]);
    }
    object_ = -1;
  }

  void triangle(const Vec3& a, const Vec3& b, const Vec3& c, const Vec3& outward, int mat,
                const Vec2& ua = {}, const Vec2& ub = {}, const Vec2& uc = {}) {
    const auto base = static_cast<uint32_t>(m_.positions.size());
    const bool flip = dot(cross(b - a, c - a), outward) < 0;
    m_.positions.push_back(a);
    m_.positions.push_back(flip ? c : b);
    m_.positions.push_back(flip ? b : c);
    m_.uvs.push_back(ua);
    m_.uvs.push_back(flip ? uc : ub);
    m_.uvs.push_back(flip ? ub : uc);
    m_.indices.insert(m_.indices.end(), {base, base + 1, base + 2});
    m_.triangle_material.push_back(mat);
    m_.triangle_object.push_back(object_);
  }
  // Quad a-b-c-d in order around its edge.
  void quad(const Vec3& a, const Vec3& b, const Vec3& c, const Vec3& d, const Vec3& outward,
            int mat, const std::array<Vec2, 4>& uv = {}) {
    triangle(a, b, c, outward, mat, uv[0], uv[1], uv[2]);
    triangle(a, c, d, outward, mat, uv[0], uv[2], uv[3]);
  }
  void box(const Vec3& lo, const Vec3& hi, int mat) {
    const Vec3 p[8] = {{lo.x, lo.y, lo.z}, {hi.x, lo.y, lo.z}, {hi.x, lo.y, hi.z},
                       {lo.x, lo.y, hi.z}, {lo.x, hi.y, lo.z}, {hi.x, hi.y, lo.z},
                       {hi.x, hi.y, hi.z}, {lo.x, hi.y, hi.z}};
    quad(p[4], p[5], p[6], p[7], {0, 1, 0}, mat);   // top
    quad(p[0], p[1], p[2], p[3], {0, -1, 0}, mat);  // bottom
    quad(p[0], p[1], p[5], p[4], {0, 0, -1}, mat);
    quad(p[3], p[2], p[6], p[7], {0, 0, 1}, mat);
    quad(p[0], p[3], p[7], p[4], {-1, 0, 0}, mat);
    quad(p[1], p[2], p[6], p[5], {1, 0, 0}, mat);
  }
  // Frustum about the vertical axis through `base` (radius r0 at the bottom, r1 on top).
  void cylinder(const Vec3& base, float r0, float r1, float h, int mat, int segments = 12) {
    const Vec3 top = base + Vec3{0, h, 0};
    for (int i = 0; i < segments; ++i) {
      const float a0 = 2 * kPi * i / segments, a1 = 2 * kPi * (i + 1) / segments;
      const Vec3 d0{std::cos(a0), 0, std::sin(a0)}, d1{std::cos(a1), 0, std::sin(a1)};
      const Vec3 mid = normalize(d0 + d1);
      quad(base + d0 * r0, base + d1 * r0, top + d1 * r1, top + d0 * r1, mid, mat);
      if (r1 > 0) triangle(top, top + d0 * r1, top + d1 * r1, {0, 1, 0}, mat);
      if (r0 > 0) triangle(base, base + d0 * r0, base + d1 * r0, {0, -1, 0}, mat);
    }
  }
  // Low-poly ellipsoid (radii r.x, r.y, r.z).
  void ellipsoid(const Vec3& c, const Vec3& r, int mat, int stacks = 5, int slices = 10) {
    auto point = [&](int i, int j) {
      const float th = kPi * i / stacks, ph = 2 * kPi * j / slices;
      return Vec3{c.x + r.x * std::sin(th) * std::cos(ph), c.y + r.y * std::cos(th),
                  c.z + r.z * std::sin(th) * std::sin(ph)};
    };
    for (int i = 0; i < stacks; ++i) {
      for (int j = 0; j < slices; ++j) {
        const Vec3 a = point(i, j), b = point(i + 1, j), cc = point(i + 1, j + 1),
                   d = point(i, j + 1);
        const Vec3 out = normalize((a + b + cc + d) * 0.25f - c);
        if (i > 0) triangle(a, b, d, out, mat);
        if (i < stacks - 1) triangle(b, cc, d, out, mat);
      }
    }
  }

 private:
  Mesh& m_;
  std::map<std::string, int> material_ids_;
  int object_ = -1;
  size_t first_vertex_ = 0;
};

// A footprint placed in a room: local x runs along the wall (width), local z away from it
// (depth, "front" = +z), origin at the footprint's centre on the floor.
struct Frame {
  Vec3 origin;
  Vec3 right;  // world direction of local +x
  Vec3 front;  // world direction of local +z
  Vec3 at(float lx, float ly, float lz) const {
    return origin + right * lx + front * lz + Vec3{0, ly, 0};
  }
  // World-space box from a local box (rotations are multiples of 90 degrees).
  void box(Builder& b, float x0, float y0, float z0, float x1, float y1, float z1, int mat) const {
    const Vec3 p = at(x0, y0, z0), q = at(x1, y1, z1);
    b.box(vmin(p, q), vmax(p, q), mat);
  }
};

// ---------------------------------------------------------------------------------------
// Furniture. Each builder draws one unit (which may hold several objects) in its frame.
struct Palette {
  Builder& b;
  int color(const std::string& name) { return b.material(name, colorByName(name)); }
  int wood() { return b.material("wood", {0.55f, 0.38f, 0.22f}); }
  int dark() { return b.material("dark", {0.12f, 0.12f, 0.13f}); }
  int metal() { return b.material("metal", {0.70f, 0.72f, 0.75f}); }
  int porcelain() { return b.material("porcelain", {0.96f, 0.96f, 0.95f}); }
  int foliage() { return b.material("foliage", {0.20f, 0.50f, 0.18f}); }
  int soil() { return b.material("soil", {0.30f, 0.20f, 0.12f}); }
  int screen() { return b.material("screen", {0.03f, 0.03f, 0.05f}); }
  int fabric() { return b.material("linen", {0.90f, 0.88f, 0.84f}); }
};

struct UnitContext {
  Builder& b;
  Palette& pal;
  Rng& rng;
  std::string room;
  // Picks a colour so that "<colour> <category>" is new in the apartment when possible.
  std::function<std::string(const std::string& category, const std::vector<std::string>&)>
      pick_color;
};

void drawLegs(const Frame& f, Builder& b, float w, float d, float h, float leg, int mat) {
  for (int sx : {-1, 1}) {
    for (int sz : {-1, 1}) {
      const float cx = sx * (w / 2 - leg / 2), cz = sz * (d / 2 - leg / 2);
      f.box(b, cx - leg / 2, 0, cz - leg / 2, cx + leg / 2, h, cz + leg / 2, mat);
    }
  }
}

void drawTable(const Frame& f, UnitContext& c, float w, float d, float h,
               const std::string& category) {
  const std::string col = c.pick_color(category, {"brown", "white", "black", "grey", "beige"});
  c.b.beginObject(col + " " + category, category, c.room);
  const int m = c.pal.color(col);
  f.box(c.b, -w / 2, h - 0.04f, -d / 2, w / 2, h, d / 2, m);
  drawLegs(f, c.b, w, d, h - 0.04f, 0.06f, m);
  c.b.endObject();
}

void drawChair(const Frame& f, Builder& b, int mat) {
  const float s = 0.44f;
  f.box(b, -s / 2, 0.42f, -s / 2, s / 2, 0.47f, s / 2, mat);
  drawLegs(f, b, s, s, 0.42f, 0.04f, mat);
  // The backrest is on the local -z side, away from what the chair faces.
  f.box(b, -s / 2, 0.47f, -s / 2, s / 2, 0.92f, -s / 2 + 0.05f, mat);
}

// A table with chairs on its long sides, all one unit. Footprint w x d.
void drawDiningSet(const Frame& f, UnitContext& c, float w, float d) {
  const float table_d = d - 1.0f;
  drawTable(f, c, w, table_d, 0.75f, "dining table");
  const std::string col =
      c.pick_color("chair", {"black", "white", "red", "blue", "green", "brown", "grey"});
  const int m = c.pal.color(col);
  const int per_side = w >= 1.4f ? 2 : 1;
  // One object per chair: they share a name, so none of them is used as a landmark.
  for (int side : {-1, 1}) {
    for (int i = 0; i < per_side; ++i) {
      const float x = per_side == 1 ? 0.f : (i == 0 ? -w / 4 : w / 4);
      const float z = side * (table_d / 2 + 0.22f);
      // Chairs face the table: their local front points back towards the centre.
      Frame cf{f.at(x, 0, z), f.right * static_cast<float>(-side),
               f.front * static_cast<float>(-side)};
      c.b.beginObject(col + " chair", "chair", c.room);
      drawChair(cf, c.b, m);
      c.b.endObject();
    }
  }
}

void drawDeskSet(const Frame& f, UnitContext& c, float w, float d) {
  const float desk_d = d - 0.55f;
  const Frame df{f.at(0, 0, -d / 2 + desk_d / 2), f.right, f.front};
  const std::string col = c.pick_color("desk", {"brown", "white", "black", "grey"});
  c.b.beginObject(col + " desk", "desk", c.room);
  const int m = c.pal.color(col);
  df.box(c.b, -w / 2, 0.72f, -desk_d / 2, w / 2, 0.76f, desk_d / 2, m);
  df.box(c.b, -w / 2, 0, -desk_d / 2, -w / 2 + 0.05f, 0.72f, desk_d / 2, m);
  df.box(c.b, w / 2 - 0.05f, 0, -desk_d / 2, w / 2, 0.72f, desk_d / 2, m);
  // A closed laptop and a monitor make it read as a desk from afar.
  df.box(c.b, -0.25f, 0.76f, -desk_d / 2 + 0.05f, 0.25f, 1.1f, -desk_d / 2 + 0.09f, c.pal.screen());
  c.b.endObject();
  const std::string ccol = c.pick_color("office chair", {"black", "grey", "blue", "red"});
  c.b.beginObject(ccol + " office chair", "chair", c.room);
  // The chair sits in front of the desk, facing it (local front towards -z of the unit).
  Frame cf{f.at(0, 0, -d / 2 + desk_d + 0.27f), f.right * -1.f, f.front * -1.f};
  const int cm = c.pal.color(ccol);
  c.b.cylinder(cf.origin, 0.25f, 0.05f, 0.1f, c.pal.dark(), 8);
  c.b.cylinder(cf.origin, 0.04f, 0.04f, 0.45f, c.pal.metal(), 6);
  cf.box(c.b, -0.23f, 0.45f, -0.23f, 0.23f, 0.52f, 0.23f, cm);
  cf.box(c.b, -0.23f, 0.52f, -0.23f, 0.23f, 1.0f, -0.17f, cm);
  c.b.endObject();
}

using UnitDraw = std::function<void(const Frame&, UnitContext&, float w, float d)>;

struct UnitTemplate {
  std::string kind;  // for logs only
  float w_lo, w_hi, d_lo, d_hi;
  enum Placement { Wall, Center, Corner } placement;
  UnitDraw draw;
};

void named(UnitContext& c, const std::string& category, const std::vector<std::string>& cols,
           const std::function<void(int mat)>& body) {
  const std::string col = c.pick_color(category, cols);
  c.b.beginObject(col + " " + category, category, c.room);
  body(c.pal.color(col));
  c.b.endObject();
}

const std::vector<std::string> kAllColors = {"red",   "blue",  "green", "yellow", "white",
                                             "black", "brown", "grey",  "orange", "purple",
                                             "pink",  "beige", "teal"};
const std::vector<std::string> kWoodish = {"brown", "white", "black", "grey", "beige"};

UnitTemplate sofa() {
  return {"sofa",
          1.8f,
          2.2f,
          0.85f,
          0.95f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "sofa", kAllColors, [&](int m) {
              f.box(c.b, -w / 2, 0.1f, -d / 2, w / 2, 0.45f, d / 2, m);
              f.box(c.b, -w / 2, 0.45f, -d / 2, w / 2, 0.88f, -d / 2 + 0.22f, m);
              f.box(c.b, -w / 2, 0.45f, -d / 2, -w / 2 + 0.16f, 0.62f, d / 2, m);
              f.box(c.b, w / 2 - 0.16f, 0.45f, -d / 2, w / 2, 0.62f, d / 2, m);
              drawLegs(f, c.b, w - 0.1f, d - 0.1f, 0.1f, 0.05f, c.pal.dark());
            });
          }};
}
UnitTemplate armchair() {
  return {"armchair",
          0.8f,
          0.9f,
          0.8f,
          0.9f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "armchair", kAllColors, [&](int m) {
              f.box(c.b, -w / 2, 0.1f, -d / 2, w / 2, 0.42f, d / 2, m);
              f.box(c.b, -w / 2, 0.42f, -d / 2, w / 2, 1.0f, -d / 2 + 0.2f, m);
              f.box(c.b, -w / 2, 0.42f, -d / 2, -w / 2 + 0.14f, 0.65f, d / 2, m);
              f.box(c.b, w / 2 - 0.14f, 0.42f, -d / 2, w / 2, 0.65f, d / 2, m);
              drawLegs(f, c.b, w - 0.1f, d - 0.1f, 0.1f, 0.05f, c.pal.wood());
            });
          }};
}
UnitTemplate tv() {
  return {"tv",
          1.0f,
          1.5f,
          0.4f,
          0.5f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "tv", {"black", "white", "grey"}, [&](int m) {
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, 0.5f, d / 2, m);
              const float sw = w * 0.8f;
              f.box(c.b, -sw / 2, 0.55f, -0.04f, sw / 2, 0.55f + sw * 0.56f, 0.02f, m);
              f.box(c.b, -sw / 2 + 0.03f, 0.58f, 0.02f, sw / 2 - 0.03f, 0.52f + sw * 0.56f, 0.025f,
                    c.pal.screen());
              f.box(c.b, -0.05f, 0.5f, -0.05f, 0.05f, 0.56f, 0.02f, c.pal.dark());
            });
          }};
}
UnitTemplate coffeeTable() {
  return {"coffee table",
          1.0f,
          1.2f,
          0.5f,
          0.6f,
          UnitTemplate::Center,
          [](const Frame& f, UnitContext& c, float w, float d) {
            drawTable(f, c, w, d, 0.45f, "coffee table");
          }};
}
UnitTemplate shelf(const std::string& category, float h_lo, float h_hi) {
  return {category,
          0.8f,
          1.2f,
          0.3f,
          0.4f,
          UnitTemplate::Wall,
          [category, h_lo, h_hi](const Frame& f, UnitContext& c, float w, float d) {
            const float h = c.rng.uniform(h_lo, h_hi);
            named(c, category, kWoodish, [&](int m) {
              f.box(c.b, -w / 2, 0, -d / 2, -w / 2 + 0.03f, h, d / 2, m);
              f.box(c.b, w / 2 - 0.03f, 0, -d / 2, w / 2, h, d / 2, m);
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, h, -d / 2 + 0.02f, m);
              const int levels = std::max(2, static_cast<int>(h / 0.4f));
              for (int i = 0; i <= levels; ++i) {
                const float y = std::min(h - 0.03f, i * h / levels);
                f.box(c.b, -w / 2, y, -d / 2, w / 2, y + 0.03f, d / 2, m);
                if (i == levels) break;
                // A row of books per shelf, in a few colours.
                float x = -w / 2 + 0.05f;
                for (int k = 0; x < w / 2 - 0.15f && k < 8; ++k) {
                  const float bw = 0.04f + 0.06f * c.rng.uniform(0.f, 1.f);
                  const float bh = 0.18f + 0.12f * c.rng.uniform(0.f, 1.f);
                  const int bm = c.pal.color(kAllColors[c.rng.irange(0, 12)]);
                  f.box(c.b, x, y + 0.03f, -d / 2 + 0.04f, x + bw, y + 0.03f + bh, d / 2 - 0.06f,
                        bm);
                  x += bw + 0.01f;
                }
              }
            });
          }};
}
UnitTemplate plant() {
  return {"plant",
          0.4f,
          0.5f,
          0.4f,
          0.5f,
          UnitTemplate::Corner,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "potted plant", {"red", "white", "blue", "orange", "grey", "black", "yellow"},
                  [&](int m) {
                    const float r = std::min(w, d) / 2;
                    const float pot_h = c.rng.uniform(0.3f, 0.45f);
                    c.b.cylinder(f.origin, r * 0.6f, r * 0.8f, pot_h, m, 10);
                    const float fh = c.rng.uniform(0.5f, 1.1f);
                    c.b.ellipsoid(f.origin + Vec3{0, pot_h + fh * 0.5f, 0}, {r, fh * 0.55f, r},
                                  c.pal.foliage());
                  });
          }};
}
UnitTemplate lamp() {
  return {"lamp",
          0.4f,
          0.45f,
          0.4f,
          0.45f,
          UnitTemplate::Corner,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "lamp", {"white", "yellow", "red", "blue", "green", "orange", "beige", "pink"},
                  [&](int m) {
                    const float r = std::min(w, d) / 2;
                    c.b.cylinder(f.origin, r * 0.6f, r * 0.6f, 0.03f, c.pal.dark(), 10);
                    c.b.cylinder(f.origin, 0.02f, 0.02f, 1.45f, c.pal.metal(), 6);
                    c.b.cylinder(f.origin + Vec3{0, 1.3f, 0}, r, r * 0.55f, 0.35f, m, 12);
                  });
          }};
}
UnitTemplate boxy(const std::string& category, float w_lo, float w_hi, float d_lo, float d_hi,
                  float h_lo, float h_hi, std::vector<std::string> colors) {
  return {category,
          w_lo,
          w_hi,
          d_lo,
          d_hi,
          UnitTemplate::Wall,
          [=](const Frame& f, UnitContext& c, float w, float d) {
            const float h = c.rng.uniform(h_lo, h_hi);
            named(c, category, colors, [&](int m) {
              f.box(c.b, -w / 2, 0.05f, -d / 2, w / 2, h, d / 2, m);
              f.box(c.b, -w / 2 + 0.03f, 0, -d / 2 + 0.03f, w / 2 - 0.03f, 0.05f, d / 2 - 0.03f,
                    c.pal.dark());
              // Handles: doors of a cabinet/wardrobe/fridge, drawers of a dresser.
              const int handles = w > 0.9f ? 2 : 1;
              for (int i = 0; i < handles; ++i) {
                const float x = handles == 1 ? w / 4 : (i == 0 ? -0.05f : 0.05f);
                f.box(c.b, x - 0.015f, h * 0.45f, d / 2, x + 0.015f, h * 0.45f + 0.2f,
                      d / 2 + 0.03f, c.pal.metal());
              }
            });
          }};
}
UnitTemplate counter() {
  return {"counter",
          1.8f,
          2.6f,
          0.6f,
          0.65f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "counter", {"white", "grey", "brown", "blue", "green", "black"}, [&](int m) {
              f.box(c.b, -w / 2, 0.08f, -d / 2, w / 2, 0.86f, d / 2 - 0.03f, m);
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, 0.08f, d / 2 - 0.08f, c.pal.dark());
              f.box(c.b, -w / 2, 0.86f, -d / 2, w / 2, 0.9f, d / 2, c.pal.metal());
              // A drawer handle every 0.6 m.
              const int handles = static_cast<int>((w - 0.4f) / 0.6f) + 1;
              for (int i = 0; i < handles; ++i) {
                const float x = -w / 2 + 0.3f + 0.6f * i;
                f.box(c.b, x - 0.1f, 0.75f, d / 2 - 0.03f, x + 0.1f, 0.77f, d / 2, c.pal.metal());
              }
            });
          }};
}
UnitTemplate stove() {
  return {"stove",
          0.6f,
          0.75f,
          0.6f,
          0.62f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "stove", {"white", "black", "grey"}, [&](int m) {
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, 0.9f, d / 2, m);
              f.box(c.b, -w / 2 + 0.05f, 0.15f, d / 2, w / 2 - 0.05f, 0.6f, d / 2 + 0.01f,
                    c.pal.screen());
              for (int sx : {-1, 1})
                for (int sz : {-1, 1})
                  c.b.cylinder(f.at(sx * w / 4, 0.9f, sz * d / 4), 0.09f, 0.09f, 0.015f,
                               c.pal.dark(), 10);
            });
          }};
}
UnitTemplate sink(float w_lo, float w_hi, float d) {
  return {"sink",
          w_lo,
          w_hi,
          d,
          d,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float dd) {
            named(c, "sink", {"white", "grey", "blue", "beige"}, [&](int m) {
              f.box(c.b, -w / 2, 0, -dd / 2, w / 2, 0.82f, dd / 2, m);
              c.b.cylinder(f.at(0, 0.82f, 0), 0.2f, 0.24f, 0.06f, c.pal.porcelain(), 12);
              c.b.cylinder(f.at(0, 0.82f, -dd / 2 + 0.06f), 0.02f, 0.02f, 0.3f, c.pal.metal(), 6);
            });
          }};
}
UnitTemplate toilet() {
  return {"toilet",
          0.45f,
          0.5f,
          0.7f,
          0.72f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "toilet", {"white", "beige", "black", "grey"}, [&](int m) {
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, 0.8f, -d / 2 + 0.2f, m);
              c.b.cylinder(f.at(0, 0, 0.08f), 0.15f, 0.2f, 0.4f, m, 12);
              c.b.cylinder(f.at(0, 0.4f, 0.08f), 0.21f, 0.21f, 0.03f, c.pal.porcelain(), 12);
            });
          }};
}
UnitTemplate bathtub() {
  return {"bathtub",
          1.5f,
          1.7f,
          0.75f,
          0.8f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "bathtub", {"white", "beige", "pink", "blue"}, [&](int m) {
              const float h = 0.55f, t = 0.08f;
              f.box(c.b, -w / 2, 0, -d / 2, w / 2, 0.12f, d / 2, m);
              f.box(c.b, -w / 2, 0.12f, -d / 2, w / 2, h, -d / 2 + t, m);
              f.box(c.b, -w / 2, 0.12f, d / 2 - t, w / 2, h, d / 2, m);
              f.box(c.b, -w / 2, 0.12f, -d / 2 + t, -w / 2 + t, h, d / 2 - t, m);
              f.box(c.b, w / 2 - t, 0.12f, -d / 2 + t, w / 2, h, d / 2 - t, m);
              f.box(c.b, -w / 2 + t, 0.12f, -d / 2 + t, w / 2 - t, 0.13f, d / 2 - t,
                    c.b.material("water", {0.55f, 0.75f, 0.9f}));
            });
          }};
}
UnitTemplate bed(float w_lo, float w_hi) {
  return {"bed",
          w_lo,
          w_hi,
          2.0f,
          2.1f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "bed", kAllColors, [&](int m) {
              const int wood = c.pal.wood();
              f.box(c.b, -w / 2, 0.1f, -d / 2, w / 2, 0.35f, d / 2, wood);
              drawLegs(f, c.b, w, d, 0.1f, 0.06f, wood);
              f.box(c.b, -w / 2, 0.1f, -d / 2, w / 2, 1.0f, -d / 2 + 0.06f, wood);
              f.box(c.b, -w / 2 + 0.03f, 0.35f, -d / 2 + 0.06f, w / 2 - 0.03f, 0.5f, d / 2 - 0.02f,
                    c.pal.fabric());
              // Blanket over the lower two thirds, in the bed's named colour.
              f.box(c.b, -w / 2 + 0.01f, 0.5f, -d / 2 + 0.65f, w / 2 - 0.01f, 0.55f, d / 2, m);
              const int pillows = w > 1.2f ? 2 : 1;
              for (int i = 0; i < pillows; ++i) {
                const float x0 = -w / 2 + 0.08f + i * (w - 0.16f) / pillows;
                const float x1 = x0 + (w - 0.16f) / pillows - 0.06f;
                f.box(c.b, x0, 0.5f, -d / 2 + 0.1f, x1, 0.62f, -d / 2 + 0.45f, c.pal.porcelain());
              }
            });
          }};
}
UnitTemplate bench() {
  return {"bench",
          1.0f,
          1.4f,
          0.38f,
          0.42f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) {
            named(c, "bench", kWoodish, [&](int m) {
              f.box(c.b, -w / 2, 0.4f, -d / 2, w / 2, 0.46f, d / 2, m);
              f.box(c.b, -w / 2, 0, -d / 2, -w / 2 + 0.05f, 0.4f, d / 2, m);
              f.box(c.b, w / 2 - 0.05f, 0, -d / 2, w / 2, 0.4f, d / 2, m);
            });
          }};
}
UnitTemplate diningSet(float w_lo, float w_hi) {
  return {"dining set",
          w_lo,
          w_hi,
          1.8f,
          1.9f,
          UnitTemplate::Center,
          [](const Frame& f, UnitContext& c, float w, float d) { drawDiningSet(f, c, w, d); }};
}
UnitTemplate deskSet() {
  return {"desk set",
          1.2f,
          1.4f,
          1.15f,
          1.25f,
          UnitTemplate::Wall,
          [](const Frame& f, UnitContext& c, float w, float d) { drawDeskSet(f, c, w, d); }};
}

struct UnitChoice {
  UnitTemplate unit;
  float probability;
};

std::vector<UnitChoice> furnitureFor(const std::string& type) {
  const UnitTemplate cabinet = boxy("cabinet", 0.6f, 1.0f, 0.4f, 0.5f, 0.9f, 1.2f,
                                    {"white", "brown", "grey", "black", "blue", "green"});
  if (type == "living room")
    return {{sofa(), 1.f},
            {tv(), 0.9f},
            {coffeeTable(), 0.8f},
            {armchair(), 0.6f},
            {shelf("bookshelf", 1.8f, 2.0f), 0.5f},
            {plant(), 0.7f},
            {lamp(), 0.6f}};
  if (type == "kitchen")
    return {{counter(), 1.f},
            {boxy("fridge", 0.7f, 0.8f, 0.68f, 0.72f, 1.8f, 1.9f,
                  {"white", "grey", "black", "red", "blue"}),
             1.f},
            {stove(), 0.9f},
            {sink(0.8f, 1.0f, 0.6f), 0.9f},
            {diningSet(1.0f, 1.2f), 0.4f},
            {plant(), 0.3f}};
  if (type == "bedroom" || type == "guest bedroom") {
    std::vector<UnitChoice> v = {
        {type == "bedroom" ? bed(1.4f, 1.8f) : bed(0.9f, 1.3f), 1.f},
        {boxy("nightstand", 0.45f, 0.5f, 0.4f, 0.42f, 0.5f, 0.6f, kWoodish), 0.8f},
        {boxy("wardrobe", 1.0f, 1.6f, 0.6f, 0.62f, 1.9f, 2.1f, kWoodish), 0.8f},
        {boxy("dresser", 1.0f, 1.2f, 0.48f, 0.52f, 0.75f, 0.85f, kWoodish), 0.5f},
        {lamp(), 0.5f},
        {plant(), 0.4f}};
    if (type == "bedroom") v.push_back({deskSet(), 0.3f});
    return v;
  }
  if (type == "bathroom")
    return {{toilet(), 1.f},
            {sink(0.6f, 0.8f, 0.48f), 1.f},
            {bathtub(), 0.8f},
            {cabinet, 0.5f},
            {plant(), 0.3f}};
  if (type == "hallway")
    return {{bench(), 0.5f},
            {plant(), 0.7f},
            {shelf("shelf", 1.0f, 1.2f), 0.5f},
            {lamp(), 0.4f},
            {cabinet, 0.4f}};
  if (type == "office")
    return {{deskSet(), 1.f},   {shelf("bookshelf", 1.8f, 2.0f), 0.9f},
            {armchair(), 0.4f}, {plant(), 0.6f},
            {lamp(), 0.5f},     {cabinet, 0.4f}};
  if (type == "dining room")
    return {{diningSet(1.2f, 1.6f), 1.f},
            {cabinet, 0.7f},
            {plant(), 0.6f},
            {lamp(), 0.4f},
            {shelf("shelf", 1.0f, 1.2f), 0.3f}};
  return {};
}

// ---------------------------------------------------------------------------------------
// Floor plan.
struct DoorPlan {
  int a, b;      // room indices
  bool along_x;  // the wall runs along x (the rooms are neighbours in z)
  float line;    // z (along_x) or x of the wall's centre line
  float lo, hi;  // the opening along the wall
};
struct RoomPlan {
  int col, row;
  std::string type;
  Rect rect;
  std::vector<int> doors;
};

// Occupancy grid of one room's interior for the walkability check: a cell is free when an
// agent centred there clears the walls and every placed footprint.
class FreeSpace {
 public:
  FreeSpace(const Rect& interior, float clearance) : in_(interior), clear_(clearance) {
    nx_ = std::max(1, static_cast<int>((in_.x1 - in_.x0) / kCell));
    nz_ = std::max(1, static_cast<int>((in_.z1 - in_.z0) / kCell));
    blocked_.assign(static_cast<size_t>(nx_) * nz_, 0);
    for (int j = 0; j < nz_; ++j)
      for (int i = 0; i < nx_; ++i) {
        const float x = in_.x0 + (i + 0.5f) * kCell, z = in_.z0 + (j + 0.5f) * kCell;
        if (x < in_.x0 + clear_ || x > in_.x1 - clear_ || z < in_.z0 + clear_ ||
            z > in_.z1 - clear_)
          blocked_[idx(i, j)] = 1;
      }
  }
  void block(const Rect& r) {
    const Rect g = r.inflated(clear_);
    for (int j = 0; j < nz_; ++j)
      for (int i = 0; i < nx_; ++i) {
        const float x = in_.x0 + (i + 0.5f) * kCell, z = in_.z0 + (j + 0.5f) * kCell;
        if (x >= g.x0 && x <= g.x1 && z >= g.z0 && z <= g.z1) blocked_[idx(i, j)] = 1;
      }
  }
  // All seeds free and in one component that holds at least `min_share` of the free cells.
  bool connected(const std::vector<Vec3>& seeds, float min_share) const {
    if (seeds.empty()) return true;
    std::vector<uint8_t> seen(blocked_.size(), 0);
    std::vector<int> stack;
    const int s0 = cellOf(seeds[0]);
    if (s0 < 0 || blocked_[s0]) return false;
    stack.push_back(s0);
    seen[s0] = 1;
    size_t reached = 0;
    while (!stack.empty()) {
      const int c = stack.back();
      stack.pop_back();
      ++reached;
      const int i = c % nx_, j = c / nx_;
      const int nb[4][2] = {{i - 1, j}, {i + 1, j}, {i, j - 1}, {i, j + 1}};
      for (const auto& n : nb) {
        if (n[0] < 0 || n[1] < 0 || n[0] >= nx_ || n[1] >= nz_) continue;
        const int k = idx(n[0], n[1]);
        if (!seen[k] && !blocked_[k]) {
          seen[k] = 1;
          stack.push_back(k);
        }
      }
    }
    for (const Vec3& s : seeds) {
      const int c = cellOf(s);
      if (c < 0 || !seen[c]) return false;
    }
    const size_t free_cells =
        static_cast<size_t>(std::count(blocked_.begin(), blocked_.end(), uint8_t{0}));
    return reached >= min_share * free_cells;
  }

 private:
  static constexpr float kCell = 0.05f;
  int idx(int i, int j) const { return j * nx_ + i; }
  int cellOf(const Vec3& p) const {
    const int i = static_cast<int>((p.x - in_.x0) / kCell);
    const int j = static_cast<int>((p.z - in_.z0) / kCell);
    if (i < 0 || j < 0 || i >= nx_ || j >= nz_) return -1;
    return idx(i, j);
  }
  Rect in_;
  float clear_;
  int nx_ = 0, nz_ = 0;
  std::vector<uint8_t> blocked_;
};

class ApartmentBuilder {
 public:
  ApartmentBuilder(uint64_t seed, const ApartmentSpec& spec)
      : spec_(spec), rng_(seed), b_(mesh_), pal_{b_} {}

  Mesh build() {
    planLayout();
    assignTypes();
    planDoors();
    for (size_t r = 0; r < rooms_.size(); ++r) drawRoomShell(static_cast<int>(r));
    for (const DoorPlan& d : doors_) drawDoorFrame(d);
    if (spec_.furniture)
      for (size_t r = 0; r < rooms_.size(); ++r) furnish(static_cast<int>(r));
    return std::move(mesh_);
  }

 private:
  void planLayout() {
    const int n =
        rng_.irange(std::max(1, spec_.min_rooms), std::max(spec_.min_rooms, spec_.max_rooms));
    std::vector<std::pair<int, int>> grids;
    for (int c = 1; c <= 4; ++c)
      for (int r = 1; r <= 4; ++r)
        if (c * r >= n && c * r <= n + 3) grids.emplace_back(c, r);
    if (grids.empty()) grids.emplace_back(4, (n + 3) / 4);
    // Plain ints, not a structured binding: lambdas below capture them (C++17).
    const std::pair<int, int> grid = grids[rng_.irange(0, static_cast<int>(grids.size()) - 1)];
    const int cols = grid.first, rows = grid.second;
    std::vector<float> xs(cols + 1, 0.f), zs(rows + 1, 0.f);
    for (int c = 0; c < cols; ++c)
      xs[c + 1] = xs[c] + snap5cm(rng_.uniform(spec_.min_room_size_m, spec_.max_room_size_m));
    for (int r = 0; r < rows; ++r)
      zs[r + 1] = zs[r] + snap5cm(rng_.uniform(spec_.min_room_size_m, spec_.max_room_size_m));
    const float ox = snap5cm(xs.back() / 2), oz = snap5cm(zs.back() / 2);
    height_ = snap5cm(rng_.uniform(spec_.min_wall_height_m, spec_.max_wall_height_m));
    thick_ =
        std::round(rng_.uniform(spec_.min_wall_thickness_m, spec_.max_wall_thickness_m) * 100.f) /
        100.f;

    // Grow a connected set of n cells; each new cell's link to the set is a door.
    std::vector<int> cell_room(cols * rows, -1);
    auto add = [&](int cell) {
      cell_room[cell] = static_cast<int>(rooms_.size());
      RoomPlan rp;
      rp.col = cell % cols;
      rp.row = cell / cols;
      rp.rect = {xs[rp.col] - ox, zs[rp.row] - oz, xs[rp.col + 1] - ox, zs[rp.row + 1] - oz};
      rooms_.push_back(rp);
    };
    add(rng_.irange(0, cols * rows - 1));
    auto neighbours = [&](int cell) {
      std::vector<int> nb;
      const int c = cell % cols, r = cell / cols;
      if (c > 0) nb.push_back(cell - 1);
      if (c + 1 < cols) nb.push_back(cell + 1);
      if (r > 0) nb.push_back(cell - cols);
      if (r + 1 < rows) nb.push_back(cell + cols);
      return nb;
    };
    while (static_cast<int>(rooms_.size()) < n) {
      std::vector<int> frontier;
      for (int cell = 0; cell < cols * rows; ++cell) {
        if (cell_room[cell] >= 0) continue;
        for (int nb : neighbours(cell))
          if (cell_room[nb] >= 0) {
            frontier.push_back(cell);
            break;
          }
      }
      const int cell = frontier[rng_.irange(0, static_cast<int>(frontier.size()) - 1)];
      std::vector<int> parents;
      for (int nb : neighbours(cell))
        if (cell_room[nb] >= 0) parents.push_back(cell_room[nb]);
      const int parent = parents[rng_.irange(0, static_cast<int>(parents.size()) - 1)];
      add(cell);
      links_.emplace_back(parent, static_cast<int>(rooms_.size()) - 1);
    }
    // A few extra doors make loops, so shortest paths are not always forced.
    for (int cell = 0; cell < cols * rows; ++cell) {
      for (int nb : neighbours(cell)) {
        const int a = cell_room[cell], b = cell_room[nb];
        if (nb < cell || a < 0 || b < 0) continue;
        const bool linked = std::any_of(links_.begin(), links_.end(), [&](auto& l) {
          return (l.first == a && l.second == b) || (l.first == b && l.second == a);
        });
        if (!linked && rng_.chance(spec_.extra_door_probability)) links_.emplace_back(a, b);
      }
    }
  }

  void assignTypes() {
    const int n = static_cast<int>(rooms_.size());
    std::vector<int> degree(n, 0);
    for (const auto& l : links_) {
      ++degree[l.first];
      ++degree[l.second];
    }
    std::vector<std::string> essentials = {"living room", "kitchen", "bedroom", "bathroom"};
    std::vector<std::string> extras = {"office", "dining room", "guest bedroom", "hallway"};
    rng_.shuffle(essentials);
    rng_.shuffle(extras);
    // The best-connected room is often a hallway, as in real flats.
    if (n >= 4 && rng_.chance(0.7f)) {
      const int hub =
          static_cast<int>(std::max_element(degree.begin(), degree.end()) - degree.begin());
      rooms_[hub].type = "hallway";
      extras.erase(std::find(extras.begin(), extras.end(), "hallway"));
    }
    std::vector<std::string> pool = essentials;
    pool.insert(pool.end(), extras.begin(), extras.end());
    size_t next = 0;
    for (RoomPlan& r : rooms_)
      if (r.type.empty()) r.type = next < pool.size() ? pool[next++] : "storage room";
  }

  void planDoors() {
    for (const auto& [a, b] : links_) {
      const RoomPlan& ra = rooms_[a];
      const RoomPlan& rb = rooms_[b];
      DoorPlan d;
      d.a = a;
      d.b = b;
      d.along_x = ra.col == rb.col;
      float run0, run1;
      if (d.along_x) {
        d.line = ra.row < rb.row ? ra.rect.z1 : ra.rect.z0;
        run0 = ra.rect.x0;
        run1 = ra.rect.x1;
      } else {
        d.line = ra.col < rb.col ? ra.rect.x1 : ra.rect.x0;
        run0 = ra.rect.z0;
        run1 = ra.rect.z1;
      }
      const float w = snap5cm(rng_.uniform(spec_.min_door_width_m, spec_.max_door_width_m));
      const float margin = thick_ + w / 2 + 0.25f;
      const float centre = snap5cm(rng_.uniform(run0 + margin, run1 - margin));
      d.lo = centre - w / 2;
      d.hi = centre + w / 2;
      rooms_[a].doors.push_back(static_cast<int>(doors_.size()));
      rooms_[b].doors.push_back(static_cast<int>(doors_.size()));
      doors_.push_back(d);
    }
  }

  // Inner half-thickness of the room's walls; the neighbour draws the other half.
  void drawRoomShell(int r) {
    const RoomPlan& rp = rooms_[r];
    const Rect& q = rp.rect;
    const float h = height_, t = thick_ / 2;

    const std::vector<FloorFinish>& finishes = floorFinishes();
    const std::vector<FloorKind> kinds = floorKindsFor(rp.type);
    std::vector<int> options;
    for (size_t i = 0; i < finishes.size(); ++i)
      if (std::find(kinds.begin(), kinds.end(), finishes[i].kind) != kinds.end() &&
          !used_floors_.count(static_cast<int>(i)))
        options.push_back(static_cast<int>(i));
    if (options.empty())
      for (size_t i = 0; i < finishes.size(); ++i) options.push_back(static_cast<int>(i));
    const int fi = options[rng_.irange(0, static_cast<int>(options.size()) - 1)];
    used_floors_.insert(fi);
    const FloorFinish& finish = finishes[fi];
    const int tex = b_.texture(makeFloorTexture(finish, spec_.texture_size,
                                                static_cast<uint32_t>(rng_.irange(0, 1 << 30))));
    const int floor_mat = b_.material(rp.type + " floor", finish.srgb, tex);
    // One texture repeat per tile_m metres: 4 planks/tiles per repeat.
    const float tile_m = finish.kind == FloorKind::Carpet ? 1.f : 2.f;
    auto uv = [&](float x, float z) { return Vec2{x / tile_m, z / tile_m}; };
    b_.beginObject(rp.type + " floor", "floor", rp.type);
    b_.quad({q.x0, 0, q.z0}, {q.x1, 0, q.z0}, {q.x1, 0, q.z1}, {q.x0, 0, q.z1}, {0, 1, 0},
            floor_mat, {uv(q.x0, q.z0), uv(q.x1, q.z0), uv(q.x1, q.z1), uv(q.x0, q.z1)});
    b_.endObject();

    if (spec_.ceiling) {
      const int ceil_mat = b_.material("ceiling", {0.96f, 0.96f, 0.94f});
      b_.beginObject(rp.type + " ceiling", "ceiling", rp.type);
      b_.quad({q.x0, h, q.z0}, {q.x1, h, q.z0}, {q.x1, h, q.z1}, {q.x0, h, q.z1}, {0, -1, 0},
              ceil_mat);
      b_.endObject();
    }

    const std::vector<Vec3>& paints = wallPaints();
    int pi = rng_.irange(0, static_cast<int>(paints.size()) - 1);
    for (size_t k = 0; k < paints.size() && used_paints_.count(pi); ++k)
      pi = (pi + 1) % static_cast<int>(paints.size());
    used_paints_.insert(pi);
    const int wall_mat = b_.material(rp.type + " wall", paints[pi]);
    b_.beginObject(rp.type + " wall", "wall", rp.type);
    // Sides along x span the full length; sides along z stop at the x-walls.
    struct Side {
      bool along_x;
      float line, f0, f1, run0, run1;
    };
    const Side sides[4] = {{true, q.z0, q.z0, q.z0 + t, q.x0, q.x1},
                           {true, q.z1, q.z1 - t, q.z1, q.x0, q.x1},
                           {false, q.x0, q.x0, q.x0 + t, q.z0 + t, q.z1 - t},
                           {false, q.x1, q.x1 - t, q.x1, q.z0 + t, q.z1 - t}};
    for (const Side& s : sides) {
      std::vector<std::pair<float, float>> gaps;
      for (int di : rp.doors) {
        const DoorPlan& d = doors_[di];
        if (d.along_x == s.along_x && std::fabs(d.line - s.line) < 1e-4f)
          gaps.emplace_back(d.lo, d.hi);
      }
      std::sort(gaps.begin(), gaps.end());
      auto slab = [&](float r0, float r1, float y0, float y1) {
        if (r1 - r0 < 1e-4f) return;
        if (s.along_x)
          b_.box({r0, y0, s.f0}, {r1, y1, s.f1}, wall_mat);
        else
          b_.box({s.f0, y0, r0}, {s.f1, y1, r1}, wall_mat);
      };
      float cursor = s.run0;
      for (const auto& [lo, hi] : gaps) {
        slab(cursor, lo, 0, h);
        slab(lo, hi, spec_.door_height_m, h);  // lintel
        cursor = hi;
      }
      slab(cursor, s.run1, 0, h);
    }
    b_.endObject();
  }

  void drawDoorFrame(const DoorPlan& d) {
    const int mat = b_.material("door frame", {0.35f, 0.22f, 0.12f});
    b_.beginObject("door", "door", rooms_[d.a].type);
    const float f0 = d.line - thick_ / 2 - 0.02f, f1 = d.line + thick_ / 2 + 0.02f;
    const float top = spec_.door_height_m, trim = 0.06f;
    auto piece = [&](float r0, float r1, float y0, float y1) {
      if (d.along_x)
        b_.box({r0, y0, f0}, {r1, y1, f1}, mat);
      else
        b_.box({f0, y0, r0}, {f1, y1, r1}, mat);
    };
    piece(d.lo - trim, d.lo, 0, top + trim);
    piece(d.hi, d.hi + trim, 0, top + trim);
    piece(d.lo, d.hi, top, top + trim);
    b_.endObject();
  }

  // The point 0.5 m inside room r in front of door d, where agents pass through.
  Vec3 doorApproach(int r, const DoorPlan& d) const {
    const Rect& q = rooms_[r].rect;
    const float c = (d.lo + d.hi) / 2;
    const float into = d.along_x ? (std::fabs(d.line - q.z0) < 1e-4f ? 1.f : -1.f)
                                 : (std::fabs(d.line - q.x0) < 1e-4f ? 1.f : -1.f);
    const float inset = thick_ / 2 + 0.5f;
    return d.along_x ? Vec3{c, 0, d.line + into * inset} : Vec3{d.line + into * inset, 0, c};
  }

  // Door keep-out zones: the opening widened by 0.2 m, 1.1 m deep into the room.
  Rect doorZone(int r, const DoorPlan& d) const {
    const Rect& q = rooms_[r].rect;
    const float depth = 1.1f + thick_ / 2;
    if (d.along_x) {
      const bool low = std::fabs(d.line - q.z0) < 1e-4f;
      return {d.lo - 0.2f, low ? q.z0 : q.z1 - depth, d.hi + 0.2f, low ? q.z0 + depth : q.z1};
    }
    const bool low = std::fabs(d.line - q.x0) < 1e-4f;
    return {low ? q.x0 : q.x1 - depth, d.lo - 0.2f, low ? q.x0 + depth : q.x1, d.hi + 0.2f};
  }

  std::string pickColor(const std::string& category, const std::vector<std::string>& colors) {
    std::vector<std::string> fresh;
    for (const std::string& c : colors)
      if (!used_names_.count(c + " " + category)) fresh.push_back(c);
    const std::vector<std::string>& from = fresh.empty() ? colors : fresh;
    const std::string c = from[rng_.irange(0, static_cast<int>(from.size()) - 1)];
    used_names_.insert(c + " " + category);
    return c;
  }

  void furnish(int r) {
    const RoomPlan& rp = rooms_[r];
    const Rect& q = rp.rect;
    const float gap_to_wall = 0.02f;
    const Rect interior{q.x0 + thick_ / 2 + gap_to_wall, q.z0 + thick_ / 2 + gap_to_wall,
                        q.x1 - thick_ / 2 - gap_to_wall, q.z1 - thick_ / 2 - gap_to_wall};
    // Clearance in the check is the agent radius plus 0.1 m of slack for Recast's
    // conservative rasterisation (a cell touched by furniture is blocked).
    FreeSpace space(interior, spec_.agent_radius_m + 0.1f);
    std::vector<Vec3> seeds;
    std::vector<Rect> zones;
    for (int di : rp.doors) {
      seeds.push_back(doorApproach(r, doors_[di]));
      zones.push_back(doorZone(r, doors_[di]));
    }
    if (seeds.empty()) seeds.push_back({(q.x0 + q.x1) / 2, 0, (q.z0 + q.z1) / 2});
    std::vector<Rect> placed;

    UnitContext ctx{b_, pal_, rng_, rp.type,
                    [this](const std::string& cat, const std::vector<std::string>& cols) {
                      return pickColor(cat, cols);
                    }};
    for (const UnitChoice& choice : furnitureFor(rp.type)) {
      if (!rng_.chance(choice.probability)) continue;
      const UnitTemplate& u = choice.unit;
      for (int attempt = 0; attempt < 40; ++attempt) {
        const float w = snap5cm(rng_.uniform(u.w_lo, u.w_hi));
        const float d = snap5cm(rng_.uniform(u.d_lo, u.d_hi));
        Frame f;
        if (u.placement == UnitTemplate::Center) {
          const int rot = rng_.irange(0, 1);
          f.right = rot == 0 ? Vec3{1, 0, 0} : Vec3{0, 0, 1};
          f.front = rot == 0 ? Vec3{0, 0, 1} : Vec3{-1, 0, 0};
          f.origin = {snap5cm((q.x0 + q.x1) / 2 + rng_.uniform(-0.4f, 0.4f)), 0,
                      snap5cm((q.z0 + q.z1) / 2 + rng_.uniform(-0.4f, 0.4f))};
        } else {
          // Back against one of the four walls, facing into the room.
          const int side = rng_.irange(0, 3);
          const Vec3 fronts[4] = {{0, 0, 1}, {0, 0, -1}, {1, 0, 0}, {-1, 0, 0}};
          f.front = fronts[side];
          f.right = {f.front.z, 0, -f.front.x};
          const bool along_x = side < 2;
          const float run0 = along_x ? interior.x0 : interior.z0;
          const float run1 = along_x ? interior.x1 : interior.z1;
          if (run1 - run0 < w) continue;
          float pos = rng_.uniform(run0 + w / 2, run1 - w / 2);
          if (u.placement == UnitTemplate::Corner && rng_.chance(0.7f))
            pos = rng_.chance(0.5f) ? run0 + w / 2 : run1 - w / 2;
          pos = snap5cm(pos);
          const float back = side == 0   ? interior.z0
                             : side == 1 ? interior.z1
                             : side == 2 ? interior.x0
                                         : interior.x1;
          const Vec3 centre_on_wall = along_x ? Vec3{pos, 0, back} : Vec3{back, 0, pos};
          f.origin = centre_on_wall + f.front * (d / 2);
        }
        const Vec3 c0 = f.at(-w / 2, 0, -d / 2), c1 = f.at(w / 2, 0, d / 2);
        const Rect foot{std::min(c0.x, c1.x), std::min(c0.z, c1.z), std::max(c0.x, c1.x),
                        std::max(c0.z, c1.z)};
        if (!foot.inside(interior)) continue;
        if (std::any_of(placed.begin(), placed.end(),
                        [&](const Rect& p) { return p.overlaps(foot, 0.05f); }))
          continue;
        if (std::any_of(zones.begin(), zones.end(),
                        [&](const Rect& z) { return z.overlaps(foot); }))
          continue;
        FreeSpace trial = space;
        trial.block(foot);
        if (!trial.connected(seeds, 0.97f)) continue;
        space = trial;
        placed.push_back(foot);
        u.draw(f, ctx, w, d);
        break;
      }
    }
  }

  ApartmentSpec spec_;
  Rng rng_;
  Mesh mesh_;
  Builder b_;
  Palette pal_;
  float height_ = 2.6f, thick_ = 0.12f;
  std::vector<RoomPlan> rooms_;
  std::vector<std::pair<int, int>> links_;
  std::vector<DoorPlan> doors_;
  std::set<int> used_floors_, used_paints_;
  std::set<std::string> used_names_;

 public:
  const std::vector<RoomPlan>& rooms() const { return rooms_; }
  float height() const { return height_; }
};

}  // namespace

bool isFurniture(const SceneObject& obj) {
  return obj.category != "floor" && obj.category != "wall" && obj.category != "ceiling" &&
         obj.category != "door";
}

Mesh generateApartment(uint64_t seed, const ApartmentSpec& spec) {
  if (spec.min_rooms < 1 || spec.max_rooms > 16 || spec.min_rooms > spec.max_rooms)
    throw std::runtime_error(
        "apartment spec: rooms must satisfy 1 <= min_rooms <= max_rooms <= 16");
  if (spec.min_room_size_m < 2.5f || spec.max_room_size_m < spec.min_room_size_m)
    throw std::runtime_error("apartment spec: room sizes must satisfy 2.5 <= min <= max");
  ApartmentBuilder builder(seed, spec);
  Mesh mesh = builder.build();
  for (const RoomPlan& r : builder.rooms()) {
    Room room;
    room.name = r.type;
    room.bbox_min = {r.rect.x0, 0.f, r.rect.z0};
    room.bbox_max = {r.rect.x1, builder.height(), r.rect.z1};
    mesh.rooms.push_back(room);
  }
  spdlog::debug("apartment {}: {} rooms, {} objects, {} triangles", seed, mesh.rooms.size(),
                mesh.objects.size(), mesh.numTriangles());
  return mesh;
}

const std::vector<std::string>& choiceColumnColors() {
  // Saturated colours none of the wall paints or floor finishes comes close to.
  static const std::vector<std::string> colors = {"red", "blue", "green", "yellow", "purple",
                                                  "orange"};
  return colors;
}

Mesh generateChoiceRoom(uint64_t seed, const ChoiceRoomSpec& spec) {
  if (spec.columns < 2 || spec.columns > 4)
    throw std::runtime_error("choice room: columns must be in [2, 4]");
  if (!(spec.room_size_m >= 6.f && spec.room_size_m <= 24.f))
    throw std::runtime_error("choice room: room_size_m must be in [6, 24]");
  if (!(spec.min_corner_inset_m > spec.column_width_m &&
        spec.max_corner_inset_m >= spec.min_corner_inset_m &&
        spec.max_corner_inset_m < 0.4f * spec.room_size_m))
    throw std::runtime_error("choice room: need column width < min inset <= max inset < 0.4 x size");
  ApartmentSpec room;
  room.min_rooms = room.max_rooms = 1;
  room.min_room_size_m = room.max_room_size_m = spec.room_size_m;
  room.furniture = false;
  Rng rng(seed);
  Mesh mesh = generateApartment(rng.irange(0, 1 << 30), room);
  const Room& r = mesh.rooms.at(0);

  Mesh cols;
  Builder b(cols);
  std::vector<std::string> colors = choiceColumnColors();
  rng.shuffle(colors);
  std::vector<int> quadrants = {0, 1, 2, 3};
  rng.shuffle(quadrants);
  const float half = 0.5f * spec.column_width_m;
  for (int k = 0; k < spec.columns; ++k) {
    const int q = quadrants[k];
    const float ix = rng.uniform(spec.min_corner_inset_m, spec.max_corner_inset_m);
    const float iz = rng.uniform(spec.min_corner_inset_m, spec.max_corner_inset_m);
    const float x = q & 1 ? r.bbox_max.x - ix : r.bbox_min.x + ix;
    const float z = q & 2 ? r.bbox_max.z - iz : r.bbox_min.z + iz;
    const int mat = b.material(colors[k] + " paint", colorByName(colors[k]));
    b.beginObject(colors[k] + " column", "column", r.name);
    b.box({x - half, 0.f, z - half}, {x + half, r.bbox_max.y, z + half}, mat);
    b.endObject();
  }
  mesh.append(cols);
  return mesh;
}

}  // namespace svln::sim
