// Navigation mesh queries, named as in habitat-sim's esp::nav::PathFinder. The navmesh is
// built from a scene Mesh with Recast (Habitat's default settings) or loaded from a
// Habitat-compatible `.navmesh` file with Detour.
//
// Thread safety: every const method may be called concurrently from many threads (each
// call borrows its own dtNavMeshQuery from a pool); build/load are not concurrent with
// queries. See docs/navigation.md for the query semantics and the .navmesh format.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sim/mesh.h"
#include "sim/vec3.h"

namespace svln::sim {

// Habitat's NavMeshSettings defaults (habitat-sim esp/nav/PathFinder.h).
struct NavMeshSettings {
  float cell_size = 0.05f;
  float cell_height = 0.2f;
  float agent_height = 1.5f;
  float agent_radius = 0.1f;
  float agent_max_climb = 0.2f;
  float agent_max_slope_deg = 45.f;
  float region_min_size = 20.f;
  float region_merge_size = 20.f;
  float edge_max_len = 12.f;
  float edge_max_error = 1.3f;
  float verts_per_poly = 6.f;
  float detail_sample_dist = 6.f;
  float detail_sample_max_error = 1.f;
  bool filter_low_hanging_obstacles = true;
  bool filter_ledge_spans = true;
  bool filter_walkable_low_height_spans = true;
};

// How far one shortest-path search may go. Habitat's (habitat-sim 0.2.4 PathFinder.cpp) are
// a 256-polygon path buffer and a 2048-node A* pool, and a partial result counts as no path
// (+inf); they apply by default so that long or convoluted paths fail here as they do in
// Habitat. unlimited(): a 2048-polygon buffer and one search node per navmesh polygon.
struct PathSearchLimits {
  int max_path_polys = 256;
  int max_nodes = 2048;  // 0: one per navmesh polygon
  static PathSearchLimits unlimited() { return {2048, 0}; }
  bool operator==(const PathSearchLimits& o) const {
    return max_path_polys == o.max_path_polys && max_nodes == o.max_nodes;
  }
};

class PathFinder {
 public:
  PathFinder();
  ~PathFinder();
  PathFinder(PathFinder&&) noexcept;
  PathFinder& operator=(PathFinder&&) noexcept;
  PathFinder(const PathFinder&) = delete;
  PathFinder& operator=(const PathFinder&) = delete;

  // Builds the navmesh from scene geometry. Throws std::runtime_error when Recast fails.
  void build(const Mesh& mesh, const NavMeshSettings& settings = {});
  // Habitat `.navmesh`: Detour's tiled "MSET" set (version 1, or version 2 with Habitat's
  // NavMeshSettings after the header); see docs/navigation.md. Throws "<path>: <problem>".
  void loadNavMesh(const std::string& path);
  // Writes atomically (temp file + rename). Version 1 is what every habitat-sim release
  // reads; version 2 (read and written since habitat-sim 0.2.2) also records the settings.
  void saveNavMesh(const std::string& path, int format_version = 1) const;
  // Loads `navmesh_path` when it exists, is valid and was built with `settings`, else
  // builds from `mesh`; saves it there only for Habitat's default settings (another agent
  // size is built in memory and leaves the file as it is).
  void loadOrBuild(const std::string& navmesh_path, const Mesh& mesh,
                   const NavMeshSettings& settings = {});
  bool isLoaded() const;
  // Search limits of geodesicDistance and findPath (default: Habitat's).
  void setSearchLimits(const PathSearchLimits& limits);
  const PathSearchLimits& searchLimits() const;
  // Settings the navmesh was built with (from the file for version-2 `.navmesh`, else the
  // defaults when loaded from a version-1 file).
  const NavMeshSettings& settings() const;

  // Geodesic (shortest-path) distance; +infinity when no path exists.
  float geodesicDistance(const Vec3& start, const Vec3& end) const;
  // Distance to the nearest of several goals (Habitat's MultiGoalShortestPath).
  float geodesicDistance(const Vec3& start, const std::vector<Vec3>& ends) const;
  // Shortest path as a polyline, as Habitat's findPath: the polygons are searched between the
  // snapped points, the polyline runs between the requested ones clamped horizontally onto
  // the first and last polygon (a point above the surface keeps its height, and the length
  // includes it). False when unreachable.
  bool findPath(const Vec3& start, const Vec3& end, std::vector<Vec3>& points,
                float* geodesic_distance = nullptr) const;
  // Closest point on the navmesh; NaN coordinates when nothing is within reach.
  Vec3 snapPoint(const Vec3& p) const;
  // True when p lies on the navmesh within max_y_delta of its surface.
  bool isNavigable(const Vec3& p, float max_y_delta = 0.5f) const;
  // Moves from `start` towards `end` along the navmesh surface, sliding along walls
  // (Habitat's tryStep). Returns the reached point.
  Vec3 tryStep(const Vec3& start, const Vec3& end) const;
  // The same without sliding (Habitat's tryStepNoSliding, `allow_sliding: False`): the move
  // keeps to the straight segment and stops where it meets the navmesh boundary.
  Vec3 tryStepNoSliding(const Vec3& start, const Vec3& end) const;
  // Distance from p's projection to the nearest navmesh boundary edge (Habitat's
  // distanceToClosestObstacle: Detour's findDistanceToWall); max_search_radius_m when none is
  // within it, +inf when p does not project onto the navmesh.
  float distanceToClosestObstacle(const Vec3& p, float max_search_radius_m = 2.f) const;
  // Connected component ("island") id of the polygon under p; -1 when off the navmesh.
  int islandIndex(const Vec3& p) const;
  // Walkable area (m^2) of an island, or of the whole navmesh when island < 0.
  float navigableArea(int island = -1) const;
  // Uniform (by area) random navigable point, optionally restricted to an island.
  Vec3 randomNavigablePoint(std::mt19937_64& rng, int island = -1) const;
  // Axis-aligned bounds of the navmesh.
  void bounds(Vec3& lo, Vec3& hi) const;
  // Triangles of the navmesh polygons (3 vertices each), for top-down maps.
  std::vector<Vec3> navMeshTriangles() const;

 private:
  Vec3 step(const Vec3& start, const Vec3& end, bool allow_sliding) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace svln::sim
