// SigLIP tower, projector and pooling against transformers 5.17 (a tiny seeded
// SiglipVisionModel with the real 384 px / patch 14 geometry, made by
// tests/data/model/vision/make_golden.py): fp32 outputs within 1e-4.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>

#include "model/projector.h"
#include "model/safetensors.h"
#include "model/siglip.h"

namespace svln::model {
namespace {

const std::string kGolden = std::string(SVLN_TEST_DATA) + "/model/vision/siglip.safetensors";

SiglipVisionConfig tinyConfig() {
  SiglipVisionConfig c;
  c.hidden_size = 24;
  c.intermediate_size = 40;
  c.num_hidden_layers = 3;
  c.num_layers_used = 2;  // LLaVA's select_layer -2
  c.num_attention_heads = 3;
  return c;
}

// make_golden.py pixels(frames, size), computed in double then rounded to float.
torch::Tensor testPixels(int64_t frames, int64_t size) {
  torch::Tensor t = torch::empty({frames, 3, size, size}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < size; ++y)
        for (int64_t x = 0; x < size; ++x)
          *p++ = static_cast<float>(0.9 * std::sin(0.05 * x * (c + 1) + 0.07 * y + 1.3 * f) +
                                    0.1 * std::cos(0.3 * (x - y)));
  return t;
}

// Copies `file` tensors named prefix + parameter name (minus `strip`) into the module.
void loadInto(torch::nn::Module& m, const SafetensorsFile& file, const std::string& strip,
              const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : m.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& param = item.value();
    ASSERT_EQ(name.rfind(strip, 0), 0u) << name;
    const std::string key = prefix + name.substr(strip.size());
    ASSERT_TRUE(file.contains(key)) << key;
    param.copy_(file.load(key));
  }
}

struct Fixture {
  SiglipVisionModel tower{tinyConfig()};
  MultimodalProjector projector{24, 32};
  Fixture() {
    const SafetensorsFile file(kGolden);
    loadInto(*tower, file, "vision_model.", "");
    loadInto(*projector, file, "", "mm_projector.");
  }
};

float maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<float>();
}

TEST(Siglip, ParameterNamesFollowTransformersAndLlavaCut) {
  SiglipVisionModel tower(tinyConfig());
  const auto params = tower->named_parameters();
  for (const char* name :
       {"vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.position_embedding.weight",
        "vision_model.encoder.layers.1.self_attn.q_proj.weight", "vision_model.encoder.layers.1.self_attn.out_proj.bias",
        "vision_model.encoder.layers.0.mlp.fc2.weight", "vision_model.encoder.layers.0.layer_norm2.bias",
        "vision_model.post_layernorm.weight"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  EXPECT_FALSE(params.contains("vision_model.encoder.layers.2.self_attn.q_proj.weight"));
  EXPECT_EQ(params["vision_model.embeddings.position_embedding.weight"].sizes(),
            (at::IntArrayRef{729, 24}));
  MultimodalProjector proj(24, 32);
  EXPECT_TRUE(proj->named_parameters().contains("0.weight"));
  EXPECT_TRUE(proj->named_parameters().contains("2.bias"));
  EXPECT_THROW(MultimodalProjector(24, 32, "linear"), std::invalid_argument);
}

TEST(Siglip, HiddenStateOfLayerNMinus1MatchesTransformers) {
  Fixture fx;
  const SafetensorsFile file(kGolden);
  const torch::Tensor px = testPixels(2, 384);
  EXPECT_LE(maxAbsDiff(px.slice(2, 0, 4).slice(3, 0, 4), file.load("in.pixels_corner")), 1e-6F);
  torch::NoGradGuard no_grad;
  const torch::Tensor hidden = fx.tower(px);
  EXPECT_LE(maxAbsDiff(hidden, file.load("out.hidden")), 1e-4F);
  EXPECT_THROW(fx.tower(torch::zeros({1, 3, 224, 224})), std::invalid_argument);
}

TEST(Siglip, ProjectorThenPoolingMatchesLlavaVideo) {
  Fixture fx;
  const SafetensorsFile file(kGolden);
  torch::NoGradGuard no_grad;
  const torch::Tensor px = testPixels(2, 384);
  const torch::Tensor bilinear = encodeFrames(fx.tower, fx.projector, px, SpatialPoolMode::kBilinear);
  EXPECT_EQ(bilinear.sizes(), (at::IntArrayRef{2, 196, 32}));
  EXPECT_LE(maxAbsDiff(bilinear, file.load("out.bilinear")), 1e-4F);
  const torch::Tensor projected = fx.projector(fx.tower(px));
  EXPECT_LE(maxAbsDiff(poolFrameFeatures(projected, SpatialPoolMode::kAverage), file.load("out.average")), 1e-4F);
  EXPECT_LE(maxAbsDiff(poolFrameFeatures(projected, SpatialPoolMode::kMax), file.load("out.max")), 1e-4F);
}

TEST(Pooling, WorkedThreeByThreeGrid) {
  // v(r, c) = 3r + c on a 3x3 grid. Bilinear to 2x2 (align_corners=false) samples at
  // r, c in {0.25, 1.75}: 1, 2.5, 5.5, 7. Average 2x2 -> mean(0,1,3,4) = 2; max -> 4.
  const torch::Tensor grid = torch::arange(9, torch::kFloat32).view({1, 9, 1});
  const auto bil = poolFrameFeatures(grid, SpatialPoolMode::kBilinear).flatten();
  EXPECT_TRUE(torch::allclose(bil, torch::tensor({1.0F, 2.5F, 5.5F, 7.0F})));
  EXPECT_FLOAT_EQ(poolFrameFeatures(grid, SpatialPoolMode::kAverage).item<float>(), 2.0F);
  EXPECT_FLOAT_EQ(poolFrameFeatures(grid, SpatialPoolMode::kMax).item<float>(), 4.0F);
  EXPECT_EQ(pooledTokensPerFrame(27, SpatialPoolMode::kBilinear), 196);
  EXPECT_EQ(pooledTokensPerFrame(27, SpatialPoolMode::kAverage), 169);
  EXPECT_EQ(parseSpatialPoolMode("max"), SpatialPoolMode::kMax);
  EXPECT_THROW(parseSpatialPoolMode("spatial"), std::invalid_argument);
  EXPECT_THROW(poolFrameFeatures(torch::zeros({1, 10, 2}), SpatialPoolMode::kMax), std::invalid_argument);
}

// Bilinear pooling as one matrix product equals interpolate() on the NCHW grid: the
// 27 x 27 SigLIP grid to 14 x 14, in fp32 and (within a bf16 rounding) in bf16.
TEST(Pooling, BilinearProductEqualsInterpolate) {
  namespace F = torch::nn::functional;
  torch::manual_seed(4);
  const torch::Tensor feats = torch::randn({3, 27 * 27, 6});
  const torch::Tensor want =
      F::interpolate(feats.view({3, 27, 27, 6}).permute({0, 3, 1, 2}).contiguous(),
                     F::InterpolateFuncOptions()
                         .size(std::vector<int64_t>{14, 14})
                         .mode(torch::kBilinear)
                         .align_corners(false))
          .permute({0, 2, 3, 1})
          .reshape({3, 196, 6});
  const torch::Tensor got = poolFrameFeatures(feats, SpatialPoolMode::kBilinear);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LE(maxAbsDiff(got, want), 1e-5F);
  const torch::Tensor half = poolFrameFeatures(feats.to(torch::kBFloat16), SpatialPoolMode::kBilinear);
  EXPECT_EQ(half.scalar_type(), torch::kBFloat16);
  EXPECT_LE(maxAbsDiff(half.to(torch::kFloat), want), 0.03F);
}

TEST(Siglip, ConfigFromJsonFollowsSelectLayer) {
  const auto so400m = siglipVisionConfigFromJson(nlohmann::json::object(), -2, "config.json");
  EXPECT_EQ(so400m.num_layers_used, 26);
  EXPECT_EQ(so400m.numPatches(), 729);
  EXPECT_EQ(so400m.headDim(), 72);
  const auto tiny = siglipVisionConfigFromJson({{"hidden_size", 24}, {"num_attention_heads", 3},
                                                {"num_hidden_layers", 3}}, -1, "c.json");
  EXPECT_EQ(tiny.num_layers_used, 3);
  EXPECT_THROW(siglipVisionConfigFromJson(nlohmann::json::object(), -30, "c.json"), std::runtime_error);
  EXPECT_THROW(siglipVisionConfigFromJson({{"hidden_act", "relu"}}, -2, "c.json"), std::runtime_error);
}

}  // namespace
}  // namespace svln::model
