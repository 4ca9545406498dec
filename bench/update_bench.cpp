// Seconds per update of the trainer's loop (rollout + optimisation) at full episode length:
// the RolloutEngine and PolicyUpdater that `streamvln train` runs, on procedural scenes,
// with a random-weight model whose policy never samples STOP, so every trajectory walks
// --max_steps (a random policy run by `streamvln train` stops within a few steps, which
// says nothing about the update time of a policy that navigates).
//
//   update_bench [--config tiny|small|7b] [--device cpu|cuda] [--updates 3]
//                [--episodes 1] [--group_size 2] [--max_steps 100] [--threads N]
//                [--lora_r 32] [--hybrid 1] [--checkpointing 1] [--seed 0]
//
// The defaults are the spec's "standard" scenario (one episode x group 2 per update,
// hybrid GRPO + SFT, LoRA r=32 on q_proj/v_proj, gradient checkpointing on). The samples
// are off-policy for GRPO (STOP masked when sampling, not in the recomputed
// log-probabilities): the figures are times, not a training run. Prints one line per
// update: env steps, rollout seconds, optimisation seconds, and the tokens re-run.
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "model/lora.h"
#include "model/tokenizer.h"
#include "rl/advantages.h"
#include "rl/policy.h"
#include "rl/rollout.h"
#include "rl/update.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"
#include "sim/scene_cache.h"
#include "sim/vec_env.h"

using namespace svln;

namespace {

struct Options {
  std::string config = "tiny";
  std::string device = "cpu";
  int updates = 3;
  int episodes = 1;
  int group_size = 2;
  int max_steps = 100;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int64_t lora_r = 32;
  bool hybrid = true;
  bool checkpointing = true;
  uint64_t seed = 0;
};

Options parseArgs(int argc, char** argv) {
  Options o;
  CLI::App app{"seconds per update of the trainer's rollout + optimisation at full length"};
  app.add_option("--config", o.config, "tiny, small or 7b")->capture_default_str();
  app.add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  app.add_option("--updates", o.updates)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--episodes", o.episodes, "episodes per update")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--group_size", o.group_size)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max_steps", o.max_steps, "trajectory length (STOP is masked)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", o.threads, "env threads")->capture_default_str();
  app.add_option("--lora_r", o.lora_r)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--hybrid", o.hybrid, "1: GRPO + SFT; 0: GRPO only")->capture_default_str();
  app.add_option("--checkpointing", o.checkpointing, "gradient checkpointing")
      ->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return o;
}


}  // namespace

int main(int argc, char** argv) try {
  const Options o = parseArgs(argc, argv);
  const torch::Device device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("update_bench: --device cuda but CUDA is not available");

  const bench::BenchDataset data =
      bench::makeBenchDataset("update_bench", 3, 20, o.seed, 224, o.max_steps);
  const sim::HabitatConfig& cfg = data.config;
  const std::vector<sim::Episode>& all = data.train;

  auto t0 = std::chrono::steady_clock::now();
  rl::Policy policy = bench::buildBenchPolicy(o.config, device, o.seed);
  model::LoraConfig lora;  // the trainer's: q_proj, v_proj, alpha = 2 r, no dropout
  lora.r = o.lora_r;
  lora.alpha = 2.0 * static_cast<double>(o.lora_r);
  lora.dropout = 0.0;
  model::applyLora(policy.model->root(), lora);
  policy.model->root().eval();
  policy.model->lm->setGradientCheckpointing(o.checkpointing);
  rl::attachTokenizer(policy);
  std::vector<torch::Tensor> params;
  for (auto& p : policy.model->root().parameters())
    if (p.requires_grad()) params.push_back(p);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-5).weight_decay(0.0));
  std::printf("model %s on %s built in %.1f s; %d x group %d per update, episodes of %d steps "
              "(STOP masked), LoRA r=%lld, hybrid %d, checkpointing %d\n",
              o.config.c_str(), o.device.c_str(), bench::secondsSince(t0), o.episodes, o.group_size,
              o.max_steps, static_cast<long long>(o.lora_r), o.hybrid, o.checkpointing);

  const int n_env = o.episodes * o.group_size;
  sim::VecEnv envs(cfg, n_env, std::min(o.threads, n_env), std::make_shared<sim::SceneCache>());
  rl::RolloutOptions ro;
  ro.mode = rl::RolloutMode::kTrain;
  ro.decode.greedy = false;
  ro.decode.allow_stop = false;
  ro.max_episode_steps = cfg.max_episode_steps;
  rl::RolloutEngine engine(envs, *policy.model, *policy.tokenizer, *policy.codec, ro);
  rl::PolicyUpdater updater(*policy.model, *policy.codec, params, optimizer);
  rl::UpdateOptions uo;
  uo.use_hybrid = o.hybrid;
  uo.sft_weight = 1.0;
  uo.mini_batch_size = n_env;
  rl::RunningBaseline baseline;

  std::printf("| update | env steps | windows | rollout s | optimisation s | update s | steps/s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (int u = 0; u < o.updates; ++u) {
    std::vector<sim::Episode> batch;
    for (int e = 0; e < o.episodes; ++e)
      batch.push_back(all[static_cast<size_t>(u * o.episodes + e) % all.size()]);
    bench::syncDevice(device);
    const auto start = std::chrono::steady_clock::now();
    std::vector<rl::Trajectory> trajs;
    {
      torch::NoGradGuard no_grad;
      trajs = engine.run(batch, o.group_size, o.seed + static_cast<uint64_t>(u));
    }
    bench::syncDevice(device);
    const double rollout_s = bench::secondsSince(start);
    // Returns: progress towards the goal (the values only shape the advantages).
    std::vector<double> returns;
    long steps = 0, windows = 0;
    for (const auto& t : trajs) {
      returns.push_back(t.start_distance - t.metrics.distance_to_goal);
      steps += static_cast<long>(t.steps.size());
      windows += static_cast<long>(t.windows.size());
    }
    const std::vector<double> adv = rl::trajectoryAdvantages(returns, o.group_size, baseline);
    const auto opt_start = std::chrono::steady_clock::now();
    updater.update(trajs, adv, uo);
    bench::syncDevice(device);
    const double opt_s = bench::secondsSince(opt_start);
    const double total = rollout_s + opt_s;
    std::printf("| %d | %ld | %ld | %.2f | %.2f | %.2f | %.1f |\n", u + 1, steps, windows,
                rollout_s, opt_s, total, steps / total);
    std::fflush(stdout);
  }
  sim::removeTree(data.dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
