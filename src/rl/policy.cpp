#include "rl/policy.h"

#include <torch/cuda.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "model/chat_template.h"
#include "model/peft.h"

namespace svln::rl {

void attachTokenizer(Policy& p) {
  p.model->setPlaceholderIds(p.tokenizer->requireTokenId(model::kImageToken),
                             p.tokenizer->requireTokenId(model::kMemoryToken));
  p.codec = std::make_unique<model::ActionCodec>(*p.tokenizer);
}

const char* const kPrecisionHelp =
    "weights' dtype: auto (bf16 on a GPU, fp32 on the CPU), fp32, or bf16 (GPU only)";

model::LoadOptions deviceLoadOptions(const std::string& device, int local_rank,
                                     const std::string& precision) {
  if (precision != "auto" && precision != "fp32" && precision != "bf16")
    throw std::runtime_error("--precision " + precision + ": not one of auto, fp32, bf16");
  const bool gpu = torch::cuda::is_available();
  const std::string name = device == "auto" ? (gpu ? "cuda" : "cpu") : device;
  std::optional<c10::Device> d;
  try {
    d = c10::Device(name);
  } catch (const c10::Error&) {
  }
  if (!d || !(d->is_cpu() || d->is_cuda()))
    throw std::runtime_error("--device " + device + ": not one of auto, cpu, cuda, cuda:N");
  if (d->is_cuda() && !gpu)
    throw std::runtime_error("--device " + device +
                             ": no CUDA device (a CPU-only libtorch, or no GPU visible)");
  if (d->is_cuda() && !d->has_index())  // this rank's GPU
    d = c10::Device(c10::kCUDA,
                    static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
  model::LoadOptions o;
  o.device = *d;
  if (precision == "bf16" && !o.device.is_cuda())
    throw std::runtime_error("--precision bf16: needs a GPU (--device " + device + " is the CPU)");
  o.dtype = precision == "fp32"   ? c10::kFloat
            : precision == "bf16" ? c10::kBFloat16
            : o.device.is_cuda()  ? c10::kBFloat16
                                  : c10::kFloat;
  return o;
}

Policy loadPolicy(const std::string& model_dir, const std::string& adapter_dir,
                  const model::LoadOptions& options) {
  if (!std::filesystem::is_directory(model_dir)) {
    throw std::runtime_error(model_dir + ": model directory not found");
  }
  Policy p;
  p.tokenizer = std::make_unique<model::Tokenizer>(model::Tokenizer::fromFile(model_dir));
  p.model = std::make_unique<model::StreamVLN>(model::StreamVLN::load(model_dir, options));
  if (!adapter_dir.empty()) model::loadLoraAdapter(p.model->root(), adapter_dir);
  attachTokenizer(p);
  p.model->root().eval();
  return p;
}

}  // namespace svln::rl
