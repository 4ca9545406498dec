// SigLIP image preprocessing as the Hugging Face processor does it for StreamVLN: RGB
// uint8 resized straight to 384x384 (bicubic, aspect ratio not kept), x/255, then
// (x - 0.5) / 0.5, channels first:  [H, W, 3] uint8  ->  [3, 384, 384] float32 in [-1, 1].
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>

#include "model/image_resize.h"

namespace svln::model {

struct ImagePreprocessConfig {
  int64_t height = 384;
  int64_t width = 384;
  // transformers 5 with torchvision (AutoImageProcessor's default there) resizes with
  // torch's uint8 kernel; the slow PIL processor (transformers 4.x, the release) differs
  // from it by at most one 8-bit level. See docs/model.md.
  BicubicKernel kernel = BicubicKernel::kTorchUint8;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> mean = {0.5F, 0.5F, 0.5F};
  std::array<float, 3> std = {0.5F, 0.5F, 0.5F};
};

// One RGB image, `height` x `width` x 3 interleaved -> [3, config.height, config.width].
torch::Tensor preprocessImage(const uint8_t* rgb, int64_t height, int64_t width,
                              const ImagePreprocessConfig& config = {});

// A batch: uint8 [N, H, W, 3] (or one [H, W, 3]) -> float32 [N, 3, config.height, config.width]
// on the CPU. Throws std::invalid_argument for another dtype or shape.
torch::Tensor preprocessImages(const torch::Tensor& rgb_u8, const ImagePreprocessConfig& config = {});

// The same for a batch on any device (the GPU during rollouts), bit for bit: each resize
// pass is a product with bicubicResizeMatrix in float64, whose sums of integers below 2^53
// are exact, followed by the same rounding and clipping; then the same rescale and
// normalisation. uint8 [N, H, W, 3] -> float32 [N, 3, config.height, config.width] on
// rgb_u8's device, in a handful of kernels for the whole batch.
torch::Tensor preprocessImagesOnDevice(const torch::Tensor& rgb_u8,
                                       const ImagePreprocessConfig& config = {});

}  // namespace svln::model
