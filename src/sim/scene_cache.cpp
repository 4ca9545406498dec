#include "sim/scene_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "sim/gltf_io.h"

namespace svln::sim {

std::string navMeshPathFor(const std::string& scene_path) {
  return std::filesystem::path(scene_path).replace_extension(".navmesh").string();
}

std::unique_ptr<PathFinder> loadNavMeshForAgent(const std::string& scene_path,
                                                const NavMeshSettings& settings) {
  const std::string navmesh = navMeshPathFor(scene_path);
  auto pf = std::make_unique<PathFinder>();
  if (std::filesystem::exists(navmesh)) {
    pf->loadNavMesh(navmesh);
    if (pf->settings().agent_radius == settings.agent_radius &&
        pf->settings().agent_height == settings.agent_height)
      return pf;
  }
  if (!std::filesystem::exists(scene_path)) {
    if (pf->isLoaded())
      throw std::runtime_error(scene_path + ": scene file not found (" + navmesh +
                               " is for another agent size; this one needs the scene)");
    throw std::runtime_error(scene_path + ": scene file not found (nor " + navmesh + ")");
  }
  pf->loadOrBuild(navmesh, loadScene(scene_path), settings);
  return pf;
}

std::shared_ptr<Scene> makeScene(Mesh mesh, const std::string& name,
                                 const NavMeshSettings& settings, const std::string& navmesh_path) {
  auto scene = std::make_shared<Scene>();
  scene->name = name;
  scene->mesh = std::move(mesh);
  if (navmesh_path.empty())
    scene->pathfinder.build(scene->mesh, settings);
  else
    scene->pathfinder.loadOrBuild(navmesh_path, scene->mesh, settings);
  scene->renderer = std::make_unique<Renderer>(scene->mesh);
  return scene;
}

void SceneCache::touch(const std::string& key) {
  lru_.remove(key);
  lru_.push_front(key);
  if (max_scenes_ == 0) return;
  // Drop the oldest entries, never the one just used.
  while (lru_.size() > max_scenes_) {
    scenes_.erase(lru_.back());
    lru_.pop_back();
  }
}

std::shared_ptr<const Scene> SceneCache::get(const std::string& scene_path) {
  std::promise<std::shared_ptr<const Scene>> promise;
  Future future;
  bool loader = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = scenes_.find(scene_path);
    if (it != scenes_.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      scenes_.emplace(scene_path, future);
      loader = true;
    }
    touch(scene_path);
  }
  if (!loader) return future.get();  // cached, or another thread is loading it: wait

  // Loaded outside the lock so other scenes can be fetched meanwhile.
  try {
    if (!std::filesystem::exists(scene_path))
      throw std::runtime_error(scene_path + ": scene file not found");
    auto scene =
        makeScene(loadScene(scene_path), scene_path, settings_, navMeshPathFor(scene_path));
    scene->pathfinder.setSearchLimits(limits_);
    promise.set_value(scene);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++loads_;
    }
    spdlog::info("scene {}: {} triangles, navigable area {:.1f} m^2", scene_path,
                 scene->mesh.numTriangles(), scene->pathfinder.navigableArea());
    return scene;
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      scenes_.erase(scene_path);
      lru_.remove(scene_path);
    }
    promise.set_exception(std::current_exception());  // waiters see the same error
    throw;
  }
}

void SceneCache::insert(const std::string& key, std::shared_ptr<const Scene> scene) {
  std::promise<std::shared_ptr<const Scene>> p;
  p.set_value(std::move(scene));
  std::lock_guard<std::mutex> lock(mu_);
  scenes_[key] = p.get_future().share();
  touch(key);
}

size_t SceneCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return scenes_.size();
}

int SceneCache::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

}  // namespace svln::sim
