#include "rl/sft.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <thread>

#include "io/progress.h"
#include "model/stream_session.h"
#include "rl/policy.h"
#include "rl/train_setup.h"
#include "sim/episode_iterator.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/vec_env.h"

namespace svln::rl {
namespace fs = std::filesystem;
namespace {

// Whether ids[i] directly follows a whole action (so <|im_end|> was a choice there, as in
// StreamSession::propose: allowed after the turn's first action).
bool followsAction(const std::vector<int>& ids, size_t i, const model::ActionCodec& codec) {
  for (int a = 0; a < 4; ++a) {
    const std::vector<int>& t = codec.tokens(a);
    if (i < t.size()) continue;
    if (std::equal(t.begin(), t.end(), ids.begin() + static_cast<long>(i - t.size()))) return true;
  }
  return false;
}

bool anyRequiresGrad(torch::nn::Module& m) {
  for (const auto& p : m.parameters())
    if (p.requires_grad()) return true;
  return false;
}

}  // namespace

torch::Tensor demonstrationLoss(model::StreamVLN& model, const model::ActionCodec& codec,
                                const std::vector<Trajectory>& trajs) {
  const bool vision_grad = anyRequiresGrad(*model.vision_tower) || anyRequiresGrad(*model.mm_projector);
  torch::Tensor total;
  int64_t count = 0;
  for (const Trajectory& t : trajs) {
    for (size_t w = 0; w < t.windows.size(); ++w) {
      const model::WindowRecord& win = t.windows[w];
      std::vector<int32_t> pos;
      std::vector<int64_t> cols;
      std::vector<bool> allow;
      for (const model::AnswerToken& a : t.answer_tokens) {
        if (a.window != static_cast<int32_t>(w)) continue;
        const int col = model::alphabetColumn(codec, a.token);
        if (col < 0) continue;
        pos.push_back(a.ids_index);
        cols.push_back(col);
        allow.push_back(followsAction(win.ids, static_cast<size_t>(a.ids_index), codec));
      }
      if (pos.empty()) continue;
      std::vector<torch::Tensor> images;
      torch::Tensor memory;
      {
        std::unique_ptr<torch::NoGradGuard> ng;
        if (!vision_grad) ng = std::make_unique<torch::NoGradGuard>();
        std::vector<torch::Tensor> f;
        for (int64_t s : win.image_steps) f.push_back(t.frames.at(static_cast<size_t>(s)));
        if (!f.empty()) images = model.encodeFrames(torch::stack(f)).unbind(0);
        std::vector<torch::Tensor> m;
        for (int64_t s : win.memory_steps) m.push_back(t.frames.at(static_cast<size_t>(s)));
        if (!m.empty()) memory = model.encodeFrames(torch::stack(m)).flatten(0, 1);
      }
      auto allow_t = torch::zeros({static_cast<int64_t>(allow.size())}, torch::kBool);
      for (size_t i = 0; i < allow.size(); ++i) allow_t[static_cast<int64_t>(i)] = static_cast<bool>(allow[i]);
      const torch::Tensor lp = model::alphabetLogProbs(
          model::windowLogits(model, win, images, memory, pos), codec, allow_t, 1.0);  // [P, 5]
      // CE = -log p(label) over the alphabet, summed here, averaged below.
      const torch::Tensor nll =
          -lp.gather(1, torch::tensor(cols, torch::kLong).to(lp.device()).unsqueeze(1)).sum();
      total = total.defined() ? total + nll : nll;
      count += static_cast<int64_t>(pos.size());
    }
  }
  if (!total.defined()) return total;
  return total / static_cast<double>(count);
}

void copyTokenizerFiles(const std::string& src, const std::string& dst) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                        "vocab.json", "merges.txt", "added_tokens.json"}) {
    const fs::path from = fs::path(src) / f;
    if (fs::exists(from)) fs::copy_file(from, fs::path(dst) / f, fs::copy_options::overwrite_existing);
  }
}

SftResult runSft(const SftConfig& c) {
  if (c.num_updates < 1) throw std::runtime_error("--num_updates: must be >= 1");
  if (c.episodes_per_update < 1) throw std::runtime_error("--episodes_per_update: must be >= 1");
  if (!(c.learning_rate > 0)) throw std::runtime_error("--learning_rate: must be > 0");
  if (c.output_path.empty()) throw std::runtime_error("--output_path: required");
  torch::manual_seed(c.seed);
  Policy policy = loadPolicy(c.model_path, "", deviceLoadOptions(c.device, 0, c.precision));
  model::StreamVLN& net = *policy.model;
  net.lm->eval();  // no dropout: the demonstrations are exact targets
  net.lm->setGradientCheckpointing(c.gradient_checkpointing);
  if (!c.full) {
    model::LoraConfig lora = c.lora;
    lora.seed = c.seed;
    model::applyLora(net.root(), lora);
  }
  std::vector<torch::Tensor> params;
  for (auto& p : net.root().parameters())
    if (p.requires_grad()) params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(c.learning_rate).weight_decay(0.0));

  sim::HabitatConfig hcfg = sim::loadHabitatConfig(c.habitat_config_path);
  hcfg.ndtw_reference = c.ndtw_reference;
  hcfg.habitat_path_limits = c.habitat_path_limits;
  if (c.max_episode_steps > 0) hcfg.max_episode_steps = c.max_episode_steps;
  const int threads = c.num_threads > 0 ? c.num_threads : std::max(1u, std::thread::hardware_concurrency());
  sim::VecEnv envs(hcfg, c.episodes_per_update, std::min(threads, c.episodes_per_update));
  sim::EpisodeIterator episodes = sim::EpisodeIterator::fromConfig(hcfg, c.split, true, true);
  if (episodes.size() == 0) throw std::runtime_error(c.habitat_config_path + ": split '" + c.split + "' has no episodes");
  RolloutOptions ro;
  ro.mode = RolloutMode::kExpertDemo;
  ro.intervention.follower = expertFollowerRule(c.follower);
  RolloutEngine engine(envs, net, *policy.tokenizer, *policy.codec, ro);

  SftResult result;
  io::Progress progress("sft", c.num_updates, c.progress ? 1 : 0);
  for (int u = 0; u < c.num_updates; ++u) {
    std::vector<sim::Episode> batch;
    for (int i = 0; i < c.episodes_per_update; ++i) batch.push_back(*episodes.next());
    std::vector<Trajectory> demos;
    {
      torch::NoGradGuard no_grad;
      demos = engine.run(batch, 1, c.seed * 1000003ull + static_cast<uint64_t>(u));
    }
    opt.zero_grad();
    const torch::Tensor loss = demonstrationLoss(net, *policy.codec, demos);
    if (!loss.defined()) continue;
    const double lv = loss.item<double>();
    if (!std::isfinite(lv)) {
      spdlog::warn("sft update {}: NaN/Inf loss, step skipped", u + 1);
      continue;
    }
    loss.backward();
    const double norm = torch::nn::utils::clip_grad_norm_(params, c.max_grad_norm);
    if (!std::isfinite(norm)) {
      opt.zero_grad();
      spdlog::warn("sft update {}: NaN/Inf gradient, step skipped", u + 1);
      continue;
    }
    opt.step();
    result.losses.push_back(lv);
    char status[48];
    std::snprintf(status, sizeof status, "CE %.3f", lv);
    if (c.progress) progress.update(u + 1, status);
    spdlog::debug("sft update {}: CE {:.4f} grad norm {:.3f}", u + 1, lv, norm);
  }
  if (c.progress) progress.finish();

  // A plain checkpoint (adapters merged) published atomically with its tokenizer.
  if (!c.full) model::mergeLora(net.root());
  const fs::path out(c.output_path);
  const fs::path tmp = out.string() + ".tmp";
  sim::freshDirectory(tmp.string());
  net.save(tmp.string(), net.dtype());  // bf16 stays bf16 (a 7B fp32 copy is 30 GB)
  copyTokenizerFiles(c.model_path, tmp.string());
  sim::publishDirectory(tmp.string(), out.string());
  result.output_path = out.string();
  spdlog::info("sft: {} updates, CE {:.3f} -> {:.3f}, wrote {}", result.losses.size(),
               result.losses.empty() ? 0.0 : result.losses.front(),
               result.losses.empty() ? 0.0 : result.losses.back(), out.string());
  return result;
}

}  // namespace svln::rl
