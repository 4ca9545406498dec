// Image preprocessing against transformers 5.17's SiglipImageProcessor (torchvision uint8
// bicubic) and PIL's Image.resize(BICUBIC): outputs stored as 8-bit levels by
// tests/data/model/vision/make_golden.py, inputs made by the same formula here.
#include <gtest/gtest.h>

#include "model/image_preprocess.h"
#include "model/safetensors.h"

namespace svln::model {
namespace {

const std::string kGolden = std::string(SVLN_TEST_DATA) + "/model/vision/preprocess.safetensors";

// make_golden.py image_u8(h, w): hard edges and texture that make bicubic overshoot.
std::vector<uint8_t> testImage(int h, int w) {
  std::vector<uint8_t> img(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int v = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 7 + ((x / 7 + y / 5) % 2) * 60) % 256;
        img[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(v);
      }
    }
  }
  return img;
}

struct Case {
  const char* name;
  int h, w, out_h, out_w, row_step;
};
constexpr Case kCases[] = {{"up", 48, 64, 384, 384, 6}, {"down", 480, 640, 384, 384, 6},
                           {"odd", 48, 64, 53, 29, 1}};

// Number of 8-bit levels that differ from the golden rows.
int64_t mismatches(BicubicKernel kernel, const std::string& prefix, const Case& c) {
  const SafetensorsFile golden(kGolden);
  const at::Tensor expected = golden.load(prefix + "." + c.name).contiguous();  // [rows, W, 3]
  const std::vector<uint8_t> img = testImage(c.h, c.w);
  const std::vector<uint8_t> out = resizeBicubic(img.data(), c.h, c.w, 3, c.out_h, c.out_w, kernel);
  const uint8_t* e = expected.data_ptr<uint8_t>();
  int64_t bad = 0;
  for (int64_t r = 0; r < expected.size(0); ++r) {
    const size_t y = static_cast<size_t>(r * c.row_step);
    for (int64_t k = 0; k < int64_t{c.out_w} * 3; ++k) {
      bad += out[y * c.out_w * 3 + k] != e[r * c.out_w * 3 + k];
    }
  }
  return bad;
}

TEST(ImageResize, TorchUint8KernelIsBitExactWithTransformers5Processor) {
  for (const Case& c : kCases) EXPECT_EQ(mismatches(BicubicKernel::kTorchUint8, "fast", c), 0) << c.name;
}

TEST(ImageResize, PillowKernelIsBitExactWithPilResize) {
  for (const Case& c : kCases) EXPECT_EQ(mismatches(BicubicKernel::kPillow, "pil", c), 0) << c.name;
}

TEST(ImageResize, TheTwoKernelsDifferByAtMostOneLevel) {
  const std::vector<uint8_t> img = testImage(480, 640);
  const auto a = resizeBicubic(img.data(), 480, 640, 3, 384, 384, BicubicKernel::kPillow);
  const auto b = resizeBicubic(img.data(), 480, 640, 3, 384, 384, BicubicKernel::kTorchUint8);
  int max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::abs(a[i] - b[i]));
  EXPECT_EQ(max_diff, 1);
}

TEST(ImageResize, ConstantImageStaysConstantAndSameSizeIsACopy) {
  const std::vector<uint8_t> flat(30 * 20 * 3, 200);
  for (auto k : {BicubicKernel::kPillow, BicubicKernel::kTorchUint8}) {
    for (uint8_t v : resizeBicubic(flat.data(), 30, 20, 3, 384, 7, k)) ASSERT_EQ(v, 200);
  }
  const std::vector<uint8_t> img = testImage(9, 11);
  EXPECT_EQ(resizeBicubic(img.data(), 9, 11, 3, 9, 11, BicubicKernel::kPillow), img);
  EXPECT_THROW(resizeBicubic(img.data(), 9, 11, 3, 0, 11, BicubicKernel::kPillow),
               std::invalid_argument);
}

TEST(ImagePreprocess, PixelValuesMatchTheProcessorFloats) {
  const SafetensorsFile golden(kGolden);
  for (const Case& c : kCases) {
    const std::vector<uint8_t> img = testImage(c.h, c.w);
    ImagePreprocessConfig cfg;
    cfg.height = c.out_h;
    cfg.width = c.out_w;
    const at::Tensor px = preprocessImage(img.data(), c.h, c.w, cfg);
    ASSERT_EQ(px.sizes(), (at::IntArrayRef{3, c.out_h, c.out_w}));
    const at::Tensor row0 = golden.load(std::string("fast.") + c.name + ".float_row0");  // [3, W]
    EXPECT_LE((px.select(1, 0) - row0).abs().max().item<float>(), 1e-6F) << c.name;
  }
  // Worked number: level 200 -> (200/255 - 0.5) / 0.5 = 0.5686275.
  const std::vector<uint8_t> flat(4 * 4 * 3, 200);
  const at::Tensor px = preprocessImage(flat.data(), 4, 4);
  EXPECT_EQ(px.sizes(), (at::IntArrayRef{3, 384, 384}));
  EXPECT_NEAR(px[2][383][0].item<float>(), 0.5686275F, 1e-6F);
}

TEST(ImagePreprocess, BatchEqualsFramesAndRejectsWrongInput) {
  const std::vector<uint8_t> a = testImage(48, 64);
  std::vector<uint8_t> b(a.rbegin(), a.rend());
  at::Tensor batch = torch::empty({2, 48, 64, 3}, torch::kUInt8);
  std::memcpy(batch[0].data_ptr<uint8_t>(), a.data(), a.size());
  std::memcpy(batch[1].data_ptr<uint8_t>(), b.data(), b.size());
  const at::Tensor out = preprocessImages(batch);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, 3, 384, 384}));
  EXPECT_TRUE(out[1].equal(preprocessImage(b.data(), 48, 64)));
  EXPECT_TRUE(preprocessImages(batch[0]).equal(out.slice(0, 0, 1)));
  EXPECT_THROW(preprocessImages(batch.to(torch::kFloat32)), std::invalid_argument);
  EXPECT_THROW(preprocessImages(torch::zeros({2, 8, 8, 4}, torch::kUInt8)), std::invalid_argument);
}

// The batched device path is the host path bit for bit: upscaling (the rollouts' 224 ->
// 384), downscaling with antialiasing, a non-square source, both kernels.
TEST(ImagePreprocess, DevicePathEqualsHostPathExactly) {
  for (const auto& [h, w] : std::vector<std::pair<int, int>>{{224, 224}, {500, 410}, {48, 64}}) {
    at::manual_seed(h);
    const at::Tensor batch = torch::randint(0, 256, {3, h, w, 3}, torch::kUInt8);
    for (BicubicKernel k : {BicubicKernel::kTorchUint8, BicubicKernel::kPillow}) {
      ImagePreprocessConfig config;
      config.kernel = k;
      const at::Tensor host = preprocessImages(batch, config);
      const at::Tensor device = preprocessImagesOnDevice(batch, config);
      ASSERT_EQ(device.sizes(), host.sizes());
      EXPECT_TRUE(device.equal(host)) << h << "x" << w << " max diff "
                                      << (device - host).abs().max().item<float>();
    }
  }
  // A constant image stays constant; a size already equal passes through.
  const at::Tensor grey = torch::full({1, 384, 384, 3}, 77, torch::kUInt8);
  EXPECT_TRUE(preprocessImagesOnDevice(grey).equal(preprocessImages(grey)));
  EXPECT_THROW(preprocessImagesOnDevice(grey.to(torch::kFloat32)), std::invalid_argument);
}

}  // namespace
}  // namespace svln::model
