#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "rl/policy.h"

namespace svln::rl {
namespace {

namespace fs = std::filesystem;

TEST(Policy, ModelInitStreamVLNWritesACheckpointThatLoadsAsAPolicy) {
  const fs::path dir = fs::temp_directory_path() / "svln_policy_init";
  fs::remove_all(dir);
  const std::string cmd = std::string(SVLN_BINARY) + " model init --streamvln --config tiny --seed 3 --out " +
                          dir.string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Policy p = loadPolicy(dir.string());
  EXPECT_EQ(p.model->tokensPerFrame(), 16);  // 112 px / 14 = 8 per side, pooled to 4 x 4
  EXPECT_TRUE(p.model->config.mm.present);
  bool has_vision = false;
  for (const auto& kv : p.model->root().named_parameters()) {
    has_vision |= kv.key().rfind("model.vision_tower.vision_tower.vision_model.", 0) == 0;
  }
  EXPECT_TRUE(has_vision);
  EXPECT_THROW(loadPolicy((dir / "missing").string()), std::runtime_error);
}

TEST(DeviceLoadOptions, PrecisionOverridesTheDtypeAndNamesBadValues) {
  EXPECT_EQ(deviceLoadOptions("cpu").dtype, c10::kFloat);
  EXPECT_EQ(deviceLoadOptions("cpu", 0, "fp32").dtype, c10::kFloat);
  EXPECT_TRUE(deviceLoadOptions("cpu", 0, "auto").device.is_cpu());
  try {
    deviceLoadOptions("cpu", 0, "bf16");
    ADD_FAILURE() << "bf16 on the CPU must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--precision bf16"), std::string::npos) << e.what();
  }
  try {
    deviceLoadOptions("cpu", 0, "fp16");
    ADD_FAILURE() << "fp16 is not offered";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--precision fp16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace svln::rl
