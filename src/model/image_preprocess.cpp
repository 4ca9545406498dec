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

namespace {

// uint8 [N, H, W, 3] (a single [H, W, 3] gains the N axis), or invalid_argument naming `who`.
torch::Tensor rgbBatch(const torch::Tensor& rgb_u8, const char* who) {
  if (rgb_u8.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument(std::string(who) + ": expected uint8 RGB, got " +
                                std::string(c10::toString(rgb_u8.scalar_type())));
  }
  const torch::Tensor batch = rgb_u8.dim() == 3 ? rgb_u8.unsqueeze(0) : rgb_u8;
  if (batch.dim() != 4 || batch.size(3) != 3) {
    throw std::invalid_argument(std::string(who) + ": expected [N, H, W, 3] or [H, W, 3]");
  }
  return batch;
}

}  // namespace

torch::Tensor preprocessImages(const torch::Tensor& rgb_u8, const ImagePreprocessConfig& config) {
  const torch::Tensor batch = rgbBatch(rgb_u8, "preprocessImages");
  const torch::Tensor cpu = batch.to(torch::kCPU).contiguous();
  std::vector<torch::Tensor> frames;
  frames.reserve(cpu.size(0));
  for (int64_t n = 0; n < cpu.size(0); ++n) {
    frames.push_back(preprocessImage(cpu[n].data_ptr<uint8_t>(), cpu.size(1), cpu.size(2), config));
  }
  return torch::stack(frames);
}

namespace {

// x float64 [..., in, C'] integer levels -> [..., out, C'] after one fixed-point pass.
torch::Tensor resizeAxis(const torch::Tensor& x, int in_size, int out_size, BicubicKernel kernel) {
  const ResizeMatrix m = bicubicResizeMatrix(in_size, out_size, kernel);
  const torch::Tensor w =
      torch::tensor(m.weights, torch::kInt).view({out_size, in_size}).to(x.device(), torch::kDouble);
  const double unit = static_cast<double>(int64_t{1} << m.precision);
  const double half = unit / 2.0;
  // floor((acc + half) / 2^p) is the arithmetic shift of the integer accumulator.
  return torch::matmul(w, x).add_(half).div_(unit).floor_().clamp_(0.0, 255.0);
}

}  // namespace

torch::Tensor preprocessImagesOnDevice(const torch::Tensor& rgb_u8,
                                       const ImagePreprocessConfig& config) {
  const torch::Tensor batch = rgbBatch(rgb_u8, "preprocessImagesOnDevice");
  const int64_t n = batch.size(0), h = batch.size(1), w = batch.size(2);
  const int64_t oh = config.height, ow = config.width;
  torch::Tensor x = batch.to(torch::kDouble);  // [N, H, W, 3]
  if (ow != w)  // horizontal: [N*H, W, 3] -> [N*H, ow, 3]
    x = resizeAxis(x.reshape({n * h, w, 3}), static_cast<int>(w), static_cast<int>(ow), config.kernel)
            .view({n, h, ow, 3});
  if (oh != h)  // vertical: [N, H, ow*3] -> [N, oh, ow*3]
    x = resizeAxis(x.reshape({n, h, ow * 3}), static_cast<int>(h), static_cast<int>(oh), config.kernel)
            .view({n, oh, ow, 3});
  // The lookup table's arithmetic: float(level * rescale), then (x - mean) / std in float.
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  const torch::Tensor mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}, f32);
  const torch::Tensor stdev = torch::tensor({config.std[0], config.std[1], config.std[2]}, f32);
  const torch::Tensor scaled = x.mul_(config.rescale_factor).to(torch::kFloat);
  return scaled.sub_(mean).div_(stdev).permute({0, 3, 1, 2}).contiguous();
}

}  // namespace svln::model
