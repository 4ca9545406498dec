#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "sim/instruction_generator.h"
#include "sim/path_finder.h"
#include "sim/procedural_scene.h"

namespace svln::sim {
namespace {

constexpr float kPi = 3.14159265358979323846f;

// The two points 0.6 m either side of a door opening's centre, one in each room.
std::pair<Vec3, Vec3> doorSides(const SceneObject& door) {
  const Vec3 c = (door.bbox_min + door.bbox_max) * 0.5f;
  const bool thin_in_z = door.bbox_max.z - door.bbox_min.z < door.bbox_max.x - door.bbox_min.x;
  const Vec3 off = thin_in_z ? Vec3{0, 0, 0.6f} : Vec3{0.6f, 0, 0};
  return {Vec3{c.x, 0, c.z} - off, Vec3{c.x, 0, c.z} + off};
}

TEST(ProceduralScene, SameSeedSameMeshDifferentSeedDifferentMesh) {
  const Mesh a = generateApartment(42), b = generateApartment(42), c = generateApartment(43);
  ASSERT_EQ(a.positions.size(), b.positions.size());
  EXPECT_TRUE(a.positions == b.positions);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.triangle_material, b.triangle_material);
  ASSERT_EQ(a.textures.size(), b.textures.size());
  for (size_t i = 0; i < a.textures.size(); ++i) EXPECT_EQ(a.textures[i].rgb, b.textures[i].rgb);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t i = 0; i < a.objects.size(); ++i) EXPECT_EQ(a.objects[i].name, b.objects[i].name);
  EXPECT_FALSE(a.positions.size() == c.positions.size() && a.positions == c.positions);
}

TEST(ProceduralScene, RoomsWallsDoorsAndFurnitureFollowTheSpec) {
  for (uint64_t seed = 0; seed < 12; ++seed) {
    SCOPED_TRACE(seed);
    const Mesh m = generateApartment(seed);
    ASSERT_GE(m.rooms.size(), 3u);
    ASSERT_LE(m.rooms.size(), 8u);
    std::set<std::string> types;
    for (const Room& r : m.rooms) {
      types.insert(r.name);
      EXPECT_GE(r.bbox_max.y, 2.5f - 1e-4f);  // the ceiling height
      EXPECT_LE(r.bbox_max.y, 2.8f + 1e-4f);
      EXPECT_GE(r.bbox_max.x - r.bbox_min.x, 3.f - 1e-3f);
      EXPECT_GE(r.bbox_max.z - r.bbox_min.z, 3.f - 1e-3f);
    }
    EXPECT_EQ(types.size(), m.rooms.size()) << "room types are distinct";
    Vec3 lo, hi;
    m.boundingBox(lo, hi);
    EXPECT_GE(lo.x, -15.f);
    EXPECT_LE(hi.x, 15.f);
    EXPECT_GE(lo.z, -15.f);
    EXPECT_LE(hi.z, 15.f);
    EXPECT_FLOAT_EQ(lo.y, 0.f);
    ASSERT_EQ(m.uvs.size(), m.positions.size());
    ASSERT_EQ(m.triangle_object.size(), m.numTriangles());

    // Each room's floor has its own textured material, and its walls their own paint.
    std::set<int> floor_textures;
    std::set<std::tuple<float, float, float>> paints;
    for (const Material& mat : m.materials) {
      if (mat.name.size() > 6 && mat.name.rfind(" floor") == mat.name.size() - 6) {
        ASSERT_GE(mat.texture, 0);
        floor_textures.insert(mat.texture);
      }
      if (mat.name.size() > 5 && mat.name.rfind(" wall") == mat.name.size() - 5)
        paints.insert({mat.base_color.x, mat.base_color.y, mat.base_color.z});
    }
    EXPECT_EQ(floor_textures.size(), m.rooms.size());
    EXPECT_EQ(paints.size(), m.rooms.size());

    // Doors: the frame is the opening plus a 6 cm trim on each side.
    int doors = 0;
    for (const SceneObject& o : m.objects) {
      if (o.category != "door") continue;
      ++doors;
      const float w = std::max(o.bbox_max.x - o.bbox_min.x, o.bbox_max.z - o.bbox_min.z) - 0.12f;
      const float t = std::min(o.bbox_max.x - o.bbox_min.x, o.bbox_max.z - o.bbox_min.z) - 0.04f;
      EXPECT_GE(w, 0.9f - 1e-3f);
      EXPECT_LE(w, 1.2f + 1e-3f);
      EXPECT_GE(t, 0.1f - 1e-3f);
      EXPECT_LE(t, 0.15f + 1e-3f);
    }
    EXPECT_GE(doors, static_cast<int>(m.rooms.size()) - 1) << "a spanning tree at least";

    int furniture = 0;
    for (const SceneObject& o : m.objects) {
      if (!isFurniture(o)) continue;
      ++furniture;
      EXPECT_NE(o.name.find(o.category), std::string::npos) << o.name;
      EXPECT_TRUE(types.count(o.room)) << o.room;
      const int r = roomIndexAt(m, (o.bbox_min + o.bbox_max) * 0.5f);
      ASSERT_GE(r, 0);
      EXPECT_EQ(m.rooms[r].name, o.room) << o.name;
      EXPECT_LT(o.bbox_max.y, m.rooms[r].bbox_max.y) << o.name << " fits under the ceiling";
    }
    EXPECT_GE(furniture, static_cast<int>(m.rooms.size())) << "every room type has furniture";
    EXPECT_GE(uniqueLandmarks(m).size(), m.rooms.size());
  }
}

TEST(ProceduralScene, NavmeshJoinsEveryRoomThroughItsDoors) {
  for (uint64_t seed : {1u, 5u, 9u, 17u}) {
    SCOPED_TRACE(seed);
    const Mesh m = generateApartment(seed);
    PathFinder pf;
    pf.build(m);
    std::set<int> islands;
    std::set<int> rooms_reached;
    for (const SceneObject& o : m.objects) {
      if (o.category != "door") continue;
      const auto [a, b] = doorSides(o);
      for (const Vec3& p : {a, b}) {
        const Vec3 s = pf.snapPoint(p);
        ASSERT_FALSE(std::isnan(s.x));
        EXPECT_LT(horizontalDistance(s, p), 0.05f) << "the doorway is kept clear";
        islands.insert(pf.islandIndex(s));
        rooms_reached.insert(roomIndexAt(m, s));
      }
      // Walking through the door is about as long as the straight line (no detour).
      EXPECT_LT(pf.geodesicDistance(pf.snapPoint(a), pf.snapPoint(b)), 1.3f);
    }
    EXPECT_EQ(islands.size(), 1u) << "one island joins all doors";
    EXPECT_EQ(rooms_reached.size(), m.rooms.size());
    // The main island covers most of the floor: furniture leaves room to walk.
    float floor_area = 0;
    for (const Room& r : m.rooms)
      floor_area += (r.bbox_max.x - r.bbox_min.x) * (r.bbox_max.z - r.bbox_min.z);
    EXPECT_GT(pf.navigableArea(*islands.begin()), 0.35f * floor_area);
  }
}

// Three rooms in an L: bedroom [0,4]x[0,4], hallway [4,8]x[0,4], kitchen [4,8]x[-4,0].
Mesh threeRooms() {
  Mesh m;
  m.rooms.push_back({"bedroom", {0, 0, 0}, {4, 2.5f, 4}});
  m.rooms.push_back({"hallway", {4, 0, 0}, {8, 2.5f, 4}});
  m.rooms.push_back({"kitchen", {4, 0, -4}, {8, 2.5f, 0}});
  m.objects.push_back({"blue sofa", "sofa", "kitchen", {5.5f, 0, -3.5f}, {6.5f, 0.9f, -3.f}});
  m.objects.push_back({"white chair", "chair", "kitchen", {6.2f, 0, -2.3f}, {6.5f, 0.9f, -2.f}});
  m.objects.push_back({"white chair", "chair", "kitchen", {5.5f, 0, -2.3f}, {5.8f, 0.9f, -2.f}});
  m.objects.push_back({"red armchair", "armchair", "hallway", {4.6f, 0, 2.6f}, {4.9f, 1, 3.f}});
  m.objects.push_back({"grey toilet", "toilet", "bedroom", {0.2f, 0, 0.2f}, {0.6f, 1, 0.6f}});
  return m;
}

TEST(InstructionGenerator, DescribesRoomsTurnsLandmarksAndTheStop) {
  const Mesh m = threeRooms();
  // East through the hallway, then a 90 degree left turn (east -> north, i.e. +x -> -z).
  const std::vector<Vec3> path = {{2, 0, 2}, {6, 0, 2}, {6, 0, -2}};
  EXPECT_EQ(roomSequence(m, path), (std::vector<int>{0, 1, 2}));
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    // Heading -pi/2 faces +x, the first leg: no initial turn.
    const GeneratedInstruction g = generateInstruction(m, path, -kPi / 2, rng);
    SCOPED_TRACE(g.text);
    EXPECT_EQ(g.rooms, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(g.goal_landmark, 0) << "the nearest unique furniture, not the duplicated chairs";
    const size_t bed = g.text.find("bedroom"), hall = g.text.find("hallway"),
                 left = g.text.find("left"), kitchen = g.text.find("kitchen"),
                 sofa = g.text.find("blue sofa in the kitchen");
    ASSERT_NE(bed, std::string::npos);
    ASSERT_NE(hall, std::string::npos);
    ASSERT_NE(left, std::string::npos);
    ASSERT_NE(kitchen, std::string::npos);
    ASSERT_NE(sofa, std::string::npos);
    EXPECT_TRUE(bed < hall && hall < left && left < kitchen && kitchen <= sofa);
    EXPECT_NE(g.text.find("red armchair"), std::string::npos) << "passed 0.6 m away";
    EXPECT_EQ(g.text.find("right"), std::string::npos);
    EXPECT_EQ(g.text.find("turn around"), std::string::npos);
    EXPECT_EQ(g.text.find("toilet"), std::string::npos) << "2 m off the path";
    EXPECT_EQ(g.text.find("white chair"), std::string::npos) << "ambiguous";
    EXPECT_TRUE(g.text.back() == '.' && std::isupper(static_cast<unsigned char>(g.text[0])));
  }
}

TEST(InstructionGenerator, TurnsAroundWhenFacingAwayAndWordingVaries) {
  const Mesh m = threeRooms();
  const std::vector<Vec3> path = {{2, 0, 2}, {6, 0, 2}, {6, 0, -2}};
  std::set<std::string> texts;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    const GeneratedInstruction g = generateInstruction(m, path, kPi / 2, rng);  // faces -x
    EXPECT_EQ(g.text.rfind("Turn around", 0), 0u) << g.text;
    texts.insert(g.text);
  }
  EXPECT_GE(texts.size(), 8u) << "templates are chosen with the RNG";
  std::mt19937_64 r1(3), r2(3);
  EXPECT_EQ(generateInstruction(m, path, 0.f, r1).text, generateInstruction(m, path, 0.f, r2).text);
}

TEST(InstructionGenerator, RightTurnAndStopWithoutLandmark) {
  Mesh m = threeRooms();
  m.objects.erase(m.objects.begin());  // no sofa near the goal
  // West to east inside the hallway, then south (+z): a right turn, goal in the hallway.
  const std::vector<Vec3> path = {{4.5f, 0, 1}, {7, 0, 1}, {7, 0, 3.5f}};
  std::mt19937_64 rng(1);
  const GeneratedInstruction g = generateInstruction(m, path, -kPi / 2, rng);
  EXPECT_EQ(g.rooms, (std::vector<int>{1}));
  EXPECT_EQ(g.goal_landmark, -1);
  EXPECT_NE(g.text.find("right"), std::string::npos) << g.text;
  EXPECT_EQ(g.text.find("left"), std::string::npos) << g.text;
  EXPECT_NE(g.text.find("in the hallway"), std::string::npos) << g.text;
}

}  // namespace
}  // namespace svln::sim
