// English route instructions generated from a scene's rooms and objects and a reference
// path, in the style of R2R ("Walk out of the bedroom, turn left into the hallway, and stop
// next to the blue sofa in the living room."). Everything said is computed from geometry:
//
//   path --sample every 5 cm--> room sequence (collapsed)      -> "walk out of / into"
//        --corners, merged within 1 m, |angle| >= 40 deg-->    -> "turn left / right"
//        --objects within 1 m of the path-->                   -> "walk past the ..."
//        --nearest unique furniture within 1.5 m of the goal--> -> "stop next to ..."
#pragma once

#include <random>
#include <string>
#include <vector>

#include "sim/mesh.h"

namespace svln::sim {

struct InstructionOptions {
  float pass_distance_m = 1.0f;     // a landmark counts as passed within this of the path
  float goal_landmark_m = 1.5f;     // the stop landmark lies within this of the goal
  float turn_threshold_deg = 40.f;  // smaller heading changes are "straight on"
  float corner_merge_m = 1.0f;      // corners closer than this add up to one turn
  int max_pass_landmarks = 2;
};

struct GeneratedInstruction {
  std::string text;
  std::vector<int> rooms;      // indices into Mesh::rooms, in the order walked through
  int goal_landmark = -1;      // object named in the stop clause; -1 when none near
  std::vector<int> landmarks;  // objects named along the way
};

// Room (index into mesh.rooms) whose XZ rectangle contains p; -1 when none.
int roomIndexAt(const Mesh& mesh, const Vec3& p);
// Rooms visited by a polyline in order, consecutive repeats merged and visits shorter than
// 0.2 m (a corner clipped in a doorway) dropped.
std::vector<int> roomSequence(const Mesh& mesh, const std::vector<Vec3>& path);
// Horizontal distance from p to an object's bounding rectangle (0 inside it).
float distanceToObject(const SceneObject& obj, const Vec3& p);
// Furniture objects whose name no other object in the mesh shares: only these can be
// referred to unambiguously.
std::vector<int> uniqueLandmarks(const Mesh& mesh);

// `path` runs from the start to the goal (at least 2 points); `start_heading_rad` is the
// agent's initial yaw (0 looks along -Z), used for an initial "turn around".
GeneratedInstruction generateInstruction(const Mesh& mesh, const std::vector<Vec3>& path,
                                         float start_heading_rad, std::mt19937_64& rng,
                                         const InstructionOptions& opt = {});

}  // namespace svln::sim
