#include "rl/distributed.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <thread>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

namespace svln::rl {
namespace {

constexpr int kRows = 8;
constexpr int kSteps = 5;

// A small MLP in float64 with weights from a formula (no global RNG, which threads would
// share): different `seed`s give different starting weights.
torch::nn::Sequential makeNet(double seed) {
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 1));
  net->to(torch::kFloat64);
  torch::NoGradGuard g;
  double k = 0.37;
  for (auto& p : net->parameters()) {
    auto v = torch::sin(torch::arange(p.numel(), torch::kFloat64) * k + seed) * 0.5;
    p.copy_(v.reshape(p.sizes()));
    k += 0.11;
  }
  return net;
}

torch::Tensor inputs() {
  return torch::sin(torch::arange(kRows * 4, torch::kFloat64) * 0.7).reshape({kRows, 4});
}
torch::Tensor targets() {
  return torch::cos(torch::arange(kRows, torch::kFloat64) * 1.3).reshape({kRows, 1});
}

torch::Tensor flatWeights(const torch::nn::Sequential& net) {
  std::vector<torch::Tensor> flat;
  for (auto& p : net->parameters()) flat.push_back(p.detach().reshape({-1}).clone());
  return torch::cat(flat);
}

struct TrainOpts {
  bool zero = false;  // ShardedAdamW instead of AdamW
  int64_t bucket_bytes = 25 << 20;
};

// Each rank starts from its own weights (seed = rank), takes rank 0's by broadcast, then
// per step: MSE on its shard of the rows, gradient mean over ranks, global-norm clipping,
// AdamW. Returns the final weights flattened and the mean loss of the last step.
std::pair<torch::Tensor, double> train(const DistContext& ctx, const TrainOpts& o) {
  auto net = makeNet(static_cast<double>(ctx.rank()));
  std::vector<torch::Tensor> params = net->parameters();
  ctx.broadcastParameters(params);
  auto adam = torch::optim::AdamWOptions(0.05).weight_decay(0.01);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (o.zero) {
    opt = std::make_unique<ShardedAdamW>(ctx, params, adam);
  } else {
    opt = std::make_unique<torch::optim::AdamW>(params, adam);
  }
  const auto [b, e] = shardRange(kRows, ctx.rank(), ctx.worldSize());
  const auto x = inputs().narrow(0, static_cast<int64_t>(b), static_cast<int64_t>(e - b));
  const auto y = targets().narrow(0, static_cast<int64_t>(b), static_cast<int64_t>(e - b));
  double last_loss = 0;
  for (int s = 0; s < kSteps; ++s) {
    opt->zero_grad();
    auto loss = torch::mse_loss(net->forward(x), y);
    loss.backward();
    ctx.allReduceGradients(params, o.bucket_bytes);
    torch::nn::utils::clip_grad_norm_(params, 0.5);
    opt->step();
    last_loss = ctx.reduceMetrics({loss.item<double>()}, MetricReduce::kMean)[0];
  }
  return {flatWeights(net), last_loss};
}

// Runs fn(ctx) on `world` Gloo ranks, one thread each, sharing one in-memory store.
void runRanks(int world, const std::function<void(const DistContext&)>& fn) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto ctx = DistContext::fromStore(store, r, world, r, DistBackend::kGloo,
                                          std::chrono::seconds(60));
        fn(ctx);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

TEST(DistEnv, TorchVariablesWin) {
  const DistEnv e = parseDistEnv({{"RANK", "3"},
                                  {"WORLD_SIZE", "4"},
                                  {"LOCAL_RANK", "1"},
                                  {"MASTER_ADDR", "node7"},
                                  {"MASTER_PORT", "29600"},
                                  {"SLURM_PROCID", "0"},
                                  {"SLURM_NTASKS", "8"}});
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "node7");
  EXPECT_EQ(e.master_port, 29600);
}

TEST(DistEnv, SlurmWhenTorchVariablesAbsent) {
  const DistEnv e = parseDistEnv({{"SLURM_PROCID", "5"},
                                  {"SLURM_NTASKS", "8"},
                                  {"SLURM_LOCALID", "1"},
                                  {"SLURM_NODELIST", "gpu[03-06,9],cpu1"}});
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu03");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(firstSlurmHost("a1,b2"), "a1");
  EXPECT_EQ(firstSlurmHost("n[7]"), "n7");
}

TEST(DistEnv, EmptyIsOneProcessAndBadValuesNameTheVariable) {
  const DistEnv e = parseDistEnv({});
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.rank, 0);
  auto err = [](std::map<std::string, std::string> m) {
    try {
      parseDistEnv(m);
    } catch (const std::runtime_error& ex) {
      return std::string(ex.what());
    }
    return std::string();
  };
  EXPECT_EQ(err({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), "environment RANK: not an integer: 'x'");
  EXPECT_EQ(err({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "environment RANK: 2 outside [0, 2)");
  EXPECT_EQ(err({{"RANK", "0"}}), "environment: RANK and WORLD_SIZE must be set together");
  EXPECT_EQ(err({{"MASTER_PORT", "70000"}}), "environment MASTER_PORT: 70000 is not a TCP port");
}

TEST(DistShard, ContiguousBalancedAndCovering) {
  // 10 episodes over 3 ranks: 4 + 3 + 3.
  EXPECT_EQ(shardRange(10, 0, 3), (std::pair<size_t, size_t>{0, 4}));
  EXPECT_EQ(shardRange(10, 1, 3), (std::pair<size_t, size_t>{4, 7}));
  EXPECT_EQ(shardRange(10, 2, 3), (std::pair<size_t, size_t>{7, 10}));
  EXPECT_EQ(shardRange(1, 1, 2), (std::pair<size_t, size_t>{1, 1}));
  const std::vector<int> eps{10, 11, 12, 13, 14};
  EXPECT_EQ(shardForRank(eps, 0, 2), (std::vector<int>{10, 11, 12}));
  EXPECT_EQ(shardForRank(eps, 1, 2), (std::vector<int>{13, 14}));
  EXPECT_EQ(shardForRank(eps, 0, 1), eps);
}

TEST(DistCollectives, MetricsGatherAndBarrierOnTwoGlooRanks) {
  std::vector<std::vector<double>> sums(2), means(2);
  std::vector<torch::Tensor> gathered(2);
  runRanks(2, [&](const DistContext& ctx) {
    const double r = ctx.rank();
    sums[ctx.rank()] = ctx.reduceMetrics({1.0 + r, 10.0 * r}, MetricReduce::kSum);
    means[ctx.rank()] = ctx.reduceMetrics({1.0 + r, 10.0 * r}, MetricReduce::kMean);
    gathered[ctx.rank()] = ctx.allGather(torch::full({2}, r + 0.5, torch::kFloat64));
    ctx.barrier();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(sums[r], (std::vector<double>{3.0, 10.0}));
    EXPECT_EQ(means[r], (std::vector<double>{1.5, 5.0}));
    EXPECT_TRUE(torch::equal(gathered[r], torch::tensor({0.5, 0.5, 1.5, 1.5}, torch::kFloat64)));
  }
}

TEST(DistCollectives, GradientMeanAcrossBucketsAndBroadcast) {
  std::vector<std::vector<torch::Tensor>> out(2);
  runRanks(2, [&](const DistContext& ctx) {
    const double r = ctx.rank();
    // Three grads of 3, 2, 4 doubles; 40-byte buckets force three all-reduces.
    std::vector<torch::Tensor> ps;
    for (int64_t n : {3, 2, 4}) {
      auto p = torch::full({n}, 7.0 + r, torch::kFloat64).requires_grad_(true);
      p.mutable_grad() = torch::arange(n, torch::kFloat64) * (r + 1);
      ps.push_back(p);
    }
    ctx.allReduceGradients(ps, 40);
    ctx.broadcastParameters(ps, 1);
    out[ctx.rank()] = ps;
  });
  for (int r = 0; r < 2; ++r) {
    // mean of g and 2g = 1.5 g; values from rank 1 (8.0).
    EXPECT_TRUE(
        torch::equal(out[r][2].grad(), torch::tensor({0.0, 1.5, 3.0, 4.5}, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(out[r][0].detach(), torch::full({3}, 8.0, torch::kFloat64)));
  }
}

void expectMatchesSingleProcess(const TrainOpts& o) {
  const auto [single, single_loss] = train(DistContext{}, o);
  std::vector<torch::Tensor> w(2);
  std::vector<double> loss(2);
  runRanks(2, [&](const DistContext& ctx) {
    auto [weights, l] = train(ctx, o);
    w[ctx.rank()] = weights;
    loss[ctx.rank()] = l;
  });
  EXPECT_TRUE(torch::equal(w[0], w[1])) << "ranks diverged";
  EXPECT_LT((w[0] - single).abs().max().item<double>(), 1e-6);
  // Training moved the weights (so equality above is not trivially the initial state).
  EXPECT_GT((single - flatWeights(makeNet(0))).abs().max().item<double>(), 1e-2);
  // Equal shards: the mean of the ranks' mean losses is the full-batch mean loss.
  EXPECT_NEAR(loss[0], single_loss, 1e-9);
  EXPECT_EQ(loss[0], loss[1]);
}

TEST(DistTraining, TwoGlooRanksEqualSingleProcessFullBatch) { expectMatchesSingleProcess({}); }

TEST(DistTraining, SmallBucketsGiveTheSameWeights) {
  TrainOpts o;
  o.bucket_bytes = 64;
  expectMatchesSingleProcess(o);
}

TEST(DistTraining, ZeroShardedAdamWEqualsSingleProcess) {
  TrainOpts o;
  o.zero = true;
  expectMatchesSingleProcess(o);
  // Ownership: 4 parameters (32, 8, 8, 1 elements) over 2 ranks -> 32 | 8+8+1.
  runRanks(2, [&](const DistContext& ctx) {
    auto net = makeNet(0);
    ShardedAdamW opt(ctx, net->parameters(), torch::optim::AdamWOptions(0.1));
    EXPECT_EQ(opt.owners(), (std::vector<int>{0, 1, 1, 1}));
    EXPECT_EQ(opt.ownedParameters().size(), ctx.rank() == 0 ? 1u : 3u);
  });
}

// --- Two real processes over a TCPStore: the test binary re-executes itself as the ranks.

int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Only runs as a child of the test below (SVLN_DIST_OUT set): one rank.
TEST(DistProcessRank, Run) {
  const char* out = std::getenv("SVLN_DIST_OUT");
  if (!out) GTEST_SKIP() << "runs only as a rank spawned by DistProcesses";
  std::map<std::string, std::string> env;
  for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"})
    if (const char* v = std::getenv(k)) env[k] = v;
  const DistContext ctx =
      DistContext::init(parseDistEnv(env), DistBackend::kGloo, std::chrono::seconds(60));
  auto [w, loss] = train(ctx, {});
  torch::save(std::vector<torch::Tensor>{w}, std::string(out) + "." + env["RANK"] + ".pt");
}

TEST(DistProcesses, TwoGlooProcessesEqualSingleProcess) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("svln_dist_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "w").string();
  const int port = freePort();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", "2", 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("SVLN_DIST_OUT", out.c_str(), 1);
      execl("/proc/self/exe", "rl_tests", "--gtest_filter=DistProcessRank.Run", nullptr);
      _exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank process failed";
  }
  std::vector<torch::Tensor> w0, w1;
  torch::load(w0, out + ".0.pt");
  torch::load(w1, out + ".1.pt");
  std::filesystem::remove_all(dir);
  const auto single = train(DistContext{}, {}).first;
  EXPECT_TRUE(torch::equal(w0[0], w1[0]));
  EXPECT_LT((w0[0] - single).abs().max().item<double>(), 1e-6);
}

// --- `streamvln launch`

std::pair<int, std::string> runShell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[512];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(LaunchCommand, PrefixesEachRanksOutputAndSucceeds) {
  const auto [code, out] =
      runShell(std::string(SVLN_BINARY) + " launch --nproc_per_node 2 --master_port " +
               std::to_string(freePort()) + " -- --help");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[rank 0] "), std::string::npos) << out;
  EXPECT_NE(out.find("[rank 1] "), std::string::npos) << out;
}

TEST(LaunchCommand, FailingChildFailsTheLaunch) {
  // The child is itself a bad launch: it prints one error line and exits 1.
  const auto [code, out] = runShell(std::string(SVLN_BINARY) +
                                    " launch --nproc_per_node 2 -- launch --nproc_per_node 0 -- x");
  EXPECT_EQ(code, 1) << out;
  // Both children fail; the first to exit stops the other, which may not print at all.
  EXPECT_NE(out.find("] error: --nproc_per_node: must be in [1, 1024]"), std::string::npos) << out;
  EXPECT_NE(out.find("exited with 1; stopping the others"), std::string::npos) << out;
}

}  // namespace
}  // namespace svln::rl
