// Renderer throughput: frames/s per core for RGB-D at 64x64, 224x224 and 640x480 with 1
// and 2 threads, over random navigable poses in synthetic multi-room apartments (a grid of
// rooms with doors, tiled textured floors, ceilings and box furniture; a few thousand
// triangles, like the procedural scenes).
//
//   render_bench [--scenes N] [--frames F] [--seed S] [--dump PREFIX]
//
// --dump writes PREFIX_rgb.png and PREFIX_depth.png (640x480, the pose of the first scene
// with the deepest view) to look at.
//
// Per-core figures divide frames by the CPU time the rendering threads consumed
// (CLOCK_THREAD_CPUTIME_ID), so they stay meaningful on a shared machine; wall-clock
// frames/s are printed alongside.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <stb/stb_image_write.h>

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

// Appends the box [lo, hi] (four sides and a top, 10 triangles).
void addBox(Mesh& m, Vec3 lo, Vec3 hi, int material) {
  const Vec3 c[8] = {{lo.x, lo.y, lo.z}, {hi.x, lo.y, lo.z}, {hi.x, lo.y, hi.z}, {lo.x, lo.y, hi.z},
                     {lo.x, hi.y, lo.z}, {hi.x, hi.y, lo.z}, {hi.x, hi.y, hi.z}, {lo.x, hi.y, hi.z}};
  const int faces[5][4] = {{0, 1, 5, 4}, {1, 2, 6, 5}, {2, 3, 7, 6}, {3, 0, 4, 7}, {4, 5, 6, 7}};
  for (const auto& f : faces) {
    const auto base = static_cast<uint32_t>(m.positions.size());
    for (int k = 0; k < 4; ++k) m.positions.push_back(c[f[k]]);
    m.uvs.insert(m.uvs.end(), {{0, 0}, {1, 0}, {1, 1}, {0, 1}});
    m.indices.insert(m.indices.end(), {base, base + 1, base + 2, base, base + 2, base + 3});
    m.triangle_material.insert(m.triangle_material.end(), {material, material});
    m.triangle_object.insert(m.triangle_object.end(), {-1, -1});
  }
}

// Horizontal grid of tiles over [x0, x1] x [z0, z1] at height y, uv = metres.
void addTiles(Mesh& m, float x0, float x1, float z0, float z1, float y, float tile, int material) {
  for (float x = x0; x < x1 - 1e-4f; x += tile)
    for (float z = z0; z < z1 - 1e-4f; z += tile) {
      const float xe = std::min(x + tile, x1), ze = std::min(z + tile, z1);
      const auto base = static_cast<uint32_t>(m.positions.size());
      m.positions.insert(m.positions.end(), {{x, y, z}, {xe, y, z}, {xe, y, ze}, {x, y, ze}});
      m.uvs.insert(m.uvs.end(), {{x, z}, {xe, z}, {xe, ze}, {x, ze}});
      m.indices.insert(m.indices.end(), {base, base + 1, base + 2, base, base + 2, base + 3});
      m.triangle_material.insert(m.triangle_material.end(), {material, material});
      m.triangle_object.insert(m.triangle_object.end(), {-1, -1});
    }
}

Texture checker(int size, uint8_t a, uint8_t b, std::mt19937_64& rng) {
  Texture t;
  t.width = t.height = size;
  std::uniform_int_distribution<int> noise(-12, 12);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const int v = (((x * 4 / size) + (y * 4 / size)) % 2 ? a : b) + noise(rng);
      const auto c = static_cast<uint8_t>(std::clamp(v, 0, 255));
      t.rgb.insert(t.rgb.end(), {c, c, c});
    }
  return t;
}

// A 3x2 grid of 4 m rooms with 1 m doors between neighbours, furniture boxes kept 0.4 m
// away from the walls; `furniture` receives their footprints for pose sampling.
Mesh syntheticApartment(uint64_t seed, std::vector<std::pair<Vec3, Vec3>>& furniture) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  Mesh m;
  constexpr int kCols = 3, kRows = 2;
  constexpr float kRoom = 4.f, kWallH = 2.6f, kHalfT = 0.06f, kDoor = 1.f, kDoorH = 2.1f;
  for (int i = 0; i < 4; ++i) m.textures.push_back(checker(64, 90 + 40 * i, 200, rng));
  for (int i = 0; i < 24; ++i) {
    Material mat;
    mat.name = "m" + std::to_string(i);
    mat.base_color = {0.15f + 0.8f * u01(rng), 0.15f + 0.8f * u01(rng), 0.15f + 0.8f * u01(rng)};
    mat.texture = i < 4 ? i : -1;
    m.materials.push_back(mat);
  }
  const float x_end = kCols * kRoom, z_end = kRows * kRoom;
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) {
      const float x0 = c * kRoom, z0 = r * kRoom;
      addTiles(m, x0, x0 + kRoom, z0, z0 + kRoom, 0.f, 0.25f, (r * kCols + c) % 4);
      addTiles(m, x0, x0 + kRoom, z0, z0 + kRoom, kWallH, 1.f, 4);
      // Furniture: a table (top and four legs), a cabinet, a bed/sofa block.
      const int mat = 5 + static_cast<int>(u01(rng) * 19);
      const float tx = x0 + 1.f + 1.5f * u01(rng), tz = z0 + 1.f + 1.5f * u01(rng);
      addBox(m, {tx, 0.72f, tz}, {tx + 0.9f, 0.76f, tz + 0.6f}, mat);
      for (float lx : {tx + 0.02f, tx + 0.82f})
        for (float lz : {tz + 0.02f, tz + 0.52f}) addBox(m, {lx, 0, lz}, {lx + 0.06f, 0.72f, lz + 0.06f}, mat);
      furniture.push_back({{tx, 0, tz}, {tx + 0.9f, 0.76f, tz + 0.6f}});
      const float cx = x0 + 0.4f, cz = z0 + 0.4f + 2.f * u01(rng);
      addBox(m, {cx, 0, cz}, {cx + 0.5f, 1.8f, cz + 0.9f}, 5 + (mat + 3) % 19);
      furniture.push_back({{cx, 0, cz}, {cx + 0.5f, 1.8f, cz + 0.9f}});
    }
  // Walls: every grid line, split around a door in the middle of each interior span.
  auto wall = [&](Vec3 lo, Vec3 hi, int mat) { addBox(m, lo, hi, mat); };
  for (int c = 0; c <= kCols; ++c)
    for (int r = 0; r < kRows; ++r) {
      const float x = c * kRoom, z0 = r * kRoom, zm = z0 + kRoom / 2;
      const int mat = 5 + (c * 7 + r * 3) % 19;
      if (c == 0 || c == kCols) {
        wall({x - kHalfT, 0, z0}, {x + kHalfT, kWallH, z0 + kRoom}, mat);
        continue;
      }
      wall({x - kHalfT, 0, z0}, {x + kHalfT, kWallH, zm - kDoor / 2}, mat);
      wall({x - kHalfT, 0, zm + kDoor / 2}, {x + kHalfT, kWallH, z0 + kRoom}, mat);
      wall({x - kHalfT, kDoorH, zm - kDoor / 2}, {x + kHalfT, kWallH, zm + kDoor / 2}, mat);
    }
  for (int r = 0; r <= kRows; ++r)
    for (int c = 0; c < kCols; ++c) {
      const float z = r * kRoom, x0 = c * kRoom, xm = x0 + kRoom / 2;
      const int mat = 5 + (r * 5 + c * 11) % 19;
      if (r == 0 || r == kRows) {
        wall({x0, 0, z - kHalfT}, {x0 + kRoom, kWallH, z + kHalfT}, mat);
        continue;
      }
      wall({x0, 0, z - kHalfT}, {xm - kDoor / 2, kWallH, z + kHalfT}, mat);
      wall({xm + kDoor / 2, 0, z - kHalfT}, {x0 + kRoom, kWallH, z + kHalfT}, mat);
      wall({xm - kDoor / 2, kDoorH, z - kHalfT}, {xm + kDoor / 2, kWallH, z + kHalfT}, mat);
    }
  (void)x_end, (void)z_end;
  return m;
}

// Random poses at least 0.2 m from walls and furniture footprints (navigable by
// construction), headings uniform.
std::vector<Pose> randomPoses(const std::vector<std::pair<Vec3, Vec3>>& furniture, int n,
                              uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> x(0.2f, 11.8f), z(0.2f, 7.8f), h(-3.14159265f, 3.14159265f);
  std::vector<Pose> poses;
  while (static_cast<int>(poses.size()) < n) {
    const Vec3 p{x(rng), 0.f, z(rng)};
    const float fx = std::fmod(p.x, 4.f), fz = std::fmod(p.z, 4.f);
    if (fx < 0.2f || fx > 3.8f || fz < 0.2f || fz > 3.8f) continue;
    bool blocked = false;
    for (const auto& [lo, hi] : furniture)
      blocked |= p.x > lo.x - 0.2f && p.x < hi.x + 0.2f && p.z > lo.z - 0.2f && p.z < hi.z + 0.2f;
    if (!blocked) poses.push_back({p, h(rng)});
  }
  return poses;
}

struct Result {
  double cpu_s = 0;   // summed over threads
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
    if (!std::strcmp(argv[i], "--scenes")) scenes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--frames")) frames = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--dump")) dump = argv[i + 1];
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
    std::vector<std::pair<Vec3, Vec3>> furniture;
    const Mesh mesh = syntheticApartment(seed + s, furniture);
    tris += mesh.numTriangles();
    const std::vector<Pose> poses = randomPoses(furniture, 256, seed * 1000 + s);
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
  std::printf("render_bench: %d synthetic apartments (seed %llu), %.0f triangles on average, "
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
