// What the GPU benches share:
//   - Kineto (CPU ops + CUDA kernels) traces as Chrome-trace JSON files: KinetoTrace's
//     start()/stop() around any stretch of work, or profileToFile() around a function; a
//     libtorch built without Kineto (Debian's 1.13) says so and measures on;
//   - makeBenchDataset: a procedural dataset in a temporary folder, its config and train
//     episodes; buildBenchPolicy: a random-weight policy with the synthetic tokenizer;
//   - buildBenchModel: a random-weight StreamVLN on the device, in bf16 on CUDA, its
//     weights drawn there (the 7B model's 7.6 B numbers take ~100 s on the host).
#pragma once

#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>

#if __has_include(<torch/csrc/autograd/profiler_kineto.h>)
#include <torch/csrc/autograd/profiler_kineto.h>
#define SVLN_HAVE_KINETO 1
#endif

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "model/streamvln.h"
#include "model/tokenizer.h"
#include "rl/policy.h"
#include "sim/episode.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/procedural_dataset.h"

namespace svln::bench {

// Seconds since t0, and a wait for the device's queued work (before reading a clock).
inline double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
inline void syncDevice(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// A random-weight `config` on `device` (bf16 on CUDA, fp32 on the host), its weights drawn
// there (model::StreamVLN::random), in eval mode.
inline std::unique_ptr<model::StreamVLN> buildBenchModel(const model::ModelConfig& config,
                                                         const torch::Device& device,
                                                         uint64_t seed = 0) {
  auto m = std::make_unique<model::StreamVLN>(model::StreamVLN::random(
      config, device, device.is_cuda() ? at::kBFloat16 : at::kFloat, seed));
  m->root().eval();
  return m;
}

class KinetoTrace {
 public:
  explicit KinetoTrace(bool cuda) : cuda_(cuda) {}
  bool running() const { return running_; }
  void start() {
#ifdef SVLN_HAVE_KINETO
    using torch::profiler::impl::ActivityType;
    std::set<ActivityType> activities{ActivityType::CPU};
    if (cuda_) activities.insert(ActivityType::CUDA);
    const torch::profiler::impl::ProfilerConfig config(
        torch::profiler::impl::ProfilerState::KINETO);
    try {
      torch::autograd::profiler::prepareProfiler(config, activities);
      torch::autograd::profiler::enableProfiler(config, activities);
      running_ = true;
    } catch (const c10::Error& e) {
      std::printf("profile not started: %.120s\n", e.what());
    }
#else
    std::printf("profile not started: this libtorch has no Kineto profiler\n");
#endif
  }
  // Waits for the device, ends the trace and writes it to `path`.
  void stop(const std::string& path) {
    if (!running_) return;
    running_ = false;
#ifdef SVLN_HAVE_KINETO
    if (cuda_) torch::cuda::synchronize();
    try {
      torch::autograd::profiler::disableProfiler()->save(path);
      std::printf("profile: %s\n", path.c_str());
    } catch (const c10::Error& e) {
      std::printf("profile %s not written: %.120s\n", path.c_str(), e.what());
    }
#endif
  }

 private:
  bool cuda_;
  bool running_ = false;
};

// Runs `fn` under the profiler and writes the trace to `path`.
inline void profileToFile(const std::string& path, const std::function<void()>& fn, bool cuda) {
  KinetoTrace trace(cuda);
  trace.start();
  fn();
  trace.stop(path);
}

struct BenchDataset {
  std::string dir;  // sim::removeTree(dir) when done
  sim::HabitatConfig config;
  std::vector<sim::Episode> train;
};

// `scenes` apartments x `episodes_per_scene` at `size` x `size` RGB-D, episodes capped at
// `max_steps`, under /tmp/svln_<name>_<pid>.
inline BenchDataset makeBenchDataset(const std::string& name, int scenes, int episodes_per_scene,
                                     uint64_t seed, int size, int max_steps) {
  BenchDataset d;
  d.dir = (std::filesystem::temp_directory_path() /
           ("svln_" + name + "_" + std::to_string(::getpid())))
              .string();
  sim::GenDataOptions g;
  g.out_dir = d.dir + "/data";
  g.num_scenes = scenes;
  g.episodes_per_scene = episodes_per_scene;
  g.seed = seed;
  g.sensor_width = g.sensor_height = size;
  const sim::GenDataSummary summary = sim::generateDataset(g);
  d.config = sim::loadHabitatConfig(summary.config_path);
  d.config.rgb.width = d.config.depth.width = size;
  d.config.rgb.height = d.config.depth.height = size;
  d.config.max_episode_steps = max_steps;
  d.train = sim::loadEpisodes(d.config.episodesPath("train")).episodes;
  if (d.train.empty()) throw std::runtime_error(d.config.episodesPath("train") + ": no episodes");
  return d;
}

// A random-weight policy (buildBenchModel) with a synthetic 512-id tokenizer, no adapters.
inline rl::Policy buildBenchPolicy(const std::string& config, const torch::Device& device,
                                   uint64_t seed = 0) {
  rl::Policy policy;
  policy.tokenizer = std::make_unique<model::Tokenizer>(
      model::Tokenizer::fromJsonText(model::syntheticTokenizerJson(512, 3), "synthetic"));
  policy.model = buildBenchModel(model::namedStreamVLNConfig(config), device, seed);
  return policy;
}

}  // namespace svln::bench
