// N navigation environments stepped together (EnvPool-style, batch first). Observations
// live in contiguous buffers owned by the VecEnv and are overwritten in place each step:
//
//   actions[N] --step()--> thread pool: for each active env i in parallel
//                            applyAction -> EpisodeMeasures.update -> render
//                          rgb   [N, H, W, 3] uint8   (rgb_sensor size)
//                          depth [N, Hd, Wd]  float   (depth_sensor size, metres or [0,1])
//                          infos [N]                  (state, done, metrics so far)
//
// An env is active from reset() until its episode ends (STOP or max_episode_steps); later
// actions for it are ignored until the next reset(). Stepping allocates nothing. reset()
// and step() are called from one thread (the pool parallelises inside step()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"
#include "sim/measures.h"
#include "sim/scene_cache.h"
#include "sim/thread_pool.h"

namespace svln::sim {

struct EnvInfo {
  std::string episode_id;
  AgentState state;
  bool active = false;     // reset and not yet done
  bool done = false;       // the episode ended (STOP or the step limit)
  bool collided = false;   // the last action's move was cut short
  int steps = 0;           // actions taken this episode
  EpisodeMetrics metrics;  // as of the last step
};

class VecEnv {
 public:
  // Scenes come from `cache` (one is made when null; pass a shared one so several VecEnvs
  // or the expert see the same scenes).
  VecEnv(const HabitatConfig& cfg, int num_envs, int num_threads,
         std::shared_ptr<SceneCache> cache = nullptr);
  ~VecEnv();

  int numEnvs() const { return static_cast<int>(envs_.size()); }
  const HabitatConfig& config() const { return cfg_; }
  SceneCache& sceneCache() { return *cache_; }

  // Starts `ep` in env `env`: the scene is cfg.scenePath(ep.scene_id) from the cache
  // (or an in-memory scene inserted under ep.scene_id). A start position off the navmesh
  // is used as given, as Habitat does, with a warning naming the episode. Renders the first
  // observation.
  void reset(int env, const Episode& ep);
  void reset(int env, const Episode& ep, std::shared_ptr<const Scene> scene);

  // One action per env (size numEnvs()); only active envs move.
  void step(const std::vector<Action>& actions);
  // Only the envs in `which` take their action (the others are not touched, so another
  // thread may read or reset them meanwhile); stepping disjoint subsets in any order
  // equals one step().
  void step(const std::vector<Action>& actions, const std::vector<int>& which);

  const uint8_t* rgb() const { return rgb_.data(); }    // [N, H, W, 3]
  const float* depth() const { return depth_.data(); }  // [N, Hd, Wd]
  const uint8_t* rgb(int env) const { return rgb_.data() + static_cast<size_t>(env) * rgbSize(); }
  const float* depth(int env) const {
    return depth_.data() + static_cast<size_t>(env) * depthSize();
  }
  size_t rgbSize() const { return static_cast<size_t>(cfg_.rgb.width) * cfg_.rgb.height * 3; }
  size_t depthSize() const { return static_cast<size_t>(cfg_.depth.width) * cfg_.depth.height; }

  const EnvInfo& info(int env) const { return infos_.at(env); }
  const std::vector<EnvInfo>& infos() const { return infos_; }
  const Episode& episode(int env) const;
  const Scene& scene(int env) const;
  bool anyActive() const;

 private:
  struct Env {
    std::shared_ptr<const Scene> scene;
    Episode episode;
    EpisodeMeasures measures;
  };
  void stepOne(int env, Action a);
  void render(int env);

  HabitatConfig cfg_;
  std::shared_ptr<SceneCache> cache_;
  ThreadPool pool_;
  std::vector<Env> envs_;
  std::vector<EnvInfo> infos_;
  std::vector<uint8_t> rgb_;
  std::vector<float> depth_;
};

}  // namespace svln::sim
