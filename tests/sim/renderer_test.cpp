#include "sim/renderer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace svln::sim {
namespace {

constexpr float kPi = 3.14159265358979323846f;

// Appends an axis-aligned rectangle (two triangles) spanned by corner + a + b, with uvs
// (0,0)..(uv_scale, uv_scale) across it.
void addQuad(Mesh& m, Vec3 corner, Vec3 a, Vec3 b, int material, float uv_scale = 1.f) {
  const auto base = static_cast<uint32_t>(m.positions.size());
  m.positions.insert(m.positions.end(), {corner, corner + a, corner + a + b, corner + b});
  m.uvs.insert(m.uvs.end(), {{0, 0}, {uv_scale, 0}, {uv_scale, uv_scale}, {0, uv_scale}});
  m.indices.insert(m.indices.end(), {base, base + 1, base + 2, base, base + 2, base + 3});
  m.triangle_material.insert(m.triangle_material.end(), {material, material});
  m.triangle_object.insert(m.triangle_object.end(), {-1, -1});
}

// An axis-aligned box (four sides and a top) from lo to hi.
void addBox(Mesh& m, Vec3 lo, Vec3 hi, int material) {
  const Vec3 dx{hi.x - lo.x, 0, 0}, dy{0, hi.y - lo.y, 0}, dz{0, 0, hi.z - lo.z};
  addQuad(m, lo, dx, dy, material);
  addQuad(m, lo + dz, dx, dy, material);
  addQuad(m, lo, dz, dy, material);
  addQuad(m, lo + dx, dz, dy, material);
  addQuad(m, lo + dy, dx, dz, material);
}

enum Mat { kFloor, kRed, kBlue, kGreen, kGrey, kPillar, kChecker };

// A room seen from the origin: floor y=0, a red wall at z=-3 (ahead at heading 0), a blue
// wall at x=-4 (left), a green wall at x=+2 (right), a grey wall at z=+5 (behind).
Mesh room(bool pillar = false, bool checker = false) {
  Mesh m;
  m.materials = {{"floor", {0.5f, 0.5f, 0.5f}, -1}, {"red", {0.8f, 0.1f, 0.1f}, -1},
                 {"blue", {0.1f, 0.1f, 0.8f}, -1},  {"green", {0.1f, 0.8f, 0.1f}, -1},
                 {"grey", {0.3f, 0.3f, 0.3f}, -1},  {"pillar", {0.9f, 0.9f, 0.1f}, -1},
                 {"checker", {1.f, 1.f, 1.f}, 0}};
  // 8x8 texture of 4x4 blocks: white / black checker.
  Texture t;
  t.width = t.height = 8;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      const uint8_t c = ((x / 4 + y / 4) % 2) ? 255 : 0;
      t.rgb.insert(t.rgb.end(), {c, c, c});
    }
  m.textures.push_back(t);
  addQuad(m, {-4, 0, 5}, {6, 0, 0}, {0, 0, -8}, kFloor);
  addQuad(m, {-4, 0, -3}, {6, 0, 0}, {0, 3, 0}, checker ? kChecker : kRed, 6.f);
  addQuad(m, {-4, 0, 5}, {0, 0, -8}, {0, 3, 0}, kBlue);
  addQuad(m, {2, 0, 5}, {0, 0, -8}, {0, 3, 0}, kGreen);
  addQuad(m, {-4, 0, 5}, {6, 0, 0}, {0, 3, 0}, kGrey);
  if (pillar) addBox(m, {-1.2f, 0, -2.2f}, {-0.8f, 2, -1.8f}, kPillar);
  return m;
}

CameraSpec camera(int w = 101, int h = 101, float hfov = 79.f) {
  CameraSpec c;
  c.width = w, c.height = h, c.hfov_deg = hfov;
  c.sensor_height_m = 1.25f, c.min_depth_m = 0.f, c.max_depth_m = 10.f;
  return c;
}

struct Image {
  std::vector<uint8_t> rgb;
  std::vector<float> depth;
  int w, h;
  float d(int row, int col) const { return depth[row * w + col]; }
  const uint8_t* px(int row, int col) const { return &rgb[(row * w + col) * 3]; }
};

Image render(const Renderer& r, const CameraSpec& c, Vec3 pos, float heading) {
  Image im{std::vector<uint8_t>(c.width * c.height * 3), std::vector<float>(c.width * c.height),
           c.width, c.height};
  r.render(c, pos, heading, im.rgb.data(), im.depth.data());
  return im;
}

// Expected 8-bit sRGB of a linear value (IEC 61966-2-1).
int srgb8(float linear) {
  const float s =
      linear <= 0.0031308f ? 12.92f * linear : 1.055f * std::pow(linear, 1.f / 2.4f) - 0.055f;
  return static_cast<int>(std::lround(s * 255.f));
}

TEST(Renderer, CentrePixelReadsWallDistance) {
  const Renderer r(room());
  const Image im = render(r, camera(), {0, 0, 0}, 0.f);
  EXPECT_NEAR(im.d(50, 50), 3.f, 1e-4f);  // red wall 3 m ahead
}

TEST(Renderer, OffCentrePixelsReadZDepthNotRayLength) {
  const Renderer r(room());
  const CameraSpec c = camera();
  const Image im = render(r, c, {0, 0, 0}, 0.f);
  // Column 10 looks ~33 degrees left: the ray is 3.6 m long but the z-depth is still 3.
  EXPECT_NEAR(im.d(50, 10), 3.f, 1e-4f);
  EXPECT_NEAR(im.d(30, 90), 3.f, 1e-4f);
  // The bottom row sees the floor: z-depth = sensor height / tan(angle below the axis),
  // tan = (1 - (row + 0.5) / H * 2) * tan(vfov / 2) with vfov = hfov for a square image.
  const float tan_v = std::tan(0.5f * 79.f * kPi / 180.f);
  const float sy = (1.f - (100 + 0.5f) / 101.f * 2.f) * tan_v;  // -0.8157
  EXPECT_NEAR(im.d(100, 50), 1.25f / -sy, 1e-4f);               // 1.532 m
  EXPECT_NEAR(im.d(100, 50), 1.5324f, 1e-3f);
}

TEST(Renderer, VerticalFovFollowsAspectRatio) {
  // 160x120 at 90 degrees: tan(hfov/2) = 1, tan(vfov/2) = 0.75. Rows whose ray drops more
  // than 1.25 m over 3 m (sy < -0.4167) hit the floor before the wall: rows 93..119. (Rows
  // above the wall's top miss and read 0.)
  const Renderer r(room());
  const Image im = render(r, camera(160, 120, 90.f), {0, 0, 0}, 0.f);
  int floor_rows = 0;
  for (int row = 0; row < 120; ++row) floor_rows += im.d(row, 80) > 0.f && im.d(row, 80) < 2.999f;
  EXPECT_EQ(floor_rows, 27);
  EXPECT_LT(im.d(93, 80), 2.999f);
  EXPECT_NEAR(im.d(92, 80), 3.f, 1e-4f);
}

TEST(Renderer, DepthIsClippedAndNormalised) {
  const Renderer r(room());
  CameraSpec c = camera();
  c.max_depth_m = 2.5f;
  EXPECT_FLOAT_EQ(render(r, c, {0, 0, 0}, 0.f).d(50, 50), 2.5f);
  c.min_depth_m = 3.5f, c.max_depth_m = 10.f;
  EXPECT_FLOAT_EQ(render(r, c, {0, 0, 0}, 0.f).d(50, 50), 3.5f);
  c.min_depth_m = 1.f, c.max_depth_m = 5.f, c.normalize_depth = true;
  const Image im = render(r, c, {0, 0, 0}, 0.f);
  EXPECT_NEAR(im.d(50, 50), 0.5f, 1e-5f);  // (3 - 1) / (5 - 1)
  for (float d : im.depth) {
    EXPECT_GE(d, 0.f);
    EXPECT_LE(d, 1.f);
  }
  // Depth-only renders clip the same way.
  std::vector<float> depth(101 * 101);
  c.normalize_depth = false, c.max_depth_m = 2.5f, c.min_depth_m = 0.f;
  r.render(c, {0, 0, 0}, 0.f, nullptr, depth.data());
  EXPECT_FLOAT_EQ(depth[50 * 101 + 50], 2.5f);
}

TEST(Renderer, MissesReadMinDepthAsInHabitatOrMaxWhenConfiguredAndBlack) {
  const Renderer r(room());
  // 20 m behind the room looking away from it (+Z): nothing to hit. Habitat's far-plane
  // pixels are 0, clipped to [min, max]: 0 here, 0.5 with min_depth 0.5.
  const Image im = render(r, camera(), {0, 0, 20}, kPi);
  for (float d : im.depth) ASSERT_EQ(d, 0.f);
  for (uint8_t v : im.rgb) ASSERT_EQ(v, 0);
  CameraSpec c = camera();
  c.normalize_depth = true;
  EXPECT_EQ(render(r, c, {0, 0, 20}, kPi).d(50, 50), 0.f);
  c.normalize_depth = false, c.min_depth_m = 0.5f;
  EXPECT_EQ(render(r, c, {0, 0, 20}, kPi).d(50, 50), 0.5f);
  std::vector<float> depth(101 * 101);
  r.render(c, {0, 0, 20}, kPi, nullptr, depth.data());  // depth-only: the same
  EXPECT_EQ(depth[50 * 101 + 50], 0.5f);
  c.miss_reads_max_depth = true;
  EXPECT_EQ(render(r, c, {0, 0, 20}, kPi).d(50, 50), 10.f);
  r.render(c, {0, 0, 20}, kPi, nullptr, depth.data());
  EXPECT_EQ(depth[50 * 101 + 50], 10.f);
  // A wall beyond max_depth is a hit, not a miss: it reads max_depth in every mode.
  c.miss_reads_max_depth = false, c.min_depth_m = 0.f, c.max_depth_m = 2.5f;
  r.render(c, {0, 0, 0}, 0.f, nullptr, depth.data());
  EXPECT_FLOAT_EQ(depth[50 * 101 + 50], 2.5f);
}

TEST(Renderer, WallColourMatchesLambertShade) {
  const Renderer r(room());
  const Image im = render(r, camera(), {0, 0, 0}, 0.f);
  // Red wall faces +Z: n.L = 0.48, light = 0.4 + 0.6 * 0.48 = 0.688;
  // linear (0.8, 0.1, 0.1) * 0.688 = (0.5504, 0.0688, 0.0688) -> sRGB (196, 74, 74).
  const uint8_t* p = im.px(50, 50);
  EXPECT_NEAR(p[0], 196, 1);
  EXPECT_NEAR(p[1], 74, 1);
  EXPECT_NEAR(p[2], 74, 1);
  const float light = kShadeAmbient + kShadeDiffuse * kShadeToLight.z;
  EXPECT_NEAR(p[0], srgb8(0.8f * light), 1);
  // Floor faces up: light = 0.4 + 0.6 * 0.8 = 0.88; grey 0.5 -> 0.44 -> sRGB 176.
  const uint8_t* f = im.px(100, 50);
  EXPECT_NEAR(f[0], 176, 1);
  EXPECT_EQ(f[0], f[1]);
  EXPECT_EQ(f[1], f[2]);
}

TEST(Renderer, ObjectOnTheLeftAppearsOnTheImageLeft) {
  const Renderer r(room(/*pillar=*/true));
  const Image im = render(r, camera(), {0, 0, 0}, 0.f);
  // The pillar (x = -1.2..-0.8, z = -2.2..-1.8) is left of the -Z view axis: its front
  // face reads 1.8 m, the wall behind 3 m.
  int left = 0, right = 0;
  for (int row = 0; row < 101; ++row)
    for (int col = 0; col < 101; ++col)
      if (std::fabs(im.d(row, col) - 1.8f) < 1e-3f) (col < 50 ? left : right)++;
  EXPECT_GT(left, 50);
  EXPECT_EQ(right, 0);
  // Pillar centre x = -1 at z-depth 2 projects to sx = -0.5: column (sx / tan + 1) / 2 * W.
  const float tan_h = std::tan(0.5f * 79.f * kPi / 180.f);
  const int col = static_cast<int>((-0.5f / tan_h + 1.f) / 2.f * 101.f);  // 19
  EXPECT_NEAR(im.d(60, col), 1.8f, 1e-3f);
  EXPECT_GT(im.px(60, col)[0], 150);  // yellow pillar: bright red and green, dark blue
  EXPECT_GT(im.px(60, col)[1], 150);
  EXPECT_LT(im.px(60, col)[2], im.px(60, col)[0] / 2);
}

TEST(Renderer, HeadingTurnsTheView) {
  const Renderer r(room());
  // Positive heading turns left (towards -X): the blue wall 4 m away; negative: the green
  // wall 2 m away; pi: the grey wall 5 m behind.
  const Image left = render(r, camera(), {0, 0, 0}, kPi / 2);
  EXPECT_NEAR(left.d(50, 50), 4.f, 1e-4f);
  EXPECT_GT(left.px(50, 50)[2], 2 * left.px(50, 50)[0]);
  const Image right = render(r, camera(), {0, 0, 0}, -kPi / 2);
  EXPECT_NEAR(right.d(50, 50), 2.f, 1e-4f);
  EXPECT_GT(right.px(50, 50)[1], 2 * right.px(50, 50)[0]);
  EXPECT_NEAR(render(r, camera(), {0, 0, 0}, kPi).d(50, 50), 5.f, 1e-4f);
  // 30 degrees left: the centre ray meets the red wall 3 m ahead at z-depth 3 / cos 30.
  EXPECT_NEAR(render(r, camera(), {0, 0, 0}, kPi / 6).d(50, 50), 3.f / std::cos(kPi / 6), 1e-3f);
  // Moving the agent moves the camera: 1 m closer to the red wall.
  EXPECT_NEAR(render(r, camera(), {0, 0, -1}, 0.f).d(50, 50), 2.f, 1e-4f);
}

TEST(Renderer, CheckerTextureGivesBothColours) {
  const Renderer r(room(false, /*checker=*/true));
  const Image im = render(r, camera(), {0, 0, 0}, 0.f);
  // White texels shade to sRGB(0.688) = 218, black ones to 0; bilinear edges lie between.
  int white = 0, black = 0;
  for (int row = 30; row < 50; ++row)  // rows that see the wall below its 3 m top
    for (int col = 20; col < 80; ++col) {
      ASSERT_NEAR(im.d(row, col), 3.f, 1e-3f);
      const uint8_t* p = im.px(row, col);
      EXPECT_EQ(p[0], p[1]);
      if (std::abs(p[0] - srgb8(0.688f)) <= 1) ++white;
      if (p[0] == 0) ++black;
    }
  EXPECT_GT(white, 300);
  EXPECT_GT(black, 300);
}

TEST(Renderer, ConcurrentRendersMatchSerial) {
  const Renderer r(room(true, true));
  const CameraSpec c = camera(97, 61);  // sizes that are not multiples of the tile
  std::vector<std::pair<Vec3, float>> poses;
  for (int i = 0; i < 8; ++i) poses.push_back({{-3.f + 0.6f * i, 0.f, 4.f - i}, 0.8f * i});
  std::vector<Image> serial;
  for (const auto& [p, h] : poses) serial.push_back(render(r, c, p, h));
  std::vector<Image> parallel(poses.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        for (size_t i = t; i < poses.size(); i += 4)
          parallel[i] = render(r, c, poses[i].first, poses[i].second);
    });
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < poses.size(); ++i) {
    EXPECT_EQ(parallel[i].rgb, serial[i].rgb) << "pose " << i;
    EXPECT_EQ(parallel[i].depth, serial[i].depth) << "pose " << i;
  }
  // And the images differ between poses (the renders are not trivially equal).
  EXPECT_NE(serial[0].rgb, serial[3].rgb);
}

TEST(Renderer, BadMeshThrows) {
  Mesh m = room();
  m.indices.push_back(9999);
  m.indices.push_back(0);
  m.indices.push_back(1);
  m.triangle_material.push_back(0);
  EXPECT_THROW(Renderer{m}, std::runtime_error);
  Mesh t = room();
  t.textures[0].rgb.pop_back();
  EXPECT_THROW(Renderer{t}, std::runtime_error);
}

TEST(Renderer, DepthOnlyAndColourOnlyMatchTheRgbdRender) {
  const Renderer r(room(true, true));
  const CameraSpec c = camera(64, 48);
  const Image both = render(r, c, {0.5f, 0, 1}, 0.3f);
  std::vector<float> depth(64 * 48);
  std::vector<uint8_t> rgb(64 * 48 * 3);
  r.render(c, {0.5f, 0, 1}, 0.3f, nullptr, depth.data());
  r.render(c, {0.5f, 0, 1}, 0.3f, rgb.data(), nullptr);
  EXPECT_EQ(depth, both.depth);
  EXPECT_EQ(rgb, both.rgb);
}

TEST(Renderer, BadCameraThrows) {
  const Renderer r(room());
  std::vector<float> depth(101 * 101);
  CameraSpec c = camera();
  c.width = 0;
  EXPECT_THROW(r.render(c, {0, 0, 0}, 0.f, nullptr, depth.data()), std::runtime_error);
  c = camera();
  c.hfov_deg = 180.f;
  EXPECT_THROW(r.render(c, {0, 0, 0}, 0.f, nullptr, depth.data()), std::runtime_error);
  c = camera();
  c.min_depth_m = c.max_depth_m;
  EXPECT_THROW(r.render(c, {0, 0, 0}, 0.f, nullptr, depth.data()), std::runtime_error);
}

TEST(Renderer, EmptySceneRendersMisses) {
  const Renderer r(Mesh{});
  const Image im = render(r, camera(8, 8), {0, 0, 0}, 0.f);
  for (float d : im.depth) EXPECT_EQ(d, 0.f);
}

}  // namespace
}  // namespace svln::sim
