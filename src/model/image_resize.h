// Bicubic resizing of 8-bit images, bit-exact with the two resamplers the Hugging Face
// SigLIP image processors end up in. Both are separable (horizontal pass, then vertical),
// use Keys' cubic with a = -0.5 stretched by the scale when downscaling (antialiasing),
// weights normalised to sum 1 and quantised to integers, 8-bit rounding/clipping after
// each pass. They differ only in the weight quantisation:
//   kPillow     PIL Image.resize(BICUBIC): 22 fraction bits, int32 weights
//               (SiglipImageProcessor, the "slow" one; transformers 4.x default).
//   kTorchUint8 torch interpolate(uint8, bicubic, antialias=True) on CPU, reached through
//               torchvision's resize (SiglipImageProcessorFast): int16 weights with the
//               most fraction bits that keep the largest weight below 2^15.
#pragma once

#include <cstdint>
#include <vector>

namespace svln::model {

enum class BicubicKernel { kPillow, kTorchUint8 };

// `src`: height x width x channels interleaved (row-major). Returns
// out_height x out_width x channels. A size already equal is copied unchanged.
std::vector<uint8_t> resizeBicubic(const uint8_t* src, int height, int width, int channels,
                                   int out_height, int out_width, BicubicKernel kernel);

// One pass as a dense matrix, for batched resizing as matrix products: `weights` row-major
// [out_size, in_size] holds output i's fixed-point weights at its input positions (zero
// elsewhere), `precision` its fraction bits: out_i = clip8((sum_j w_ij in_j + 2^(p-1)) >> p),
// the arithmetic resizeBicubic does along that axis.
struct ResizeMatrix {
  std::vector<int32_t> weights;
  int precision = 0;
};
ResizeMatrix bicubicResizeMatrix(int in_size, int out_size, BicubicKernel kernel);

}  // namespace svln::model
