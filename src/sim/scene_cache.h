// Scenes shared by every environment that uses them: each scene file is loaded once (mesh,
// navmesh, renderer) and handed out as shared_ptr<const Scene>. Thread-safe; concurrent
// requests for the same scene wait for one load.
#pragma once

#include <cstddef>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sim/mesh.h"
#include "sim/path_finder.h"
#include "sim/renderer.h"

namespace svln::sim {

struct Scene {
  std::string name;  // the path it was loaded from, or the key given to insert()
  Mesh mesh;         // objects and rooms are used by instruction generation and reports
  PathFinder pathfinder;
  std::unique_ptr<Renderer> renderer;
};

// Builds a Scene from geometry already in memory (tests, procedural scenes). When
// `navmesh_path` is non-empty the navmesh is loaded from / cached to it.
std::shared_ptr<Scene> makeScene(Mesh mesh, const std::string& name,
                                 const NavMeshSettings& settings = {},
                                 const std::string& navmesh_path = "");

// Habitat keeps the navmesh beside the scene: "a/b/17DRP5sb8fy.glb" -> "a/b/17DRP5sb8fy.navmesh".
std::string navMeshPathFor(const std::string& scene_path);

// The navmesh an agent of `settings`' radius and height walks in `scene_path`, as
// habitat-sim picks it: the `.navmesh` beside the scene when it was built for that agent (a
// version-1 file counts as Habitat's default agent), else one built from the scene in memory
// (the file is left as it is). Without a `.navmesh`, PathFinder::loadOrBuild's cache. Only
// navigation: no renderer is built, no mesh kept. Throws "<path>: <problem>".
std::unique_ptr<PathFinder> loadNavMeshForAgent(const std::string& scene_path,
                                                const NavMeshSettings& settings);

class SceneCache {
 public:
  // `max_scenes` bounds how many scenes stay cached (least recently used dropped first;
  // environments keep theirs alive through their shared_ptr). 0 = no bound.
  explicit SceneCache(NavMeshSettings settings = {}, size_t max_scenes = 0,
                      PathSearchLimits limits = {})
      : settings_(settings), max_scenes_(max_scenes), limits_(limits) {}

  // Loads `scene_path` (glTF/GLB via loadScene, navmesh via PathFinder::loadOrBuild) on
  // first use. Throws "<path>: <problem>" when the scene cannot be loaded; a failed load is
  // not cached, so a later call tries again.
  std::shared_ptr<const Scene> get(const std::string& scene_path);
  // Registers an in-memory scene under `key`; get(key) then returns it.
  void insert(const std::string& key, std::shared_ptr<const Scene> scene);
  size_t size() const;
  int loads() const;  // scenes actually loaded from disk so far

 private:
  using Future = std::shared_future<std::shared_ptr<const Scene>>;
  void touch(const std::string& key);  // caller holds mu_

  NavMeshSettings settings_;
  size_t max_scenes_;
  PathSearchLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, Future> scenes_;
  std::list<std::string> lru_;  // most recent first
  int loads_ = 0;
};

}  // namespace svln::sim
