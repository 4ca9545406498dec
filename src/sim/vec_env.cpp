#include "sim/vec_env.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace svln::sim {

namespace {
NavMeshSettings navSettings(const HabitatConfig& cfg) {
  NavMeshSettings s;
  s.agent_radius = cfg.agent_radius;
  s.agent_height = cfg.agent_height;
  return s;
}
}  // namespace

VecEnv::VecEnv(const HabitatConfig& cfg, int num_envs, int num_threads,
               std::shared_ptr<SceneCache> cache)
    : cfg_(cfg),
      cache_(cache ? std::move(cache) : std::make_shared<SceneCache>(
                                          navSettings(cfg), 0,
                                          cfg.habitat_path_limits ? PathSearchLimits{}
                                                                  : PathSearchLimits::unlimited())),
      pool_(num_threads) {
  if (num_envs <= 0)
    throw std::invalid_argument("VecEnv: num_envs must be > 0, got " + std::to_string(num_envs));
  envs_.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i)
    envs_.push_back(Env{nullptr, Episode{}, EpisodeMeasures(cfg.success_distance, cfg.ndtw_reference)});
  infos_.resize(num_envs);
  rgb_.assign(rgbSize() * num_envs, 0);
  depth_.assign(depthSize() * num_envs, 0.f);
}

VecEnv::~VecEnv() = default;

const Episode& VecEnv::episode(int env) const { return envs_.at(env).episode; }

const Scene& VecEnv::scene(int env) const {
  const auto& s = envs_.at(env).scene;
  if (!s) throw std::logic_error("VecEnv::scene: env " + std::to_string(env) + " was never reset");
  return *s;
}

bool VecEnv::anyActive() const {
  for (const EnvInfo& i : infos_)
    if (i.active) return true;
  return false;
}

void VecEnv::reset(int env, const Episode& ep) {
  reset(env, ep, cache_->get(cfg_.scenePath(ep.scene_id)));
}

void VecEnv::reset(int env, const Episode& ep, std::shared_ptr<const Scene> scene) {
  if (env < 0 || env >= numEnvs())
    throw std::out_of_range("VecEnv::reset: no env " + std::to_string(env));
  if (!scene) throw std::invalid_argument("VecEnv::reset: null scene");
  const Vec3& p = ep.start_position;
  // Habitat sets the agent state as given, without a check; so do we, with a warning.
  if (!scene->pathfinder.isNavigable(p)) {
    spdlog::warn(
        "episode {}: start position ({:.3f}, {:.3f}, {:.3f}) is off the navmesh of {}; the agent "
        "starts there as in Habitat",
        ep.episode_id, p.x, p.y, p.z, scene->name);
  }
  Env& e = envs_[env];
  e.scene = std::move(scene);
  e.episode = ep;
  EnvInfo& info = infos_[env];
  info.episode_id = ep.episode_id;
  info.state = {p, headingFromQuat(ep.start_rotation)};
  info.active = true;
  info.done = false;
  info.collided = false;
  info.steps = 0;
  e.measures.reset(e.episode, e.scene->pathfinder, info.state);
  info.metrics = e.measures.metrics();
  render(env);
}

void VecEnv::render(int env) {
  const Env& e = envs_[env];
  const EnvInfo& info = infos_[env];
  uint8_t* rgb = rgb_.data() + static_cast<size_t>(env) * rgbSize();
  float* depth = depth_.data() + static_cast<size_t>(env) * depthSize();
  // One ray cast serves both sensors when they share a camera (the usual RGB-D setup).
  const bool shared = cfg_.rgb.width == cfg_.depth.width && cfg_.rgb.height == cfg_.depth.height &&
                      cfg_.rgb.hfov_deg == cfg_.depth.hfov_deg &&
                      cfg_.rgb.sensor_height_m == cfg_.depth.sensor_height_m;
  if (shared) {
    e.scene->renderer->render(cfg_.depth, info.state.position, info.state.heading_rad, rgb, depth);
  } else {
    e.scene->renderer->render(cfg_.rgb, info.state.position, info.state.heading_rad, rgb, nullptr);
    e.scene->renderer->render(cfg_.depth, info.state.position, info.state.heading_rad, nullptr,
                              depth);
  }
}

void VecEnv::stepOne(int env, Action a) {
  EnvInfo& info = infos_[env];
  if (!info.active) return;
  Env& e = envs_[env];
  const StepOutcome out = applyAction(e.scene->pathfinder, info.state, a, cfg_.actions);
  info.state = out.state;
  info.collided = out.collided;
  ++info.steps;
  e.measures.update(info.state, a, out.collided);
  info.metrics = e.measures.metrics();
  // Habitat ends the episode when STOP is called or the step budget is used up.
  if (a == Action::Stop || info.steps >= cfg_.max_episode_steps) {
    info.done = true;
    info.active = false;
  }
  render(env);
}

void VecEnv::step(const std::vector<Action>& actions) {
  if (static_cast<int>(actions.size()) != numEnvs()) {
    throw std::invalid_argument("VecEnv::step: got " + std::to_string(actions.size()) +
                                " actions for " + std::to_string(numEnvs()) + " envs");
  }
  pool_.parallelFor(numEnvs(), [&](int i) { stepOne(i, actions[i]); });
}

void VecEnv::step(const std::vector<Action>& actions, const std::vector<int>& which) {
  if (static_cast<int>(actions.size()) != numEnvs()) {
    throw std::invalid_argument("VecEnv::step: got " + std::to_string(actions.size()) +
                                " actions for " + std::to_string(numEnvs()) + " envs");
  }
  for (int i : which)
    if (i < 0 || i >= numEnvs())
      throw std::invalid_argument("VecEnv::step: env " + std::to_string(i) + " out of range");
  pool_.parallelFor(static_cast<int>(which.size()),
                    [&](int k) { stepOne(which[k], actions[which[k]]); });
}

}  // namespace svln::sim
