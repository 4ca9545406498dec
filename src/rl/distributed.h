// Data-parallel training across processes on libtorch's c10d: one process per device,
// a TCPStore rendezvous, and a ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds).
//
//   env (CLI) ─► parseDistEnv ─► DistEnv ─► DistContext::init ─► TCPStore + ProcessGroup
//   per update: shardForRank(episodes) ─► local loss.backward()
//               ─► allReduceGradients (bucketed mean) ─► optimizer step (identical on ranks)
//
// world_size 1 holds no process group and every collective is the identity, so the
// trainer calls the same functions whether or not it is distributed.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace svln::rl {

enum class DistBackend { kNone, kGloo, kNccl };
std::string toString(DistBackend backend);
// True when this build has ProcessGroupNCCL (a CUDA libtorch with NCCL headers found).
bool ncclAvailable();

// Where this process sits in the job, as the launcher (or SLURM) describes it.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// Reads RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT; when RANK and WORLD_SIZE are
// absent, SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID and the first host of SLURM_NODELIST.
// Takes the environment as a map so only the CLI layer reads the process environment.
// Throws on a malformed or inconsistent value (names the variable).
DistEnv parseDistEnv(const std::map<std::string, std::string>& env);

// The first host of a SLURM node list: "gpu[03-05,9],cpu1" -> "gpu03", "a,b" -> "a".
std::string firstSlurmHost(const std::string& nodelist);

// Contiguous shard [begin, end) of n items for `rank`; shard sizes differ by at most one
// and the first n % world ranks take the extra item, so the split is deterministic.
std::pair<size_t, size_t> shardRange(size_t n, int rank, int world_size);

template <class T>
std::vector<T> shardForRank(const std::vector<T>& items, int rank, int world_size) {
  const auto [b, e] = shardRange(items.size(), rank, world_size);
  return std::vector<T>(items.begin() + static_cast<std::ptrdiff_t>(b),
                        items.begin() + static_cast<std::ptrdiff_t>(e));
}

enum class MetricReduce { kSum, kMean };

class DistContext {
 public:
  // One process, no process group.
  DistContext() = default;

  // Rendezvous through a TCPStore at master_addr:master_port (rank 0 serves it). Backend
  // kGloo or kNccl; kNone is only valid for world_size 1.
  static DistContext init(const DistEnv& env, DistBackend backend,
                          std::chrono::milliseconds timeout = std::chrono::minutes(5));

  // Builds the process group on a store the caller made (tests: one HashStore shared by
  // threads, each thread one rank).
  static DistContext fromStore(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                               int world_size, int local_rank, DistBackend backend,
                               std::chrono::milliseconds timeout = std::chrono::minutes(5));

  int rank() const { return rank_; }
  int worldSize() const { return world_size_; }
  int localRank() const { return local_rank_; }
  DistBackend backend() const { return backend_; }
  bool isMain() const { return rank_ == 0; }
  bool distributed() const { return world_size_ > 1; }

  // grad <- (sum over ranks of grad) / world_size for every parameter that has a grad.
  // Gradients are flattened into buckets of at most bucket_bytes (per dtype/device), one
  // allreduce per bucket, then copied back. Parameters without a grad on one rank must
  // have none on every rank (the bucket layout must agree).
  void allReduceGradients(const std::vector<torch::Tensor>& params,
                          int64_t bucket_bytes = 25 << 20) const;

  // Copies root's values into every rank's tensors in place (the start of training, so
  // every rank begins from the same weights whatever its seed).
  void broadcastParameters(const std::vector<torch::Tensor>& params, int root = 0) const;

  // Element-wise sum or mean of a small vector over ranks (losses, success counts).
  std::vector<double> reduceMetrics(const std::vector<double>& values, MetricReduce op) const;

  // Every rank's `local` tensor (same shape on all ranks), concatenated along dim 0 in
  // rank order.
  torch::Tensor allGather(const torch::Tensor& local) const;

  void barrier() const;

 private:
  int rank_ = 0;
  int world_size_ = 1;
  int local_rank_ = 0;
  DistBackend backend_ = DistBackend::kNone;
  std::shared_ptr<struct DistComm> comm_;  // store + process group; null when world_size 1
};

// The ZeRO stage 1/2 optimizer: each parameter is owned by one rank (greedy balance by
// element count, in parameter order), only the owner keeps its AdamW moments and updates
// it, then every parameter is broadcast from its owner. Optimizer-state memory per rank
// drops to ~1/world_size; the result equals a plain AdamW step on every rank because AdamW
// is element-wise. Stage 2 would also drop non-owned gradients after the reduction; here
// gradients stay whole (same numbers, more memory).
//
// A torch::optim::Optimizer, so it drops in where AdamW is used: zero_grad() clears every
// parameter's grad, param_groups()[0].options().set_lr() is honoured at the next step(),
// save()/load() hold this rank's shard of the state only (one file per rank).
class ShardedAdamW : public torch::optim::Optimizer {
 public:
  ShardedAdamW(const DistContext& ctx, std::vector<torch::Tensor> params,
               const torch::optim::AdamWOptions& options);

  // Call after allReduceGradients (and clipping), on every rank.
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  // owner()[i] = the rank that updates the i-th parameter.
  const std::vector<int>& owners() const { return owner_; }
  // Parameters whose optimizer state this rank holds.
  std::vector<torch::Tensor> ownedParameters() const;

 private:
  DistContext ctx_;
  std::vector<torch::Tensor> all_;
  std::vector<int> owner_;
  std::unique_ptr<torch::optim::AdamW> local_;  // null when this rank owns nothing
};

}  // namespace svln::rl
