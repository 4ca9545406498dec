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

TEST(TrainCommand, BudvlnPresetPrintsTheReferenceValues) {
  const CliRun r = runCli("train " + kPaths + "--preset budvln --print_config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* line :
       {"  preset: budvln\n", "  preset_overrides: none\n", "  recovery_mode: rollback\n",
        "  greedy_first_sample: 1\n", "  temperature: 0.5\n", "  max_episode_steps: 300\n",
        "  entropy_coef: 0.02\n", "  weight_decay: 0.01\n", "  advantage_std: population\n",
        "  spread_advantages: 1\n", "  zero_old_logprob: 1\n", "  use_tdr: 1\n",
        "  sft_loss_end_weight: 0.9\n", "  sft_loss_decay_updates: 600\n",
        "  loss_agg_mode: token-mean\n", "  save_every: 10\n", "  checkpoint_naming: budvln\n",
        "  rewards: budvln\n", "  fixed_phrase: 1\n", "  demo_loss: separate\n",
        "  mini_batch_unit: steps\n", "  goal_zone_timeout: rollback\n",
        "  rollback_on_premature_stop: 1\n", "  rollback_pose: own\n", "  rollback_demo: goal\n",
        "  oracle_goal_radius: 1\n", "  update_mode: single\n", "  sft_on_failures: 0\n",
        "budvln: step_reward=0.05"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << r.output;
}

TEST(TrainCommand, BudvlnPaperPresetPrintsTheProbe) {
  const CliRun r = runCli("train " + kPaths + "--preset budvln-paper --print_config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* line : {"  preset: budvln-paper\n", "  greedy_probe: 1\n",
                           "  use_hybrid_training: 0\n", "  demo_loss: separate\n",
                           "  recovery_mode: rollback\n", "  update_mode: two_phase\n",
                           "  mini_batch_size: 4\n"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << r.output;
}

TEST(TrainCommand, NaNForANewFlagIsAnErrorNamingIt) {
  const CliRun r = runCli("train " + kPaths + "--entropy_coef nan --print_config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--entropy_coef"), std::string::npos) << r.output;
}

TEST(TrainCommand, ResumeFromAMissingDirectoryIsAnErrorNamingTheFlag) {
  const CliRun r =
      runCli("train " + kPaths + "--resume_from /nonexistent/checkpoint_10 --print_config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--resume_from"), std::string::npos) << r.output;
}

TEST(TrainCommand, UnknownPresetIsAOneLineErrorNamingTheFlag) {
  const CliRun r = runCli("train " + kPaths + "--preset budvln2 --print_config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--preset"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace svln::test
