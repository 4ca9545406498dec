// VecEnv stepping throughput: env steps/s (action + navmesh move + metrics + RGB-D render)
// for N environments in procedural apartments, at 64x64 and 224x224, on 1 and 2 threads.
//
//   vec_env_bench [--envs N] [--steps S] [--scenes K] [--seed S]
//
// Per-core figures divide env steps by the process CPU time (CLOCK_PROCESS_CPUTIME_ID), so
// they stay meaningful on a shared machine; wall-clock steps/s are printed alongside. The
// policy is random (60% forward, 20% each turn, STOP after 30 steps with p = 0.02); an env
// whose episode ended is reset with a fresh random episode between steps (not timed).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sim/procedural_scene.h"
#include "sim/vec_env.h"

using namespace svln::sim;

namespace {

double processCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

Episode randomEpisode(const Scene& scene, const std::string& scene_id, std::mt19937_64& rng,
                      int id) {
  Episode e;
  e.episode_id = std::to_string(id);
  e.scene_id = scene_id;
  const Vec3 start = scene.pathfinder.randomNavigablePoint(rng);
  const int island = scene.pathfinder.islandIndex(start);
  const Vec3 goal = scene.pathfinder.randomNavigablePoint(rng, island);
  std::uniform_real_distribution<float> heading(-3.14159265f, 3.14159265f);
  e.start_position = start;
  e.start_rotation = quatFromHeading(heading(rng));
  e.goals.push_back({goal, 3.f});
  scene.pathfinder.findPath(start, goal, e.reference_path, &e.geodesic_distance);
  return e;
}

struct Result {
  double cpu_s = 0, wall_s = 0;
  long steps = 0;
};

Result run(const std::vector<std::shared_ptr<const Scene>>& scenes, int res, int envs, int threads,
           int steps, uint64_t seed) {
  HabitatConfig cfg;
  cfg.rgb = {res, res, 79.f, 1.25f, 0.f, 10.f, false};
  cfg.depth = cfg.rgb;
  auto cache = std::make_shared<SceneCache>();
  for (size_t s = 0; s < scenes.size(); ++s) cache->insert("proc/" + std::to_string(s), scenes[s]);
  VecEnv env(cfg, envs, threads, cache);
  std::mt19937_64 rng(seed);
  int next_id = 0;
  const auto resetEnv = [&](int i) {
    const int s = static_cast<int>(rng() % scenes.size());
    env.reset(i, randomEpisode(*scenes[s], "proc/" + std::to_string(s), rng, next_id++));
  };
  for (int i = 0; i < envs; ++i) resetEnv(i);
  std::vector<Action> actions(envs);
  Result r;
  for (int t = 0; t < steps; ++t) {
    for (int i = 0; i < envs; ++i) {
      const int u = static_cast<int>(rng() % 100);
      actions[i] = u < 60 ? Action::MoveForward : u < 80 ? Action::TurnLeft : Action::TurnRight;
      if (env.info(i).steps > 30 && u < 2) actions[i] = Action::Stop;
    }
    const double c0 = processCpuSeconds();
    const auto w0 = std::chrono::steady_clock::now();
    env.step(actions);
    r.wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    r.cpu_s += processCpuSeconds() - c0;
    r.steps += envs;
    for (int i = 0; i < envs; ++i)
      if (env.info(i).done) resetEnv(i);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int envs = 8, steps = 200, num_scenes = 2;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--envs"))
      envs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps"))
      steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--scenes"))
      num_scenes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 1;
    }
  }
  std::vector<std::shared_ptr<const Scene>> scenes;
  for (int s = 0; s < num_scenes; ++s)
    scenes.push_back(makeScene(generateApartment(seed + s), "proc/" + std::to_string(s)));
  std::printf("VecEnv step throughput: %d envs, %d steps, %d procedural scenes\n", envs, steps,
              num_scenes);
  std::printf("%-9s %-8s %14s %14s\n", "res", "threads", "steps/s/core", "steps/s wall");
  for (int res : {64, 224}) {
    for (int threads : {1, 2}) {
      const Result r = run(scenes, res, envs, threads, steps, seed);
      std::printf("%3dx%-5d %-8d %14.1f %14.1f\n", res, res, threads, r.steps / r.cpu_s,
                  r.steps / r.wall_s);
    }
  }
  return 0;
}
