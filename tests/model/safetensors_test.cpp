// safetensors reading/writing: round trips in every dtype we use, files written by the
// reference (transformers 5.17), sharded checkpoints, and one clear error per kind of
// corrupt file.
#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace svln::model {
namespace {

const std::string kData = std::string(SVLN_TEST_DATA) + "/model/";

// A file with the given header JSON and `data_bytes` zero bytes of data.
std::string writeRaw(const std::string& dir, const std::string& header, size_t data_bytes,
                     uint64_t claimed_len = 0) {
  std::string path = dir + "/raw.safetensors";
  std::ofstream out(path, std::ios::binary);
  uint64_t n = claimed_len ? claimed_len : header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
  return path;
}

std::string errorOf(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripAllDtypesWithAlignedHeader) {
  std::string dir = svln::test::uniqueTempDir();
  at::Tensor f32 = at::arange(6, at::kFloat).view({2, 3}) * 0.5;
  at::Tensor bf16 = at::tensor({1.5f, -2.25f, 3.0f}).to(at::kBFloat16);
  at::Tensor f16 = at::tensor({0.125f, 65504.0f}).to(at::kHalf);
  at::Tensor i64 = at::tensor({int64_t{-7}, int64_t{1} << 40});
  at::Tensor scalar = at::scalar_tensor(4.0f);
  saveSafetensors(dir + "/a.safetensors",
                  {{"w", f32}, {"b", bf16}, {"h", f16}, {"ids", i64}, {"s", scalar}});
  SafetensorsFile f(dir + "/a.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"b", "h", "ids", "s", "w"}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.info("b").dtype, "BF16");
  EXPECT_TRUE(f.load("w").equal(f32));
  EXPECT_TRUE(f.load("b").equal(bf16));
  EXPECT_TRUE(f.load("h").equal(f16));
  EXPECT_TRUE(f.load("ids").equal(i64));
  EXPECT_EQ(f.load("s").dim(), 0);
  // Conversion on load: bf16 -> fp32 is exact.
  EXPECT_FLOAT_EQ(f.load("b", at::kFloat)[1].item<float>(), -2.25f);
  // The header length is a multiple of 8 (the data section starts aligned).
  std::ifstream in(dir + "/a.safetensors", std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, ReadsTheReferenceWriter) {
  SafetensorsFile f(kData + "tied/model.safetensors");
  EXPECT_TRUE(f.contains("model.layers.1.self_attn.q_proj.bias"));
  EXPECT_FALSE(f.contains("lm_head.weight"));  // tied: transformers does not store it
  EXPECT_EQ(f.info("model.embed_tokens.weight").shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(f.load("model.layers.0.self_attn.k_proj.weight").sizes(), at::IntArrayRef({32, 64}));
}

TEST(Safetensors, ShardedIndexCheckpoint) {
  SafetensorsCheckpoint c(kData + "untied");
  EXPECT_EQ(c.names().size(), 27u);
  EXPECT_EQ(c.info("lm_head.weight").dtype, "BF16");
  EXPECT_EQ(c.load("lm_head.weight", at::kFloat).scalar_type(), at::kFloat);
  // Writing with a small shard limit gives an index plus shards that read back.
  std::string dir = svln::test::uniqueTempDir();
  NamedTensors t = {{"a", at::ones({100})}, {"b", at::zeros({100})}, {"c", at::full({10}, 3.0)}};
  saveSafetensorsCheckpoint(dir, t, 500);
  std::ifstream idx(dir + "/model.safetensors.index.json");
  auto j = nlohmann::json::parse(idx);
  EXPECT_EQ(j["weight_map"]["a"], "model-00001-of-00002.safetensors");
  EXPECT_EQ(j["weight_map"]["c"], "model-00002-of-00002.safetensors");
  EXPECT_EQ(j["metadata"]["total_size"], 840);
  SafetensorsCheckpoint back(dir);
  EXPECT_FLOAT_EQ(back.load("c", at::kFloat)[9].item<float>(), 3.0f);
}

TEST(Safetensors, NonFiniteWeightsAreNamedAtLoad) {
  std::string dir = svln::test::uniqueTempDir();
  at::Tensor w = at::ones({2, 2});
  w[1][0] = std::numeric_limits<float>::quiet_NaN();
  at::Tensor h = at::tensor({1.0f, std::numeric_limits<float>::infinity()}).to(at::kBFloat16);
  saveSafetensors(dir + "/n.safetensors", {{"ok", at::ones({3})}, {"w", w}, {"h", h}});
  SafetensorsFile f(dir + "/n.safetensors");
  EXPECT_TRUE(f.load("ok").equal(at::ones({3})));
  for (const char* name : {"w", "h"}) {
    try {
      f.load(name);
      ADD_FAILURE() << name << ": a non-finite weight must be refused";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()),
                dir + "/n.safetensors: tensor '" + name + "' holds NaN or infinite values");
    }
  }
}

TEST(Safetensors, CorruptFilesGiveOneClearError) {
  std::string dir = svln::test::uniqueTempDir();
  EXPECT_NE(errorOf(dir + "/absent.safetensors").find("cannot open"), std::string::npos);
  const std::string good = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  // Truncated: the data section is shorter than the offsets say.
  std::string e = errorOf(writeRaw(dir, good, 8));
  EXPECT_NE(e.find("raw.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("outside the data section"), std::string::npos) << e;
  // Header length beyond the file.
  e = errorOf(writeRaw(dir, good, 16, 1u << 20));
  EXPECT_NE(e.find("header length"), std::string::npos) << e;
  // Not JSON.
  e = errorOf(writeRaw(dir, "{not json", 0));
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  // Shape disagrees with the byte range.
  e = errorOf(writeRaw(dir, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16));
  EXPECT_NE(e.find("shape needs 12 bytes but offsets span 16"), std::string::npos) << e;
  // Unknown dtype.
  e = errorOf(writeRaw(dir, R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})", 1));
  EXPECT_NE(e.find("unsupported dtype 'F8_E9'"), std::string::npos) << e;
  // Overlapping tensors.
  e = errorOf(writeRaw(dir,
                       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12));
  EXPECT_NE(e.find("overlap"), std::string::npos) << e;
  // Fewer than 8 bytes.
  { std::ofstream(dir + "/tiny.safetensors") << "abc"; }
  EXPECT_NE(errorOf(dir + "/tiny.safetensors").find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace svln::model
