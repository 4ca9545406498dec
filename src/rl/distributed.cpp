#include "rl/distributed.h"

// Torch's CMake config does not export the c10d feature macros to consumers; the CPU
// libtorch here is built with Gloo, a CUDA libtorch with NCCL.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// NCCL only exists in a CUDA libtorch with the NCCL headers around (the GPU machine).
#if !defined(SVLN_WITH_NCCL) && __has_include(<nccl.h>) && __has_include(<cuda_runtime_api.h>)
#define SVLN_WITH_NCCL 1
#endif
#if defined(SVLN_WITH_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace svln::rl {

// libtorch 2.x moved the collectives of ProcessGroupGloo/NCCL onto c10d::Backend; 1.13's
// derive from ProcessGroup. Both expose the same allreduce/broadcast/allgather/barrier.
#if TORCH_VERSION_MAJOR >= 2
using CommGroup = c10d::Backend;
#else
using CommGroup = c10d::ProcessGroup;
#endif

struct DistComm {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CommGroup> pg;
};

bool ncclAvailable() {
#if defined(SVLN_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

std::string toString(DistBackend backend) {
  switch (backend) {
    case DistBackend::kNone:
      return "none";
    case DistBackend::kGloo:
      return "gloo";
    case DistBackend::kNccl:
      return "nccl";
  }
  return "?";
}

namespace {

int parseInt(const std::map<std::string, std::string>& env, const std::string& key) {
  const std::string& v = env.at(key);
  size_t used = 0;
  int out = 0;
  try {
    out = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size())
    throw std::runtime_error("environment " + key + ": not an integer: '" + v + "'");
  return out;
}

bool has(const std::map<std::string, std::string>& env, const std::string& key) {
  auto it = env.find(key);
  return it != env.end() && !it->second.empty();
}

}  // namespace

std::string firstSlurmHost(const std::string& nodelist) {
  // Split off the first top-level entry (commas inside [...] belong to the range).
  int depth = 0;
  size_t end = nodelist.size();
  for (size_t i = 0; i < nodelist.size(); ++i) {
    if (nodelist[i] == '[') ++depth;
    if (nodelist[i] == ']') --depth;
    if (nodelist[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  const std::string first = nodelist.substr(0, end);
  const size_t open = first.find('[');
  if (open == std::string::npos) return first;
  // "gpu[03-05,9]" -> prefix "gpu" + first number of the range, zero padding kept.
  const size_t stop = first.find_first_of(",-]", open + 1);
  if (stop == std::string::npos || stop == open + 1)
    throw std::runtime_error("environment SLURM_NODELIST: malformed '" + nodelist + "'");
  return first.substr(0, open) + first.substr(open + 1, stop - open - 1);
}

DistEnv parseDistEnv(const std::map<std::string, std::string>& env) {
  DistEnv out;
  if (has(env, "RANK") || has(env, "WORLD_SIZE")) {
    if (!has(env, "RANK") || !has(env, "WORLD_SIZE"))
      throw std::runtime_error("environment: RANK and WORLD_SIZE must be set together");
    out.rank = parseInt(env, "RANK");
    out.world_size = parseInt(env, "WORLD_SIZE");
    out.local_rank = has(env, "LOCAL_RANK") ? parseInt(env, "LOCAL_RANK") : out.rank;
    if (has(env, "MASTER_ADDR")) out.master_addr = env.at("MASTER_ADDR");
  } else if (has(env, "SLURM_PROCID") && has(env, "SLURM_NTASKS")) {
    out.rank = parseInt(env, "SLURM_PROCID");
    out.world_size = parseInt(env, "SLURM_NTASKS");
    out.local_rank = has(env, "SLURM_LOCALID") ? parseInt(env, "SLURM_LOCALID") : 0;
    if (has(env, "MASTER_ADDR")) {
      out.master_addr = env.at("MASTER_ADDR");
    } else if (has(env, "SLURM_NODELIST")) {
      out.master_addr = firstSlurmHost(env.at("SLURM_NODELIST"));
    }
  }
  if (has(env, "MASTER_PORT")) out.master_port = parseInt(env, "MASTER_PORT");
  if (out.world_size < 1)
    throw std::runtime_error("environment WORLD_SIZE: must be >= 1, got " +
                             std::to_string(out.world_size));
  if (out.rank < 0 || out.rank >= out.world_size)
    throw std::runtime_error("environment RANK: " + std::to_string(out.rank) + " outside [0, " +
                             std::to_string(out.world_size) + ")");
  if (out.local_rank < 0) throw std::runtime_error("environment LOCAL_RANK: must be >= 0");
  if (out.master_port <= 0 || out.master_port > 65535)
    throw std::runtime_error("environment MASTER_PORT: " + std::to_string(out.master_port) +
                             " is not a TCP port");
  return out;
}

std::pair<size_t, size_t> shardRange(size_t n, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("shardRange: rank " + std::to_string(rank) + " of " +
                                std::to_string(world_size));
  const size_t w = static_cast<size_t>(world_size), r = static_cast<size_t>(rank);
  const size_t base = n / w, extra = n % w;
  const size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

DistContext DistContext::init(const DistEnv& env, DistBackend backend,
                              std::chrono::milliseconds timeout) {
  if (env.world_size == 1) {
    DistContext ctx;
    ctx.local_rank_ = env.local_rank;
    return ctx;
  }
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(env.master_port);
  opts.isServer = env.rank == 0;
  opts.numWorkers = env.world_size;
  opts.waitWorkers = true;
  opts.timeout = timeout;
  spdlog::info("dist: rank {}/{} (local {}) joining {}:{} with {}", env.rank, env.world_size,
               env.local_rank, env.master_addr, env.master_port, toString(backend));
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  } catch (const std::exception& e) {
    throw std::runtime_error("dist rendezvous " + env.master_addr + ":" +
                             std::to_string(env.master_port) + ": " +
                             std::string(e.what()).substr(0, 200));
  }
  return fromStore(store, env.rank, env.world_size, env.local_rank, backend, timeout);
}

DistContext DistContext::fromStore(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                   int world_size, int local_rank, DistBackend backend,
                                   std::chrono::milliseconds timeout) {
  DistContext ctx;
  ctx.rank_ = rank;
  ctx.world_size_ = world_size;
  ctx.local_rank_ = local_rank;
  if (world_size == 1) return ctx;
  auto comm = std::make_shared<DistComm>();
  comm->store = store;
  // A fresh key prefix keeps the group's rendezvous keys apart from anything else on
  // the store (the launcher's own keys, a second group).
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("svln_pg", store);
  switch (backend) {
    case DistBackend::kGloo: {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      comm->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, world_size, opts);
      break;
    }
    case DistBackend::kNccl: {
#if defined(SVLN_WITH_NCCL)
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      comm->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, world_size, opts);
      break;
#else
      throw std::runtime_error("dist backend nccl: this build has no NCCL (CPU libtorch)");
#endif
    }
    case DistBackend::kNone:
      throw std::runtime_error("dist: world_size " + std::to_string(world_size) +
                               " needs a backend (gloo or nccl)");
  }
  ctx.backend_ = backend;
  ctx.comm_ = std::move(comm);
  return ctx;
}

void DistContext::allReduceGradients(const std::vector<torch::Tensor>& params,
                                     int64_t bucket_bytes) const {
  if (!distributed()) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  size_t i = 0;
  while (i < grads.size()) {
    // Bucket: consecutive grads of one dtype/device up to bucket_bytes (at least one).
    size_t j = i;
    int64_t bytes = 0;
    while (j < grads.size() && grads[j].scalar_type() == grads[i].scalar_type() &&
           grads[j].device() == grads[i].device() &&
           (j == i || bytes + grads[j].nbytes() <= static_cast<size_t>(bucket_bytes))) {
      bytes += static_cast<int64_t>(grads[j].nbytes());
      ++j;
    }
    std::vector<torch::Tensor> flat_parts;
    for (size_t k = i; k < j; ++k) flat_parts.push_back(grads[k].reshape({-1}));
    std::vector<torch::Tensor> bucket{torch::cat(flat_parts)};
    comm_->pg->allreduce(bucket)->wait();
    bucket[0].div_(world_size_);
    int64_t offset = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t n = grads[k].numel();
      grads[k].copy_(bucket[0].narrow(0, offset, n).view_as(grads[k]));
      offset += n;
    }
    i = j;
  }
}

void DistContext::broadcastParameters(const std::vector<torch::Tensor>& params, int root) const {
  if (!distributed()) return;
  torch::NoGradGuard no_grad;
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  for (const auto& p : params) {
    // Broadcast works on a contiguous tensor; copy back when the parameter is a view.
    std::vector<torch::Tensor> t{p.detach().contiguous()};
    comm_->pg->broadcast(t, opts)->wait();
    if (!t[0].is_same(p)) p.detach().copy_(t[0]);
  }
}

std::vector<double> DistContext::reduceMetrics(const std::vector<double>& values,
                                               MetricReduce op) const {
  if (!distributed() || values.empty()) return values;
  std::vector<torch::Tensor> t{
      torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat64))};
  if (backend_ == DistBackend::kNccl) t[0] = t[0].to(torch::Device(torch::kCUDA, local_rank_));
  comm_->pg->allreduce(t)->wait();
  torch::Tensor r = t[0].cpu();
  if (op == MetricReduce::kMean) r = r / world_size_;
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

torch::Tensor DistContext::allGather(const torch::Tensor& local) const {
  if (!distributed()) return local.clone();
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < world_size_; ++r) out[0].push_back(torch::empty_like(local));
  std::vector<torch::Tensor> in{local.contiguous()};
  comm_->pg->allgather(out, in)->wait();
  return torch::cat(out[0]);
}

void DistContext::barrier() const {
  if (!distributed()) return;
  comm_->pg->barrier()->wait();
}

ShardedAdamW::ShardedAdamW(const DistContext& ctx, std::vector<torch::Tensor> params,
                           const torch::optim::AdamWOptions& options)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(params)},
                              std::make_unique<torch::optim::AdamWOptions>(options)),
      ctx_(ctx),
      all_(std::move(params)) {
  // Greedy balance: each parameter goes to the rank with the fewest elements so far.
  std::vector<int64_t> load(static_cast<size_t>(ctx_.worldSize()), 0);
  for (const auto& p : all_) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner_.push_back(r);
    load[static_cast<size_t>(r)] += p.numel();
  }
  auto own = ownedParameters();
  if (!own.empty()) local_ = std::make_unique<torch::optim::AdamW>(own, options);
}

std::vector<torch::Tensor> ShardedAdamW::ownedParameters() const {
  std::vector<torch::Tensor> own;
  for (size_t i = 0; i < all_.size(); ++i)
    if (owner_[i] == ctx_.rank()) own.push_back(all_[i]);
  return own;
}

torch::Tensor ShardedAdamW::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode grad_on(true);
    loss = closure();
  }
  if (local_) {
    // A scheduler changes the learning rate on our param group; the shard follows it.
    const double lr = param_groups()[0].options().get_lr();
    for (auto& group : local_->param_groups()) group.options().set_lr(lr);
    local_->step();
  }
  for (size_t i = 0; i < all_.size(); ++i) ctx_.broadcastParameters({all_[i]}, owner_[i]);
  return loss;
}

void ShardedAdamW::save(torch::serialize::OutputArchive& archive) const {
  if (local_) local_->save(archive);
}

void ShardedAdamW::load(torch::serialize::InputArchive& archive) {
  if (local_) local_->load(archive);
}

}  // namespace svln::rl
