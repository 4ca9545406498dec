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
      const int64_t n = (side + stride - 1) / stride;  // math.ceil(27 / 2) = 14
      pooled = F::interpolate(grid.contiguous(), F::InterpolateFuncOptions()
                                                     .size(std::vector<int64_t>{n, n})
                                                     .mode(torch::kBilinear)
                                                     .align_corners(false));
      break;
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
