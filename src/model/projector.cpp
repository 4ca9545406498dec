#include "model/projector.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include <stdexcept>

namespace svln::model {

MultimodalProjectorImpl::MultimodalProjectorImpl(int64_t vision_hidden, int64_t text_hidden,
                                                 const std::string& type) {
  if (type != "mlp2x_gelu") {
    throw std::invalid_argument("mm_projector_type '" + type + "' is not supported (mlp2x_gelu)");
  }
  linear0 = register_module("0", LoraLinear(vision_hidden, text_hidden, true));
  linear2 = register_module("2", LoraLinear(text_hidden, text_hidden, true));
}

torch::Tensor MultimodalProjectorImpl::forward(const torch::Tensor& x) {
  return linear2(torch::gelu(linear0(x)));  // nn.GELU() default: exact erf
}

SpatialPoolMode parseSpatialPoolMode(const std::string& name) {
  if (name == "bilinear") return SpatialPoolMode::kBilinear;
  if (name == "average") return SpatialPoolMode::kAverage;
  if (name == "max") return SpatialPoolMode::kMax;
  throw std::invalid_argument("mm_spatial_pool_mode '" + name +
                              "' is not one of bilinear, average, max");
}

int64_t pooledTokensPerFrame(int64_t side, SpatialPoolMode mode, int64_t stride) {
  const int64_t n = mode == SpatialPoolMode::kBilinear ? (side + stride - 1) / stride : side / stride;
  return n * n;
}

torch::Tensor poolFrameFeatures(const torch::Tensor& features, SpatialPoolMode mode,
                                int64_t stride) {
  namespace F = torch::nn::functional;
  const int64_t frames = features.size(0), tokens = features.size(1), dim = features.size(2);
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
  if (side * side != tokens) {
    throw std::invalid_argument("poolFrameFeatures: " + std::to_string(tokens) +
                                " tokens are not a square grid");
  }
  // [F, S*S, D] -> [F, D, S, S]
  const torch::Tensor grid = features.view({frames, side, side, dim}).permute({0, 3, 1, 2});
  torch::Tensor pooled;
  switch (mode) {
    case SpatialPoolMode::kBilinear: {
      // interpolate(bilinear, align_corners=False) is separable and linear: out = M x with
      // M = W (x) W, W [n, S] the 1-D weights (read off by resampling the identity). As one
      // matrix product in fp32 on [F, S*S, D] it needs no layout change, where the direct
      // NCHW kernel runs a thread per output pixel over all D channels (45 ms for 32 frames
      // of the 7B's 3,584 channels on an H100).
      const int64_t n = (side + stride - 1) / stride;  // math.ceil(27 / 2) = 14
      const torch::Tensor eye = torch::eye(side, torch::kFloat).unsqueeze(0);  // [1, S, S]
      const torch::Tensor w1 =
          F::interpolate(eye, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{n})
                                  .mode(torch::kLinear)
                                  .align_corners(false))[0]
              .t();  // [n, S]
      const torch::Tensor m = torch::kron(w1, w1).to(features.device());  // [n*n, S*S]
      return torch::matmul(m, features.to(torch::kFloat)).to(features.scalar_type());
    }
    case SpatialPoolMode::kAverage:
      pooled = F::avg_pool2d(grid, F::AvgPool2dFuncOptions(stride));
      break;
    case SpatialPoolMode::kMax:
      pooled = F::max_pool2d(grid, F::MaxPool2dFuncOptions(stride));
      break;
  }
  // [F, D, n, n] -> [F, n*n, D]
  return pooled.permute({0, 2, 3, 1}).reshape({frames, -1, dim});
}

torch::Tensor encodeFrames(SiglipVisionModel& tower, MultimodalProjector& projector,
                           const torch::Tensor& pixel_values, SpatialPoolMode mode) {
  return poolFrameFeatures(projector(tower(pixel_values)), mode);
}

}  // namespace svln::model
