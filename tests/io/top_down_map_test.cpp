#include "io/top_down_map.h"

#include <gtest/gtest.h>

#include <cmath>

#include "../sim/test_scenes.h"

namespace svln::io {
namespace {

bool isColor(const Image& img, PointF p, Color c) {
  const uint8_t* px = img.at(static_cast<int>(p.x), static_cast<int>(p.y));
  return px[0] == c.r && px[1] == c.g && px[2] == c.b;
}

TEST(TopDownMap, SlicesWallsAtTheGivenHeights) {
  // One vertical triangle in the XY plane: the plane y = 1 cuts it from (0.5,1,0) to (1.5,1,0).
  sim::Mesh m;
  m.positions = {{0, 0, 0}, {1, 2, 0}, {2, 0, 0}};
  m.indices = {0, 1, 2};
  sim::PathFinder pf;  // not loaded: no navmesh
  const MapGeometry g = makeMapGeometry(pf, &m, 0.f, {1.f, 3.f});
  EXPECT_TRUE(g.navmesh_triangles.empty());
  ASSERT_EQ(g.outline_segments.size(), 2u);  // y = 3 misses the triangle
  const float x0 = std::min(g.outline_segments[0].x, g.outline_segments[1].x);
  const float x1 = std::max(g.outline_segments[0].x, g.outline_segments[1].x);
  EXPECT_NEAR(x0, 0.5f, 1e-6);
  EXPECT_NEAR(x1, 1.5f, 1e-6);
  EXPECT_NEAR(g.outline_segments[0].y, 1.f, 1e-6);
}

TEST(TopDownMap, DrawsNorthUpAtFixedScaleWithSourceColours) {
  const sim::Mesh room = sim::test::withDefaultMaterial(sim::test::openRoom());
  sim::PathFinder pf;
  pf.build(room);
  const MapGeometry geo = makeMapGeometry(pf, &room, 0.f);
  EXPECT_FALSE(geo.navmesh_triangles.empty());
  EXPECT_FALSE(geo.outline_segments.empty());

  EpisodeTrace t;
  t.episode_id = "7";
  // 2 m north (-Z) by the policy, then 2 m east (+X) by the expert; stop; goal 1 m further.
  t.positions = {{5, 0, 7}, {5, 0, 6}, {5, 0, 5}, {6, 0, 5}, {7, 0, 5}};
  t.expert_steps = {false, false, true, true};
  t.triggers = {{5, 0, 5}};
  t.goals = {{sim::Vec3(8, 0, 5), 0.5f}};
  t.reference_path = {{5, 0, 7}, {8, 0, 5}};
  t.stopped = true;
  MapOptions opt;
  int w = 0, h = 0;
  const MapFrame f = mapFrame(geo, t, opt, &w, &h);
  EXPECT_FLOAT_EQ(f.scale, 24.f);
  // 1 m north is 24 px up; 1 m east 24 px right.
  const PointF a = f.toPixel({5, 0, 7}), b = f.toPixel({5, 0, 6}), c = f.toPixel({6, 0, 5});
  EXPECT_NEAR(a.y - b.y, 24.f, 1e-4);
  EXPECT_NEAR(c.x - b.x, 24.f, 1e-4);

  const Image img = renderTopDownMap(geo, t, opt);
  ASSERT_EQ(img.width, w);
  ASSERT_EQ(img.height, h);
  EXPECT_TRUE(isColor(img, f.toPixel({5, 0, 6.5f}), kPolicyColor));
  EXPECT_TRUE(isColor(img, f.toPixel({6.5f, 0, 5}), kExpertColor));
  EXPECT_TRUE(isColor(img, f.toPixel({8, 0, 5}), kGoalColor));
  EXPECT_TRUE(isColor(img, f.toPixel({7, 0, 5}), Color{0, 0, 0, 255}));  // stop square
  // A point inside the room, off every path: navmesh fill.
  const uint8_t* nav =
      img.at(static_cast<int>(f.toPixel({2, 0, 2}).x), static_cast<int>(f.toPixel({2, 0, 2}).y));
  EXPECT_EQ(nav[0], 200);
  EXPECT_EQ(nav[2], 229);
}

}  // namespace
}  // namespace svln::io
