#include "model/image_preprocess.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace svln::model {

torch::Tensor preprocessImage(const uint8_t* rgb, int64_t height, int64_t width,
                              const ImagePreprocessConfig& config) {
  const std::vector<uint8_t> resized =
      resizeBicubic(rgb, static_cast<int>(height), static_cast<int>(width), 3,
                    static_cast<int>(config.height), static_cast<int>(config.width), config.kernel);
  torch::Tensor out = torch::empty({3, config.height, config.width}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  const int64_t plane = config.height * config.width;
  // Per level, not per pixel: 256 possible values per channel.
  std::array<std::array<float, 256>, 3> lut{};
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const auto x = static_cast<float>(v * config.rescale_factor);
      lut[c][v] = (x - config.mean[c]) / config.std[c];
    }
  }
  for (int64_t p = 0; p < plane; ++p) {
    for (int c = 0; c < 3; ++c) dst[c * plane + p] = lut[c][resized[p * 3 + c]];
  }
  return out;
}

torch::Tensor preprocessImages(const torch::Tensor& rgb_u8, const ImagePreprocessConfig& config) {
  if (rgb_u8.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("preprocessImages: expected uint8 RGB, got " +
                                std::string(c10::toString(rgb_u8.scalar_type())));
  }
  const torch::Tensor batch = rgb_u8.dim() == 3 ? rgb_u8.unsqueeze(0) : rgb_u8;
  if (batch.dim() != 4 || batch.size(3) != 3) {
    throw std::invalid_argument("preprocessImages: expected [N, H, W, 3] or [H, W, 3]");
  }
  const torch::Tensor cpu = batch.to(torch::kCPU).contiguous();
  std::vector<torch::Tensor> frames;
  frames.reserve(cpu.size(0));
  for (int64_t n = 0; n < cpu.size(0); ++n) {
    frames.push_back(preprocessImage(cpu[n].data_ptr<uint8_t>(), cpu.size(1), cpu.size(2), config));
  }
  return torch::stack(frames);
}

}  // namespace svln::model
