// Top-down maps of an episode, north-up (-Z towards the top, +X to the right), at a fixed
// scale in pixels per metre:
//
//   +--------------------------------+
//   | ep 12  SUCCESS  dist 1.2 m     |   title
//   |  ####  walls (slices of mesh)  |
//   |  ....  navmesh (light fill)    |
//   |  ===== reference path (green)  |
//   |  o---- agent: policy blue,     |
//   |        expert orange           |
//   |  x     off-track triggers      |
//   |  (G)   goal + success radius   |
//   |  []    stop point   |--1 m--|  |   scale bar
//   +--------------------------------+
#pragma once

#include <string>
#include <vector>

#include "io/raster.h"
#include "sim/episode.h"
#include "sim/mesh.h"
#include "sim/path_finder.h"
#include "sim/vec3.h"

namespace svln::io {

// What an agent did in one episode; rl fills it from a Trajectory (positions from the
// environment, expert_steps from StepRecord::source == Expert).
struct EpisodeTrace {
  std::string episode_id;
  std::string instruction;
  std::vector<sim::Vec3> positions;  // start, then the position after each step
  std::vector<int> actions;          // sim::Action per step (for video captions)
  std::vector<bool> expert_steps;    // per step: the expert acted (positions[i] -> [i+1])
  std::vector<sim::Vec3> triggers;   // where the expert took over (off-track triggers)
  std::vector<sim::Vec3> reference_path;
  std::vector<sim::Goal> goals;
  bool stopped = false;  // the episode ended with STOP at positions.back()
  bool success = false;
  float distance_to_goal = -1.f;  // geodesic at the end; < 0 when unknown
  bool finished = true;           // false for a video frame mid-episode (no outcome shown)
};

// Scene geometry as seen from above, computed once per scene.
struct MapGeometry {
  std::vector<sim::Vec3> navmesh_triangles;  // 3 vertices each
  // Segments (2 vertices each) where walls and objects cut horizontal planes above the floor.
  std::vector<sim::Vec3> outline_segments;
};

struct MapOptions {
  float pixels_per_m = 24.f;
  int margin_px = 16;
  int max_size_px = 2048;  // the scale shrinks for scenes larger than this
  bool legend = true;
};

// Slices the mesh at `floor_y + h` for each h in `slice_heights_m` (the cut of a triangle
// by the plane y = c is the segment between its two edge crossings).
MapGeometry makeMapGeometry(const sim::PathFinder& pf, const sim::Mesh* mesh, float floor_y,
                            const std::vector<float>& slice_heights_m = {0.3f, 1.2f});

// Maps world XZ to pixels: px = margin + (x - x_min) * s, py = margin + (z - z_min) * s.
struct MapFrame {
  float x_min = 0.f, z_min = 0.f, scale = 1.f;
  int margin = 0, header = 0;
  PointF toPixel(const sim::Vec3& p) const {
    return {margin + (p.x - x_min) * scale, header + margin + (p.z - z_min) * scale};
  }
};
// The frame used by renderTopDownMap for this geometry and trace (exposed for tests).
MapFrame mapFrame(const MapGeometry& geo, const EpisodeTrace& trace, const MapOptions& opt,
                  int* width = nullptr, int* height = nullptr);

Image renderTopDownMap(const MapGeometry& geo, const EpisodeTrace& trace,
                       const MapOptions& opt = {});
void writeTopDownMap(const std::string& path, const MapGeometry& geo, const EpisodeTrace& trace,
                     const MapOptions& opt = {});

// Colours, shared with the legend of the report.
inline constexpr Color kPolicyColor{31, 119, 180, 255};
inline constexpr Color kExpertColor{255, 127, 14, 255};
inline constexpr Color kReferenceColor{44, 160, 44, 150};
inline constexpr Color kTriggerColor{214, 39, 40, 255};
inline constexpr Color kGoalColor{214, 39, 40, 255};

}  // namespace svln::io
