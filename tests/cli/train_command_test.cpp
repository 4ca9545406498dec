// `streamvln train` as a user types it: presets and --print_config (no training runs).
#include <gtest/gtest.h>

#include <string>

#include "run_cli.h"

namespace svln::test {
namespace {

const std::string kPaths = "--model_path m --habitat_config_path c.yaml --output_path out ";

// The config block without its first two lines (preset, preset_overrides).
std::string finalValues(const std::string& printed) {
  const size_t overrides = printed.find("  preset_overrides:");
  if (overrides == std::string::npos) return "";
  return printed.substr(printed.find('\n', overrides) + 1);
}

TEST(TrainCommand, PrintConfigShowsPresetOverridesAndValuesAndExits) {
  const CliRun r = runCli("train " + kPaths + "--preset seed-guide --group_size 4 --print_config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("config:\n  preset: seed-guide\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  preset_overrides: --group_size 4 (preset: 2)\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("  group_size: 4\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reward constants:"), std::string::npos) << r.output;
}

TEST(TrainCommand, SeedGuidePresetIsTodaysDefaults) {
  const CliRun plain = runCli("train " + kPaths + "--print_config");
  const CliRun guide = runCli("train " + kPaths + "--preset seed-guide --print_config");
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  ASSERT_EQ(guide.exit_code, 0) << guide.output;
  EXPECT_NE(plain.output.find("  preset: none\n  preset_overrides: none\n"), std::string::npos);
  ASSERT_FALSE(finalValues(plain.output).empty()) << plain.output;
  EXPECT_EQ(finalValues(plain.output), finalValues(guide.output));
}

TEST(TrainCommand, UnknownPresetIsAOneLineErrorNamingTheFlag) {
  const CliRun r = runCli("train " + kPaths + "--preset budvln2 --print_config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--preset"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace svln::test
