// Rollout throughput of rl::RolloutEngine in environment actions/s at several numbers of
// environments, the share of time in model / rendering / expert, and the one-episode-at-a-
// time baseline users run today, on procedural scenes.
//
//   rollout_bench [--config tiny|small|7b] [--device cpu|cuda] [--envs 1,8,32,64]
//                 [--max_steps 32] [--threads N] [--size 224] [--scenes 3]
//                 [--episodes_per_scene 40] [--seed 0] [--baseline_episodes 2]
//                 [--sdpa_cudnn 0|1] [--batched 0|1] [--allow_stop 0|1] [--lora_r 32]
//                 [--profile DIR] [--profile_steps 8,10]
//
// --batched 1 (default): the engine's batched path (a SlotKVCache slot per env, one vision
// pass, batched prefill and decoding per step); 0: each env's session calls the model alone.
// --allow_stop 0: the policy never samples STOP, so random weights walk full-length episodes
// (max_steps, window resets included) instead of stopping within a few actions.
//
// --lora_r R: the policy carries the trainer's default adapters (rank R on every q_proj
// and v_proj, B non-zero so they compute), as during training; 0: none.
//
// Each envs count runs twice on the same episodes: untimed (the actions/s figure) and with
// RolloutOptions::timings (the device synchronized at each phase boundary) for the shares:
// vision tower, policy prefill + decoding, expert/intervention, env (physics + render),
// other (frame hand-over, bookkeeping). --profile DIR writes a Kineto trace of steps
// [a, b) of the largest run (DIR/rollout_steps.json).
//
// Baseline (one episode at a time, no KV reuse across steps, as a Python generate loop
// does): for the policy turns of batch-1 trajectories, every turn re-encodes all frames of
// the window so far and prefills the whole prefix from an empty cache, then decodes the
// turn's tokens (KV reuse inside the turn only); its per-action time is that model time
// plus the measured non-model (demo) time per action.
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <torch/version.h>
#include <execinfo.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "model/attention.h"
#include "model/lora.h"
#include "model/chat_template.h"
#include "model/streamvln.h"
#include "rl/policy.h"
#include "rl/rollout.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"
#include "sim/scene_cache.h"
#include "sim/vec_env.h"

using namespace svln;

namespace {

struct Options {
  int sdpa_cudnn = -1;  // -1: the library default; 0/1: cuDNN attention off/on
  std::string config = "tiny";
  std::string device = "cpu";
  std::vector<int> envs = {1, 8, 32, 64};
  int max_steps = 32;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int size = 224;
  int scenes = 3;
  int episodes_per_scene = 40;
  uint64_t seed = 0;
  int baseline_episodes = 2;
  bool batched = true;
  bool allow_stop = true;
  int64_t lora_r = 32;
  std::string profile_dir;
  int profile_from = 8, profile_to = 10;
};

Options parseArgs(int argc, char** argv) {
  Options o;
  CLI::App app{"7B-scale rollout throughput of the batched engine vs the batch-1 loop"};
  app.add_option("--config", o.config, "tiny, small or 7b")->capture_default_str();
  app.add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  app.add_option("--envs", o.envs, "numbers of environments, comma-separated")
      ->delimiter(',')->capture_default_str();
  app.add_option("--max_steps", o.max_steps, "episode cap")->capture_default_str();
  app.add_option("--threads", o.threads, "env threads")->capture_default_str();
  app.add_option("--size", o.size, "RGB-D side in pixels")->capture_default_str();
  app.add_option("--scenes", o.scenes, "procedural apartments")->capture_default_str();
  app.add_option("--episodes_per_scene", o.episodes_per_scene)->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_option("--baseline_episodes", o.baseline_episodes,
                 "episodes of the batch-1 no-KV loop (0: none)")->capture_default_str();
  app.add_option("--sdpa_cudnn", o.sdpa_cudnn, "-1 library default, 0 off, 1 on")
      ->capture_default_str();
  app.add_option("--batched", o.batched, "1: the batched engine; 0: envs one by one")
      ->capture_default_str();
  app.add_option("--allow_stop", o.allow_stop, "0: the policy never samples STOP")
      ->capture_default_str();
  app.add_option("--lora_r", o.lora_r, "the trainer's q/v adapters at this rank (0: none)")
      ->capture_default_str();
  app.add_option("--profile", o.profile_dir, "write a Kineto trace of the largest run here");
  std::vector<int> steps{o.profile_from, o.profile_to};
  app.add_option("--profile_steps", steps, "A,B: the traced steps [A, B)")
      ->delimiter(',')->expected(2)->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  o.profile_from = steps[0];
  o.profile_to = steps[1];
  return o;
}

using bench::secondsSince;
using bench::syncDevice;

// The first n episodes, cycling when the split has fewer.
std::vector<sim::Episode> take(const std::vector<sim::Episode>& all, int n) {
  std::vector<sim::Episode> out;
  for (int i = 0; i < n; ++i) out.push_back(all[static_cast<size_t>(i) % all.size()]);
  return out;
}

struct RunResult {
  double seconds = 0;
  long actions = 0;
  std::vector<rl::Trajectory> trajectories;
  rl::RolloutTimings timings;
};

RunResult rollout(const sim::HabitatConfig& cfg, std::shared_ptr<sim::SceneCache> cache,
                  rl::Policy& policy, const std::vector<sim::Episode>& episodes,
                  rl::RolloutMode mode, const Options& o, const torch::Device& device,
                  uint64_t seed, bool timed = false, bench::KinetoTrace* trace = nullptr) {
  const int threads = o.threads;
  sim::VecEnv envs(cfg, static_cast<int>(episodes.size()), threads, cache);
  rl::RolloutOptions ro;
  ro.mode = mode;
  ro.decode.greedy = mode != rl::RolloutMode::kTrain;
  ro.decode.allow_stop = o.allow_stop;
  ro.batched = o.batched;
  ro.max_episode_steps = cfg.max_episode_steps;
  ro.timings = timed;
  if (trace) {
    ro.on_step = [&](int step) {
      if (step == o.profile_from) trace->start();
      if (step == o.profile_to) trace->stop(o.profile_dir + "/rollout_steps.json");
    };
  }
  rl::RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  torch::NoGradGuard no_grad;
  RunResult r;
  syncDevice(device);
  const auto t0 = std::chrono::steady_clock::now();
  r.trajectories = engine.run(episodes, 1, seed);
  syncDevice(device);
  r.seconds = secondsSince(t0);
  if (trace) trace->stop(o.profile_dir + "/rollout_steps.json");  // a run shorter than b
  for (const auto& t : r.trajectories) r.actions += static_cast<long>(t.steps.size());
  r.timings = engine.timings();
  return r;
}

// Model seconds of the no-KV-reuse loop over the policy turns of `trajs` (see the top).
double baselineModelSeconds(model::StreamVLN& m, const std::vector<rl::Trajectory>& trajs,
                            const torch::Device& device) {
  torch::NoGradGuard no_grad;
  syncDevice(device);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& t : trajs) {
    const model::AnswerToken* prev = nullptr;
    model::KVCache cache;
    for (const auto& a : t.answer_tokens) {
      if (a.source != model::TokenSource::kPolicy) {
        prev = nullptr;
        continue;
      }
      const model::WindowRecord& w = t.windows.at(a.window);
      const bool continues = prev && prev->window == a.window && prev->ids_index + 1 == a.ids_index;
      if (continues) {
        model::Qwen2Inputs in;
        in.input_ids = torch::tensor({static_cast<int64_t>(prev->token)},
                                     torch::TensorOptions().dtype(torch::kLong))
                           .view({1, 1})
                           .to(device);
        in.cache = &cache;
        m.lm->forward(in, true);
      } else {
        // A new turn: everything before the answer from scratch.
        model::SegmentInputs seg;
        seg.ids = &w.ids;
        seg.begin = 0;
        seg.end = static_cast<size_t>(a.ids_index);
        size_t images = 0;
        for (size_t i = 0; i < seg.end; ++i) images += w.ids[i] == m.imageTokenId();
        if (images > 0) {
          std::vector<torch::Tensor> fr;
          for (size_t k = 0; k < images; ++k) fr.push_back(t.frames.at(w.image_steps.at(k)));
          const torch::Tensor enc = m.encodeFrames(torch::stack(fr));
          for (size_t k = 0; k < images; ++k) seg.images.push_back(enc[k]);
        }
        if (!w.memory_steps.empty()) {
          std::vector<torch::Tensor> mem;
          for (int64_t s : w.memory_steps) mem.push_back(t.frames.at(s));
          seg.memory = m.encodeFrames(torch::stack(mem)).flatten(0, 1);
        }
        cache = m.lm->newCache();
        model::Qwen2Inputs in;
        in.inputs_embeds = m.embedSegment(seg);
        in.cache = &cache;
        m.lm->forward(in, true);
      }
      prev = &a;
    }
  }
  syncDevice(device);
  return secondsSince(t0);
}

// A crash (the GPU runs have ended in a segfault after their last line) prints where.
void onFatalSignal(int sig) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  const char msg[] = "rollout_bench: fatal signal, backtrace:\n";
  (void)!write(2, msg, sizeof(msg) - 1);
  backtrace_symbols_fd(frames, n, 2);
  _exit(128 + sig);
}

}  // namespace

int main(int argc, char** argv) try {
  std::signal(SIGSEGV, onFatalSignal);
  std::signal(SIGABRT, onFatalSignal);
  const Options o = parseArgs(argc, argv);
  const torch::Device device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("rollout_bench: --device cuda but CUDA is not available");

  svln::model::setCudnnAttention(o.sdpa_cudnn);

  // A small procedural dataset in a temporary folder.
  auto t0 = std::chrono::steady_clock::now();
  const bench::BenchDataset data = bench::makeBenchDataset(
      "rollout_bench", o.scenes, o.episodes_per_scene, o.seed, o.size, o.max_steps);
  std::printf("dataset: %d scenes in %.1f s\n", o.scenes, secondsSince(t0));
  const sim::HabitatConfig& cfg = data.config;
  const std::vector<sim::Episode>& all = data.train;
  auto cache = std::make_shared<sim::SceneCache>();

  // The policy: random weights, bf16 on CUDA (built there, bench_util.h).
  t0 = std::chrono::steady_clock::now();
  rl::Policy policy = bench::buildBenchPolicy(o.config, device);
  if (o.lora_r > 0) {
    // The trainer's default adapters, B drawn non-zero so they cost what trained ones do.
    model::LoraConfig lc;
    lc.r = o.lora_r;
    lc.alpha = 2.0 * o.lora_r;
    model::applyLora(policy.model->root(), lc);
    torch::NoGradGuard ng;
    for (auto& p : policy.model->root().named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0.0, 1e-3);
    policy.model->root().to(device);
  }
  policy.model->root().eval();
  rl::attachTokenizer(policy);
  std::printf(
      "model %s on %s built in %.1f s; %d episodes of at most %d steps at %dx%d, "
      "%d env threads, LoRA r=%lld\n",
      o.config.c_str(), o.device.c_str(), secondsSince(t0), static_cast<int>(all.size()), o.max_steps,
      o.size, o.size, o.threads, static_cast<long long>(o.lora_r));

  // Warm-up: scenes into the cache, kernels, allocator.
  rollout(cfg, cache, policy, take(all, std::min<int>(4, static_cast<int>(all.size()))),
          rl::RolloutMode::kTrain, o, device, o.seed);

  // Baseline first (batch 1, no KV reuse across steps), so a time limit cuts the large
  // runs rather than the ratio's denominator.
  double baseline_per_action = 0;
  if (o.baseline_episodes > 0) {
    const auto eps = take(all, o.baseline_episodes);
    std::vector<rl::Trajectory> trajs;
    long actions = 0;
    double engine_s = 0, demo_s = 0;
    long demo_actions = 0;
    for (const auto& e : eps) {
      RunResult r =
          rollout(cfg, cache, policy, {e}, rl::RolloutMode::kTrain, o, device, o.seed + 2);
      const RunResult d =
          rollout(cfg, cache, policy, {e}, rl::RolloutMode::kExpertDemo, o, device, o.seed + 2);
      engine_s += r.seconds;
      actions += r.actions;
      demo_s += d.seconds;
      demo_actions += d.actions;
      for (auto& t : r.trajectories) trajs.push_back(std::move(t));
    }
    const double model_s = baselineModelSeconds(*policy.model, trajs, device);
    const double nonmodel = demo_s / std::max(1L, demo_actions);
    const double base_per_action = model_s / actions + nonmodel;
    std::printf(
        "baseline (batch 1, no KV reuse): %ld actions, %.2f actions/s "
        "(model %.3f s/action + non-model %.4f s/action); the engine on the same "
        "episodes: %.2f actions/s\n",
        actions, 1.0 / base_per_action, model_s / actions, nonmodel, actions / engine_s);
    std::fflush(stdout);
    baseline_per_action = base_per_action;
  }
  std::printf("| %4s | %7s | %9s | %8s | %8s | %8s | %8s | %8s | %10s | %9s |\n", "envs",
              "actions", "actions/s", "vision %", "policy %", "expert %", "env %", "other %",
              "turns/step", "timed a/s");
  std::printf("|------|---------|-----------|----------|----------|----------|----------|----------"
              "|------------|-----------|\n");
  std::vector<std::pair<int, double>> per_action;  // envs -> seconds per action
  bench::KinetoTrace trace(device.is_cuda());
  for (int n : o.envs) {
    const auto eps = take(all, n);
    const bool profile = !o.profile_dir.empty() && n == o.envs.back();
    const RunResult train =
        rollout(cfg, cache, policy, eps, rl::RolloutMode::kTrain, o, device, o.seed + 1);
    const RunResult timed = rollout(cfg, cache, policy, eps, rl::RolloutMode::kTrain, o, device,
                                    o.seed + 1, true, profile ? &trace : nullptr);
    const double t_train = train.seconds / train.actions;
    const rl::RolloutTimings& tm = timed.timings;
    const double total = std::max(1e-9, tm.total());
    std::printf(
        "| %4d | %7ld | %9.1f | %8.1f | %8.1f | %8.1f | %8.1f | %8.1f | %10.2f | %9.1f |\n", n,
        train.actions, 1.0 / t_train, 100 * tm.vision_s / total, 100 * tm.policy_s / total,
        100 * tm.expert_s / total, 100 * tm.env_s / total, 100 * tm.other_s / total,
        static_cast<double>(tm.turns) / std::max<int64_t>(1, tm.steps),
        tm.actions / timed.seconds);
    std::fflush(stdout);
    per_action.emplace_back(n, t_train);
  }

  if (baseline_per_action > 0) {
    std::printf("speed-up over the baseline:");
    for (const auto& [n, t] : per_action)
      std::printf(" %.2fx at %d envs;", baseline_per_action / t, n);
    std::printf("\n");
  }
  std::fflush(stdout);
  sim::removeTree(data.dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
