#include "model/streamvln.h"

#include <spdlog/spdlog.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "model/default_dtype.h"
#include "model/safetensors.h"

namespace svln::model {

namespace {

// Registers `module` as `outer.inner` below `parent` (LLaVA's vision_tower.vision_tower).
class Holder : public torch::nn::Module {};

}  // namespace

SiglipVisionConfig visionConfigOf(const ModelConfig& config) {
  const VisionTowerConfig& v = config.mm.vision;
  SiglipVisionConfig s;
  s.hidden_size = v.hidden_size;
  s.intermediate_size = v.intermediate_size;
  s.num_hidden_layers = v.num_hidden_layers;
  s.num_attention_heads = v.num_attention_heads;
  s.image_size = v.image_size;
  s.patch_size = v.patch_size;
  s.layer_norm_eps = v.layer_norm_eps;
  const int64_t sel = config.mm.mm_vision_select_layer;
  s.num_layers_used = sel < 0 ? v.num_hidden_layers + 1 + sel : sel;
  if (s.num_layers_used < 1 || s.num_layers_used > v.num_hidden_layers) {
    throw std::runtime_error("config.json: mm_vision_select_layer " + std::to_string(sel) +
                             " is outside the " + std::to_string(v.num_hidden_layers) +
                             " vision layers");
  }
  return s;
}

ModelConfig namedStreamVLNConfig(const std::string& name) {
  ModelConfig c;
  c.architecture = "LlavaQwenForCausalLM";
  c.text = namedQwen2Config(name);
  c.mm.present = true;
  c.mm.has_vision_config = true;
  if (name == "tiny" || name == "small") {
    VisionTowerConfig& v = c.mm.vision;
    v.hidden_size = name == "tiny" ? 32 : 128;
    v.intermediate_size = name == "tiny" ? 64 : 512;
    v.num_hidden_layers = name == "tiny" ? 3 : 4;
    v.num_attention_heads = name == "tiny" ? 2 : 4;
    v.image_size = name == "tiny" ? 112 : 224;  // 8x8 -> 4x4 = 16, 16x16 -> 8x8 = 64 tokens
    v.patch_size = 14;
  }
  c.mm.mm_hidden_size = c.mm.vision.hidden_size;
  return c;
}

StreamVLN::StreamVLN(const ModelConfig& cfg) : config(cfg) {
  if (!config.mm.present) {
    throw std::runtime_error("StreamVLN: the configuration has no multimodal (mm_*) fields");
  }
  lm = Qwen2ForCausalLM(config.text);
  const SiglipVisionConfig vcfg = visionConfigOf(config);
  vision_tower = SiglipVisionModel(vcfg);
  mm_projector = MultimodalProjector(config.mm.mm_hidden_size, config.text.hidden_size,
                                     config.mm.mm_projector_type);
  auto outer = std::make_shared<Holder>();
  outer->register_module("vision_tower", vision_tower.ptr());
  lm->model->register_module("vision_tower", outer);
  lm->model->register_module("mm_projector", mm_projector.ptr());
  pool_mode = parseSpatialPoolMode(config.mm.mm_spatial_pool_mode);
  tokens_per_frame_ = pooledTokensPerFrame(vcfg.patchesPerSide(), pool_mode);
  image.height = vcfg.image_size;
  image.width = vcfg.image_size;
}

StreamVLN StreamVLN::load(const std::string& dir, const LoadOptions& options) {
  ModelConfig config = loadModelConfig(dir);
  if (!config.mm.present) {
    throw std::runtime_error(dir + "/config.json: not a StreamVLN/LLaVA checkpoint "
                                   "(no mm_vision_tower / mm_projector_type)");
  }
  // Every weight is read from the checkpoint next (a missing one is an error), so none is
  // drawn here, and the modules are built in the load dtype: the 7B model's 7.6 B host
  // draws in fp32 took minutes and 30 GB before the bf16 copy went to the GPU.
  std::optional<StreamVLN> built;
  {
    SkipInitGuard skip;
    std::optional<DefaultDtypeGuard> dtype;
    if (c10::isFloatingType(options.dtype)) dtype.emplace(options.dtype);
    built.emplace(config);
  }
  StreamVLN& m = *built;
  SafetensorsCheckpoint checkpoint(dir);
  LoadReport report = loadCheckpointInto(checkpoint, dir, {{"", m.lm.get()}}, options);
  m.lm->eval();
  const ParamCount n = countParameters(*m.lm);
  spdlog::info("{}: StreamVLN {} layers + SigLIP {} layers, {:.1f} M parameters, {} tensors",
               dir, config.text.num_hidden_layers, m.vision_tower->config().num_layers_used,
               n.total / 1e6, report.loaded.size());
  return std::move(m);
}

StreamVLN StreamVLN::random(const ModelConfig& config, const c10::Device& device,
                            c10::ScalarType dtype, uint64_t seed) {
  std::optional<StreamVLN> built;
  {
    SkipInitGuard skip;  // randomInit draws every weight below
    DefaultDtypeGuard default_dtype(dtype);
    built.emplace(config);
  }
  built->root().to(device, dtype);
  built->randomInit(seed);
  return std::move(*built);
}

void StreamVLN::randomInit(uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (device().is_cuda()) torch::cuda::manual_seed_all(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : lm->named_parameters(true)) {
    const std::string& name = p.key();
    torch::Tensor& t = p.value();
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (is_bias) {
      t.zero_();
    } else if (t.dim() == 1) {
      t.fill_(1.0);  // RMSNorm / LayerNorm scales
    } else if (name.find("lora_B") != std::string::npos) {
      t.zero_();  // a fresh adapter is a no-op
    } else {
      if (t.is_cuda()) {  // drawn on the device (7.6 B host draws take minutes)
        t.normal_(0.0, 0.02);
        continue;
      }
      torch::Tensor cpu = torch::empty(t.sizes(), torch::kFloat);
      cpu.normal_(0.0, 0.02, gen);
      t.copy_(cpu);
    }
  }
}

void StreamVLN::save(const std::string& dir, c10::ScalarType dtype) {
  saveCheckpoint(dir, config, {{"", lm.get()}}, dtype);
}

torch::Device StreamVLN::device() const { return lm->parameters().front().device(); }

c10::ScalarType StreamVLN::dtype() const {
  return lm->parameters().front().scalar_type();
}

void StreamVLN::setPlaceholderIds(int64_t image_id, int64_t memory_id) {
  image_token_id_ = image_id;
  memory_token_id_ = memory_id;
}

torch::Tensor StreamVLN::encodeFrames(const torch::Tensor& rgb_u8) {
  const torch::Tensor batch = rgb_u8.dim() == 3 ? rgb_u8.unsqueeze(0) : rgb_u8;
  if (device().is_cuda()) {
    // On the GPU, preprocessing is a few batched kernels (bit-exact with the host path);
    // on the host it cost ~6 ms per frame, as much as the 7B tower's forward.
    const torch::Tensor pixels = preprocessImagesOnDevice(batch.to(device()), image).to(dtype());
    return model::encodeFrames(vision_tower, mm_projector, pixels, pool_mode);
  }
  // The host preprocessing (PIL-exact bicubic resize) of each frame on its own thread.
  std::vector<torch::Tensor> frames(static_cast<size_t>(batch.size(0)));
  at::parallel_for(0, batch.size(0), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) frames[i] = preprocessImages(batch[i], image);
  });
  const torch::Tensor pixels = torch::cat(frames, 0).to(device(), dtype());
  return model::encodeFrames(vision_tower, mm_projector, pixels, pool_mode);
}

int64_t StreamVLN::expandedLength(const std::vector<int>& ids, size_t begin, size_t end) const {
  int64_t n = 0;
  for (size_t i = begin; i < end; ++i) {
    if (ids[i] == image_token_id_) {
      n += tokens_per_frame_;
    } else if (ids[i] == memory_token_id_) {
      n += config.mm.num_history * tokens_per_frame_;
    } else {
      n += 1;
    }
  }
  return n;
}

torch::Tensor StreamVLN::embedSegment(const SegmentInputs& seg) {
  const std::vector<int>& ids = *seg.ids;
  std::vector<torch::Tensor> parts;
  size_t image_index = 0;
  size_t run_start = seg.begin;
  auto flushText = [&](size_t end) {
    if (end <= run_start) return;
    std::vector<int64_t> run(ids.begin() + run_start, ids.begin() + end);
    auto t = torch::tensor(run, torch::kLong).to(device()).unsqueeze(0);
    parts.push_back(lm->embed(t).squeeze(0));
  };
  for (size_t i = seg.begin; i < seg.end; ++i) {
    const bool image = ids[i] == image_token_id_;
    const bool memory = ids[i] == memory_token_id_;
    if (!image && !memory) continue;
    flushText(i);
    run_start = i + 1;
    if (image) {
      if (image_index >= seg.images.size()) {
        throw std::invalid_argument("embedSegment: more <image> tokens than frames");
      }
      parts.push_back(seg.images[image_index++].to(dtype()));
    } else {
      if (!seg.memory.defined()) throw std::invalid_argument("embedSegment: <memory> without frames");
      parts.push_back(seg.memory.to(dtype()));
    }
  }
  flushText(seg.end);
  if (image_index != seg.images.size()) {
    throw std::invalid_argument("embedSegment: frames left over after the last <image>");
  }
  return torch::cat(parts, 0).unsqueeze(0);  // [1, L, hidden]
}

}  // namespace svln::model
