// StreamVLN model speed: prefill, KV-cached decoding (batch 1 and batched), LoRA training
// with gradient checkpointing, and the vision tower; random weights.
//
//   model_bench [--config 7b|small|tiny] [--device cuda|cpu] [--context 3400]
//               [--decode_steps 32] [--batches 1,8,32,64] [--train_seq 2048]
//               [--train_batch 4] [--train_steps 3] [--lora_r 32] [--frames 32]
//               [--peak_tflops 793] [--skip prefill,decode,slot_decode,train,vision] [--sdpa_cudnn
//               0|1]
//               [--profile DIR]   (Kineto traces of slot-cache decode steps and of a
//                                  rollout-sized batched prefill: DIR/*.json)
//               [--ckpt_layers 28,14,0]  (checkpointed decoder layers per training run;
//                                         -1 = all)
//               [--lora_targets q_proj,v_proj|all]  (adapted projections; the trainer's
//                                         default is q_proj,v_proj)
//               [--loss_every 64]  (the loss reads the logits of every K-th position, as
//                                   the trainer reads only its action tokens' (~1 in 85 of
//                                   a window); 1 = a full language-model loss)
//
// On CUDA the model is built in bf16 (the default dtype is bf16 while the modules are
// constructed, then they move to the GPU), so the 7B model never exists in fp32.
//
// Training FLOPs per step (PaLM appendix B convention, what MFU is quoted against):
//   model FLOPs = 6 N T + 12 L d S T     N = decoder matmul parameters (lm_head included,
//                                         the embedding lookup excluded), T tokens per step,
//                                         L layers, d hidden size, S sequence length
// with the lm_head's share counted only for the P = T / loss_every positions whose logits
// the loss reads: 6 (N - V d) T + 6 V d P + 12 L d S T.
// Gradient checkpointing recomputes the forward (2 N T more: "hardware" FLOPs 8 N T + 16 L d S T),
// while LoRA skips the frozen weights' gradients (-2 N T): the GPU really executes about
// 6 N T + 16 L d S T, which is why both MFU (model FLOPs) and HFU (8 N T) are printed.
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define SVLN_HAVE_CUDA_ALLOCATOR_STATS 1
#endif

#include "bench_util.h"
#include "model/attention.h"
#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/qwen2.h"
#include "model/slot_kv_cache.h"
#include "model/stream_session.h"
#include "model/streamvln.h"

using namespace svln::model;

namespace {

struct Options {
  int sdpa_cudnn = -1;  // -1: the library default; 0/1: cuDNN attention off/on
  std::string config = "7b";
  std::string device = "cuda";
  int64_t context = 3400;
  int64_t decode_steps = 32;
  std::vector<int64_t> batches = {1, 8, 32, 64};
  int64_t train_seq = 2048;
  int64_t train_batch = 4;
  int64_t train_steps = 3;
  std::vector<int64_t> ckpt_layers = {-1};
  std::string profile_dir;
  int64_t lora_r = 32;
  std::string lora_targets = "q_proj,v_proj";
  int64_t loss_every = 64;
  int64_t frames = 32;
  double peak_tflops = 793.0;
  std::set<std::string> skip;
};

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Options parseArgs(int argc, char** argv) {
  Options o;
  CLI::App app{"StreamVLN model speed: prefill, decoding, LoRA training, vision tower"};
  app.add_option("--config", o.config, "7b, small or tiny")->capture_default_str();
  app.add_option("--device", o.device, "cuda or cpu")->capture_default_str();
  app.add_option("--context", o.context, "cached tokens for prefill/decode")->capture_default_str();
  app.add_option("--decode_steps", o.decode_steps)->capture_default_str();
  app.add_option("--batches", o.batches, "decode batch sizes")->delimiter(',')->capture_default_str();
  app.add_option("--train_seq", o.train_seq)->capture_default_str();
  app.add_option("--train_batch", o.train_batch)->capture_default_str();
  app.add_option("--train_steps", o.train_steps)->capture_default_str();
  app.add_option("--ckpt_layers", o.ckpt_layers, "checkpointed layers per training run (-1: all)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--lora_r", o.lora_r)->capture_default_str();
  app.add_option("--lora_targets", o.lora_targets, "comma-separated module names, or all")
      ->capture_default_str();
  app.add_option("--loss_every", o.loss_every, "the loss reads every K-th position's logits")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--frames", o.frames, "frames per vision-tower call")->capture_default_str();
  app.add_option("--peak_tflops", o.peak_tflops, "the MFU denominator")->capture_default_str();
  std::vector<std::string> skip;
  app.add_option("--skip", skip, "prefill,decode,slot_decode,train,vision")->delimiter(',');
  app.add_option("--sdpa_cudnn", o.sdpa_cudnn, "-1 library default, 0 off, 1 on")
      ->capture_default_str();
  app.add_option("--profile", o.profile_dir, "write Kineto traces here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  o.skip.insert(skip.begin(), skip.end());
  return o;
}

class Timer {
 public:
  explicit Timer(torch::Device d) : device_(d) {}
  // Seconds of fn(), device work included.
  double time(const std::function<void()>& fn) {
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  void sync() {
    if (device_.is_cuda()) torch::cuda::synchronize();
  }
  torch::Device device_;
};

// Matmul parameters of the decoder: every 2-D weight under model.layers plus lm_head (or
// the tied embedding used as lm_head).
int64_t decoderMatmulParams(StreamVLN& m) {
  int64_t n = 0;
  for (const auto& p : m.lm->named_parameters(true)) {
    const std::string& name = p.key();
    if (name.rfind("model.layers.", 0) == 0 && p.value().dim() == 2) n += p.value().numel();
  }
  const auto& c = m.config.text;
  n += c.vocab_size * c.hidden_size;  // lm_head
  return n;
}

at::Tensor randomIds(int64_t b, int64_t t, int64_t vocab, torch::Device d) {
  return torch::randint(0, vocab, {b, t}, torch::TensorOptions().dtype(torch::kLong).device(d));
}

void row(const char* what, const std::string& setting, double value, const char* unit,
         const std::string& note = "") {
  std::printf("| %-22s | %-28s | %12.2f | %-10s | %s\n", what, setting.c_str(), value, unit,
              note.c_str());
  std::fflush(stdout);
}


}  // namespace

int main(int argc, char** argv) try {
  const Options o = parseArgs(argc, argv);
  const torch::Device device(o.device);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("model_bench: --device cuda but CUDA is not available");
  const bool bf16 = device.is_cuda();
  svln::model::setCudnnAttention(o.sdpa_cudnn);
  torch::manual_seed(0);

  Timer timer(device);
  ModelConfig cfg = namedStreamVLNConfig(o.config);
  const auto t0 = std::chrono::steady_clock::now();
  const std::unique_ptr<StreamVLN> built = svln::bench::buildBenchModel(cfg, device);
  StreamVLN& model = *built;
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& c = cfg.text;
  const int64_t vocab = std::min<int64_t>(c.vocab_size, 4096);
  const int64_t n_matmul = decoderMatmulParams(model);
  std::printf(
      "config %s on %s (%s): %lld decoder layers, hidden %lld, %.3f B decoder matmul "
      "params; built and moved in %.1f s\n",
      o.config.c_str(), o.device.c_str(), bf16 ? "bf16" : "fp32",
      static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
      n_matmul * 1e-9, build_s);
  std::printf("| %-22s | %-28s | %12s | %-10s | %s\n", "measure", "setting", "value", "unit",
              "note");
  std::printf("|%s|%s|%s|%s|%s\n", std::string(24, '-').c_str(), std::string(30, '-').c_str(),
              std::string(14, '-').c_str(), std::string(12, '-').c_str(), "------");

  // (a) prefill: one context of `context` tokens into an empty cache.
  if (!o.skip.count("prefill")) {
    torch::NoGradGuard ng;
    const at::Tensor ids = randomIds(1, o.context, vocab, device);
    auto once = [&] {
      KVCache cache = model.lm->newCache();
      Qwen2Inputs in;
      in.input_ids = ids;
      in.cache = &cache;
      model.lm->forward(in, /*last_only=*/true);
    };
    once();  // warm-up (kernels, allocator)
    const int reps = 3;
    const double s = timer.time([&] {
      for (int r = 0; r < reps; ++r) once();
    }) / reps;
    const double flops = 2.0 * n_matmul * o.context +
                         2.0 * c.num_hidden_layers * c.hidden_size * o.context * o.context;
    row("prefill", "B=1 T=" + std::to_string(o.context), o.context / s, "tokens/s",
        std::to_string(static_cast<int>(s * 1000)) + " ms, " +
            std::to_string(static_cast<int>(flops / s / 1e12)) + " TFLOP/s");
  }

  // (b) decode: one token per sequence per step on a cache holding `context` tokens; the
  // batch is B copies of one prefilled cache stacked with KVCache::concat.
  if (!o.skip.count("decode")) {
    torch::NoGradGuard ng;
    KVCache base = model.lm->newCache();
    {
      Qwen2Inputs in;
      in.input_ids = randomIds(1, o.context, vocab, device);
      in.cache = &base;
      model.lm->forward(in, true);
    }
    for (int64_t b : o.batches) {
      std::vector<KVCache> copies;
      for (int64_t i = 0; i < b; ++i) copies.push_back(base.clone());
      KVCache cache = KVCache::concat(copies);
      copies.clear();
      at::Tensor next = randomIds(b, 1, vocab, device);
      auto step = [&] {
        Qwen2Inputs in;
        in.input_ids = next;
        in.cache = &cache;
        const at::Tensor logits = model.lm->forward(in, true);  // [B, 1, V]
        next = logits.argmax(-1).remainder(vocab);
      };
      step();  // warm-up (also the first capacity growth)
      const double s = timer.time([&] {
        for (int64_t k = 0; k < o.decode_steps; ++k) step();
      }) / o.decode_steps;
      row("decode", "B=" + std::to_string(b) + " ctx=" + std::to_string(o.context), s * 1000.0,
          "ms/step",
          std::to_string(static_cast<int>(b / s)) + " tokens/s, cache " +
              std::to_string(cache.bytes() >> 20) + " MiB");
    }
  }

  // (b') the same decode through a SlotKVCache, the rollout's batched path: a slot per
  // sequence, a per-row visibility mask, keys read as one [B, Hkv, Tk, D] view.
  if (!o.skip.count("slot_decode")) {
    torch::NoGradGuard ng;
    for (int64_t b : o.batches) {
      SlotKVCache slots = model.lm->newSlotCache(b);
      std::vector<int64_t> rows(b), ones(b, 1);
      for (int64_t i = 0; i < b; ++i) rows[i] = i;
      for (int64_t i = 0; i < b; i += 8) {  // prefill 8 slots per call
        const int64_t n = std::min<int64_t>(8, b - i);
        Qwen2Inputs in;
        in.input_ids = randomIds(n, o.context, vocab, device);
        in.slots = &slots;
        in.slot_rows.assign(rows.begin() + i, rows.begin() + i + n);
        in.slot_new_tokens.assign(n, o.context);
        model.lm->hiddenStates(in);
      }
      at::Tensor next = randomIds(b, 1, vocab, device);
      auto step = [&] {
        Qwen2Inputs in;
        in.input_ids = next;
        in.slots = &slots;
        in.slot_rows = rows;
        in.slot_new_tokens = ones;
        next = model.lm->forward(in, true).argmax(-1).remainder(vocab);
      };
      step();
      const double s = timer.time([&] {
        for (int64_t k = 0; k < o.decode_steps; ++k) step();
      }) / o.decode_steps;
      row("decode, slot cache", "B=" + std::to_string(b) + " ctx=" + std::to_string(o.context),
          s * 1000.0, "ms/step",
          std::to_string(static_cast<int>(b / s)) + " tokens/s, cache " +
              std::to_string(slots.bytes() >> 20) + " MiB");
      if (!o.profile_dir.empty() && (b == 1 || b == o.batches.back())) {
        svln::bench::profileToFile(
            o.profile_dir + "/slot_decode_b" + std::to_string(b) + ".json",
            [&] {
              for (int k = 0; k < 3; ++k) step();
            },
            device.is_cuda());
      }
    }
    // A rollout-sized batched prefill: 16 slots holding 2,000 tokens each take a new user
    // turn of 230 tokens (one frame + text).
    if (!o.profile_dir.empty()) {
      SlotKVCache slots = model.lm->newSlotCache(16);
      std::vector<int64_t> rows(16);
      for (int64_t i = 0; i < 16; ++i) rows[i] = i;
      auto feed = [&](int64_t t) {
        Qwen2Inputs in;
        in.input_ids = randomIds(16, t, vocab, device);
        in.slots = &slots;
        in.slot_rows = rows;
        in.slot_new_tokens.assign(16, t);
        model.lm->hiddenStates(in);
      };
      feed(2000);
      feed(230);  // warm-up of the shapes
      for (int64_t i = 0; i < 16; ++i) slots.truncate(i, 2000);
      const double s = timer.time([&] { feed(230); });
      row("prefill, slot cache", "B=16 x 230 on ctx 2000", 16 * 230 / s, "tokens/s",
          std::to_string(static_cast<int>(s * 1000)) + " ms, " +
              std::to_string(static_cast<int>(2.0 * n_matmul * 16 * 230 / s / 1e12)) +
              " TFLOP/s (matmuls)");
      for (int64_t i = 0; i < 16; ++i) slots.truncate(i, 2000);
      svln::bench::profileToFile(
          o.profile_dir + "/slot_prefill_b16.json", [&] { feed(230); }, device.is_cuda());
    }
  }

  // (c) training: LoRA r on every decoder projection, gradient checkpointing, AdamW on
  // the adapters, next-token cross-entropy over `train_batch` x `train_seq` tokens.
  if (!o.skip.count("train")) {
    LoraConfig lc;
    lc.r = o.lora_r;
    lc.alpha = 2.0 * o.lora_r;
    lc.dropout = 0.05;
    if (o.lora_targets == "all")
      lc.target_regex = R"(model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj))";
    else
      lc.target_modules = splitCommas(o.lora_targets);
    applyLora(model.root(), lc);
    model.root().to(device);
    model.root().train();
    std::vector<at::Tensor> trainable;
    int64_t n_lora = 0;
    for (auto& p : model.root().parameters(true)) {
      if (p.requires_grad()) {
        trainable.push_back(p);
        n_lora += p.numel();
      }
    }
    torch::optim::AdamW opt(trainable, torch::optim::AdamWOptions(1e-4));
    const at::Tensor ids = randomIds(o.train_batch, o.train_seq + 1, vocab, device);
    const at::Tensor inputs = ids.narrow(1, 0, o.train_seq);
    // The positions whose logits the loss reads (every loss_every-th, the last of each run).
    const int64_t tokens_per_step = o.train_batch * o.train_seq;
    const at::Tensor rows =
        torch::arange(o.loss_every - 1, tokens_per_step, o.loss_every,
                      torch::TensorOptions().dtype(torch::kLong).device(device));
    const at::Tensor targets = ids.narrow(1, 1, o.train_seq).reshape({-1}).index_select(0, rows);
    auto step = [&] {
      opt.zero_grad();
      Qwen2Inputs in;
      in.input_ids = inputs;
      const at::Tensor hidden = model.lm->hiddenStates(in);  // [B, T, hidden]
      const at::Tensor logits =
          model.lm->logits(hidden.reshape({tokens_per_step, -1}).index_select(0, rows));
      const at::Tensor loss =
          torch::nn::functional::cross_entropy(logits.to(torch::kFloat), targets);
      loss.backward();
      opt.step();
    };
    for (int64_t ckpt : o.ckpt_layers) {
      model.lm->setGradientCheckpointing(true, ckpt);
#ifdef SVLN_HAVE_CUDA_ALLOCATOR_STATS
      if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(0);
#endif
      const std::string ck = ckpt < 0 ? "all" : std::to_string(ckpt);
      double s = 0;
      try {
        step();  // warm-up
        s = timer.time([&] {
          for (int64_t k = 0; k < o.train_steps; ++k) step();
        }) / o.train_steps;
      } catch (const c10::Error& e) {  // out of memory with too few checkpointed layers
        opt.zero_grad();
        std::printf("| train (ckpt %s layers) | failed: %.80s\n", ck.c_str(), e.what());
#ifdef SVLN_HAVE_CUDA_ALLOCATOR_STATS
        if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
        continue;
      }
      // Checkpointed layers recompute their forward: hardware FLOPs 6NT + 2NT * share.
      const double share = ckpt < 0 ? 1.0 : static_cast<double>(ckpt) / c.num_hidden_layers;
      const double tokens = static_cast<double>(o.train_batch * o.train_seq);
      const double attn = 12.0 * c.num_hidden_layers * c.hidden_size * o.train_seq * tokens;
      // The lm_head runs on the loss positions only (and is never recomputed).
      const double n_head = static_cast<double>(c.vocab_size) * c.hidden_size;
      const double head_tokens = static_cast<double>(rows.size(0));
      const double model_flops =
          6.0 * (n_matmul - n_head) * tokens + 6.0 * n_head * head_tokens + attn;
      const double hw_flops = (6.0 + 2.0 * share) * (n_matmul - n_head) * tokens +
                              6.0 * n_head * head_tokens + attn * (1.0 + share / 3.0);
      const double peak = o.peak_tflops * 1e12;
      const std::string setting = "LoRA r=" + std::to_string(o.lora_r) + " " + o.lora_targets +
                                  " loss/" + std::to_string(o.loss_every) +
                                  " B=" + std::to_string(o.train_batch) +
                                  " T=" + std::to_string(o.train_seq) + " ckpt " + ck;
      row("train", setting, tokens / s, "tokens/s",
          std::to_string(static_cast<int>(s * 1000)) + " ms/step, " +
              std::to_string(n_lora / 1000000) + " M trainable");
      row("train MFU (6N)", setting, 100.0 * model_flops / s / peak, "% of peak",
          std::to_string(static_cast<int>(model_flops / s / 1e12)) + " TFLOP/s vs " +
              std::to_string(static_cast<int>(o.peak_tflops)));
      row("train HFU (recomp.)", setting, 100.0 * hw_flops / s / peak, "% of peak",
          std::to_string(static_cast<int>(hw_flops / s / 1e12)) + " TFLOP/s");
#ifdef SVLN_HAVE_CUDA_ALLOCATOR_STATS
      if (device.is_cuda()) {
        row("train peak memory", setting,
            static_cast<double>(
                c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak) /
                (1 << 30),
            "GiB");
      }
#endif
    }
    model.root().eval();
  }

  // (d) vision: uint8 frames at the tower's resolution through preprocess + SigLIP +
  // projector + pooling (what StreamSession::observe pays per frame).
  if (!o.skip.count("vision")) {
    torch::NoGradGuard ng;
    const int64_t px = model.image.height;
    const at::Tensor frames =
        torch::randint(0, 256, {o.frames, px, px, 3}, torch::TensorOptions().dtype(torch::kUInt8));
    model.encodeFrames(frames);  // warm-up
    const int reps = 3;
    const double s = timer.time([&] {
      for (int r = 0; r < reps; ++r) model.encodeFrames(frames);
    }) / reps;
    const std::string setting =
        std::to_string(o.frames) + " frames " + std::to_string(px) + "x" + std::to_string(px);
    row("vision tower", setting, o.frames / s, "frames/s",
        std::to_string(model.tokensPerFrame()) + " tokens/frame after pooling");
    // The two halves: host preprocessing (resize, normalise; a thread per frame) and the
    // device part (SigLIP + projector + pooling) on ready pixels.
    std::vector<at::Tensor> pre(static_cast<size_t>(o.frames));
    const double s_pre = timer.time([&] {
      at::parallel_for(0, o.frames, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) pre[i] = preprocessImages(frames[i], model.image);
      });
    });
    const at::Tensor pixels = torch::cat(pre, 0).to(device, model.dtype());
    const double s_tower = timer.time([&] {
      for (int r = 0; r < reps; ++r)
        encodeFrames(model.vision_tower, model.mm_projector, pixels, model.pool_mode);
    }) / reps;
    // SigLIP matmul FLOPs: 2 x params x patches (+ attention 4 N^2 C per layer).
    const auto& v = cfg.mm.vision;
    const double side = static_cast<double>(v.image_size / v.patch_size);
    const double patches = side * side;
    const int64_t layers_used = cfg.mm.mm_vision_select_layer < 0
                                    ? v.num_hidden_layers + 1 + cfg.mm.mm_vision_select_layer
                                    : cfg.mm.mm_vision_select_layer;
    const double per_layer = 2.0 * patches * (4.0 * v.hidden_size * v.hidden_size +
                                              2.0 * v.hidden_size * v.intermediate_size) +
                             4.0 * patches * patches * v.hidden_size;
    const double tflops = per_layer * layers_used * o.frames / s_tower / 1e12;
    row("vision preprocess", setting, o.frames / s_pre, "frames/s",
        std::to_string(at::get_num_threads()) + " threads");
    row("vision tower (device)", setting, o.frames / s_tower, "frames/s",
        std::to_string(static_cast<int>(tflops)) + " TFLOP/s in SigLIP");
    if (!o.profile_dir.empty())
      svln::bench::profileToFile(
          o.profile_dir + "/vision.json",
          [&] { encodeFrames(model.vision_tower, model.mm_projector, pixels, model.pool_mode); },
          device.is_cuda());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
