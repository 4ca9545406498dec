#include "io/deepspeed_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace svln::io {
namespace {

const std::string kZero2 = std::string(SVLN_TEST_DATA) + "/../../scripts/zero2.json";

std::string errorOf(const std::string& text, int world = 2) {
  try {
    parseDeepSpeedConfig(text, "ds.json", world, {});
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(DeepSpeedConfig, ShippedZero2ResolvesAutoFromTrainerFlags) {
  ASSERT_TRUE(std::filesystem::exists(kZero2)) << kZero2;
  DeepSpeedDefaults d;
  d.micro_batch_per_gpu = 2;
  d.gradient_accumulation_steps = 3;
  d.gradient_clipping = 0.5;
  d.bf16 = true;
  const DeepSpeedConfig c = loadDeepSpeedConfig(kZero2, 4, d);
  EXPECT_EQ(c.micro_batch_per_gpu, 2);
  EXPECT_EQ(c.gradient_accumulation_steps, 3);
  EXPECT_EQ(c.train_batch_size, 24);  // 2 x 3 x 4 ranks
  EXPECT_DOUBLE_EQ(c.gradient_clipping, 0.5);
  EXPECT_TRUE(c.bf16);
  EXPECT_EQ(c.zero_stage, 2);
  EXPECT_EQ(c.reduce_bucket_size, 0);
}

TEST(DeepSpeedConfig, ExplicitValuesAndConsistentBatch) {
  const DeepSpeedConfig c = parseDeepSpeedConfig(
      R"({"train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2,
          "train_batch_size": 16, "gradient_clipping": 1.5, "bf16": {"enabled": false},
          "zero_optimization": {"stage": 1, "reduce_bucket_size": 5e8}})",
      "ds.json", 2, {});
  EXPECT_EQ(c.train_batch_size, 16);
  EXPECT_DOUBLE_EQ(c.gradient_clipping, 1.5);
  EXPECT_FALSE(c.bf16);
  EXPECT_EQ(c.zero_stage, 1);
  EXPECT_EQ(c.reduce_bucket_size, 500000000LL);
}

TEST(DeepSpeedConfig, InconsistentBatchNamesTheFormula) {
  const std::string e = errorOf(R"({"train_micro_batch_size_per_gpu": 4,
      "gradient_accumulation_steps": 2, "train_batch_size": 12})");
  EXPECT_EQ(e,
            "ds.json: train_batch_size 12 != micro batch 4 x accumulation 2 x world size 2 = 16");
}

TEST(DeepSpeedConfig, RejectsUnsupportedByName) {
  EXPECT_EQ(errorOf(R"({"optimizer": {"type": "AdamW"}})"), "ds.json: unsupported key 'optimizer'");
  EXPECT_EQ(errorOf(R"({"zero_optimization": {"stage": 2, "offload_optimizer": {}}})"),
            "ds.json: unsupported key 'zero_optimization.offload_optimizer'");
  EXPECT_EQ(errorOf(R"({"bf16": {"enabled": true, "foo": 1}})"),
            "ds.json: unsupported key 'bf16.foo'");
  EXPECT_NE(errorOf(R"({"zero_optimization": {"stage": 3}})").find("stage 3"), std::string::npos);
  EXPECT_NE(errorOf(R"({"fp16": {"enabled": true}})").find("fp16.enabled"), std::string::npos);
  EXPECT_NE(errorOf(R"({"gradient_accumulation_steps": "sometimes"})")
                .find("gradient_accumulation_steps: expected a positive integer"),
            std::string::npos);
  EXPECT_NE(errorOf("{not json").find("ds.json: not valid JSON"), std::string::npos);
}

TEST(DeepSpeedConfig, MissingFileNamesIt) {
  try {
    loadDeepSpeedConfig("/nonexistent/ds.json", 1, {});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/ds.json: cannot open DeepSpeed config");
  }
}

}  // namespace
}  // namespace svln::io
