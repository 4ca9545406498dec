// LLaVA's `mlp2x_gelu` multimodal projector and the per-frame spatial pooling StreamVLN
// applies after it:
//
//   SigLIP [F, 729, 1152] ─Linear "0"─ GELU(erf) ─Linear "2"─► [F, 729, 3584]
//     ─view 27x27─► bilinear 14x14 (align_corners=false) ─► [F, 196, 3584]
//                   | average 2x2 -> 13x13 = 169 | max 2x2 -> 169
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "model/lora.h"
#include "model/siglip.h"

namespace svln::model {

class MultimodalProjectorImpl : public torch::nn::Module {
 public:
  // Only "mlp2x_gelu" exists in the StreamVLN release; another type throws.
  MultimodalProjectorImpl(int64_t vision_hidden, int64_t text_hidden,
                          const std::string& type = "mlp2x_gelu");
  torch::Tensor forward(const torch::Tensor& x);  // [..., vision_hidden] -> [..., text_hidden]

  LoraLinear linear0{nullptr}, linear2{nullptr};  // registered as "0" and "2"
};
TORCH_MODULE(MultimodalProjector);

enum class SpatialPoolMode { kBilinear, kAverage, kMax };

// "bilinear" | "average" | "max" (config.json's mm_spatial_pool_mode); else throws.
SpatialPoolMode parseSpatialPoolMode(const std::string& name);

// [F, S*S, D] row-major patch grid -> [F, n*n, D]: bilinear to ceil(S/stride) (27 -> 14),
// average / max pooling with kernel = stride to floor(S/stride) (27 -> 13).
torch::Tensor poolFrameFeatures(const torch::Tensor& features, SpatialPoolMode mode,
                                int64_t stride = 2);

// Tokens per pooled frame for a grid of `patches_per_side` (196 for 27 and bilinear).
int64_t pooledTokensPerFrame(int64_t patches_per_side, SpatialPoolMode mode, int64_t stride = 2);

// Pixels [F, 3, 384, 384] -> frame tokens [F, 196, text_hidden]: tower, projector on all
// patches, then pooling (LLaVA-Video's encode_images + get_2dPool).
torch::Tensor encodeFrames(SiglipVisionModel& tower, MultimodalProjector& projector,
                           const torch::Tensor& pixel_values, SpatialPoolMode mode);

}  // namespace svln::model
