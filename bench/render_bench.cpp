// Renderer throughput: frames/s per core for RGB-D at 64x64, 224x224 and 640x480 with 1
// and 2 threads, over random navigable poses (the main navmesh island) in procedural
// apartments (generateApartment).
//
//   render_bench [--scenes N] [--frames F] [--seed S] [--dump PREFIX]
//
// --dump writes PREFIX_rgb.png and PREFIX_depth.png (640x480, the pose of the first scene
// with the deepest view) to look at.
//
// Per-core figures divide frames by the CPU time the rendering threads consumed
// (CLOCK_THREAD_CPUTIME_ID), so they stay meaningful on a shared machine; wall-clock
// frames/s are printed alongside.
#include <stb/stb_image_write.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sim/path_finder.h"
#include "sim/procedural_scene.h"
#include "sim/renderer.h"

using namespace svln::sim;

namespace {

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Pose {
  Vec3 position;
  float heading;
};

// Random navigable points on the apartment's main island (furniture tops are small
// navmesh islands of their own) with uniform headings.
std::vector<Pose> randomPoses(const Mesh& mesh, int n, uint64_t seed) {
  PathFinder pf;
  pf.build(mesh);
  std::mt19937_64 rng(seed);
  int main_island = -1;
  for (int i = 0; i < 64; ++i) {
    const int island = pf.islandIndex(pf.randomNavigablePoint(rng));
    if (island >= 0 &&
        (main_island < 0 || pf.navigableArea(island) > pf.navigableArea(main_island)))
      main_island = island;
  }
  std::uniform_real_distribution<float> heading(-3.14159265f, 3.14159265f);
  std::vector<Pose> poses;
  for (int i = 0; i < n; ++i)
    poses.push_back({pf.randomNavigablePoint(rng, main_island), heading(rng)});
  return poses;
}

struct Result {
  double cpu_s = 0;  // summed over threads
  double wall_s = 0;
  int frames = 0;
};

// Each thread renders poses[t], poses[t + T], ... into its own buffers (allocated once).
Result run(const Renderer& r, const CameraSpec& cam, const std::vector<Pose>& poses, int frames,
           int threads) {
  std::vector<double> cpu(threads, 0.0);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<uint8_t> rgb(static_cast<size_t>(cam.width) * cam.height * 3);
      std::vector<float> depth(static_cast<size_t>(cam.width) * cam.height);
      const double c0 = threadCpuSeconds();
      for (int f = t; f < frames; f += threads) {
        const Pose& p = poses[f % poses.size()];
        r.render(cam, p.position, p.heading, rgb.data(), depth.data());
      }
      cpu[t] = threadCpuSeconds() - c0;
    });
  for (auto& th : pool) th.join();
  Result res;
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (double c : cpu) res.cpu_s += c;
  res.frames = frames;
  return res;
}

void writeImages(const Renderer& r, const std::vector<Pose>& poses, const std::string& prefix) {
  CameraSpec cam;
  cam.width = 640, cam.height = 480;
  std::vector<uint8_t> rgb(640 * 480 * 3), grey(640 * 480);
  std::vector<float> depth(640 * 480);
  Pose best = poses[0];
  double best_mean = -1;
  for (const Pose& p : poses) {
    r.render(cam, p.position, p.heading, nullptr, depth.data());
    double mean = 0;
    for (float d : depth) mean += d;
    if (mean > best_mean) best_mean = mean, best = p;
  }
  r.render(cam, best.position, best.heading, rgb.data(), depth.data());
  for (size_t i = 0; i < depth.size(); ++i)
    grey[i] = static_cast<uint8_t>(255.f * depth[i] / cam.max_depth_m);
  if (!stbi_write_png((prefix + "_rgb.png").c_str(), 640, 480, 3, rgb.data(), 640 * 3) ||
      !stbi_write_png((prefix + "_depth.png").c_str(), 640, 480, 1, grey.data(), 640))
    throw std::runtime_error(prefix + "_*.png: cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  int scenes = 3, frames = 600;
  uint64_t seed = 1;
  std::string dump;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--scenes"))
      scenes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--frames"))
      frames = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--dump"))
      dump = argv[i + 1];
    else {
      std::fprintf(stderr, "error: unknown flag %s\n", argv[i]);
      return 1;
    }
  }
  struct Size {
    int w, h;
  };
  const Size sizes[] = {{64, 64}, {224, 224}, {640, 480}};
  // [size][threads-1] accumulated over scenes
  Result total[3][2];
  size_t tris = 0;
  for (int s = 0; s < scenes; ++s) {
    const Mesh mesh = generateApartment(seed + s);
    tris += mesh.numTriangles();
    const std::vector<Pose> poses = randomPoses(mesh, 256, seed * 1000 + s);
    const Renderer r(mesh);
    if (s == 0 && !dump.empty()) writeImages(r, poses, dump);
    for (int si = 0; si < 3; ++si) {
      CameraSpec cam;
      cam.width = sizes[si].w, cam.height = sizes[si].h;
      const int n = std::max(20, frames * 224 * 224 / (cam.width * cam.height));
      run(r, cam, poses, std::min(n, 20), 1);  // warm caches
      for (int threads = 1; threads <= 2; ++threads) {
        const Result res = run(r, cam, poses, n, threads);
        Result& acc = total[si][threads - 1];
        acc.cpu_s += res.cpu_s, acc.wall_s += res.wall_s, acc.frames += res.frames;
      }
    }
  }
  std::printf(
      "render_bench: %d procedural apartments (seed %llu), %.0f triangles on average, "
      "RGB-D, hfov 79, random navigable poses\n",
      scenes, static_cast<unsigned long long>(seed), static_cast<double>(tris) / scenes);
  std::printf("%-10s %8s %8s %14s %12s\n", "size", "threads", "frames", "fps/core(cpu)",
              "fps(wall)");
  for (int si = 0; si < 3; ++si)
    for (int t = 0; t < 2; ++t) {
      const Result& r = total[si][t];
      char size[32];
      std::snprintf(size, sizeof size, "%dx%d", sizes[si].w, sizes[si].h);
      std::printf("%-10s %8d %8d %14.1f %12.1f\n", size, t + 1, r.frames, r.frames / r.cpu_s,
                  r.frames / r.wall_s);
    }
  return 0;
}
