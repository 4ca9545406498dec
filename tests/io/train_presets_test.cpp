#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/train_flags.h"
#include "io/train_presets.h"

namespace svln::io {
namespace {

// A command with the trainer's flags, --preset, and the run flags presets also set (as
// `streamvln train` registers them).
struct Command {
  TrainOptions o;
  std::string preset;
  int save_every = 50;
  double temperature = 1.0;
  int max_episode_steps = 0;
  int lora_r = 32;
  double lora_alpha = 64;
  CLI::App app;
  PresetResolution resolution;

  Command() {
    addTrainFlags(app, o);
    addPresetFlag(app, preset);
    app.add_option("--save_every", save_every);
    app.add_option("--temperature,--sampling_temperature", temperature)
        ->check(CLI::Range(0.05, 10.0));
    app.add_option("--max_episode_steps", max_episode_steps);
    app.add_option("--lora_r", lora_r);
    app.add_option("--lora_alpha", lora_alpha);
  }
  void parse(std::vector<std::string> args) {
    for (const char* a : {"--model_path", "m", "--habitat_config_path", "c.yaml", "--output_path", "o"})
      args.push_back(a);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
    resolution = applyTrainPreset(app, preset);
    o.validate();
  }
};

TEST(TrainPresets, SeedGuideChangesNothing) {
  Command plain, guide;
  plain.parse({});
  guide.parse({"--preset", "seed-guide"});
  EXPECT_EQ(guide.resolution.name, "seed-guide");
  EXPECT_TRUE(guide.resolution.overridden.empty());
  EXPECT_FALSE(guide.resolution.applied.empty());
  EXPECT_EQ(plain.resolution.nameText(), "none");
  EXPECT_EQ(guide.o.recovery_mode, plain.o.recovery_mode);
  EXPECT_EQ(guide.o.use_hybrid_training, plain.o.use_hybrid_training);
  EXPECT_EQ(guide.o.greedy_first_sample, plain.o.greedy_first_sample);
  EXPECT_EQ(guide.o.sft_oracle_only, plain.o.sft_oracle_only);
  EXPECT_EQ(guide.o.loss_agg_mode, plain.o.loss_agg_mode);
  EXPECT_DOUBLE_EQ(guide.o.learning_rate, plain.o.learning_rate);
  EXPECT_EQ(guide.save_every, plain.save_every);
  EXPECT_DOUBLE_EQ(guide.temperature, plain.temperature);
}

TEST(TrainPresets, ExplicitFlagsOverrideThePreset) {
  Command c;
  c.parse({"--preset", "seed-guide", "--group_size", "4", "--disable_recovery",
           "--temperature", "0.7"});
  EXPECT_EQ(c.o.group_size, 4);
  EXPECT_FALSE(c.o.enable_recovery);  // the preset's --enable_recovery yields to its opposite
  EXPECT_DOUBLE_EQ(c.temperature, 0.7);
  EXPECT_EQ(c.o.num_updates, 500);  // set by the preset, not overridden
  EXPECT_EQ(c.resolution.overridesText(),
            "--enable_recovery --disable_recovery (preset: true), --group_size 4 (preset: 2), "
            "--temperature 0.7 (preset: 1.0)");
}

TEST(TrainPresets, BudvlnIsTheShippedScriptsRun) {
  Command c;
  c.parse({"--preset", "budvln"});
  EXPECT_EQ(c.o.recovery_mode, RecoveryMode::Rollback);
  EXPECT_TRUE(c.o.greedy_first_sample);
  EXPECT_TRUE(c.o.use_hybrid_training);
  EXPECT_DOUBLE_EQ(c.o.sft_loss_end_weight, 0.9);
  EXPECT_EQ(c.o.sft_loss_decay_updates, 600);
  EXPECT_TRUE(c.o.use_tdr);
  EXPECT_TRUE(c.o.tdr_strict);
  EXPECT_DOUBLE_EQ(c.o.entropy_coef, 0.02);
  EXPECT_DOUBLE_EQ(c.o.weight_decay, 0.01);
  EXPECT_EQ(c.o.advantage_std, AdvantageStd::Population);
  EXPECT_TRUE(c.o.spread_advantages);
  EXPECT_TRUE(c.o.zero_old_logprob);
  EXPECT_EQ(c.o.loss_agg_mode, LossAggMode::TokenMean);
  EXPECT_DOUBLE_EQ(c.temperature, 0.5);
  EXPECT_EQ(c.max_episode_steps, 300);
  EXPECT_EQ(c.save_every, 10);
  EXPECT_EQ(c.o.wandb_project, "streamvln_hybrid");  // train_hybrid.sh:39 passes it
  EXPECT_EQ(c.o.checkpoint_naming, CheckpointNaming::Budvln);
  // The reference's rollback triggers, pose and demonstration.
  EXPECT_TRUE(c.o.rollback_on_premature_stop);
  EXPECT_TRUE(c.o.goal_zone_timeout_rollback);
  EXPECT_FALSE(c.o.stuck_enable);
  EXPECT_EQ(c.o.stuck_motion_steps, 0);
  EXPECT_TRUE(c.o.rollback_to_own_pose);
  EXPECT_TRUE(c.o.rollback_demo_towards_goal);
  EXPECT_DOUBLE_EQ(c.o.oracle_goal_radius, 1.0);
  // Each switch is reachable from the other side: --no_tdr and --temperature override.
  Command d;
  d.parse({"--preset", "budvln", "--no_tdr", "--temperature", "1.0", "--tdr_no_strict_mode"});
  EXPECT_FALSE(d.o.use_tdr);
  EXPECT_FALSE(d.o.tdr_strict);
  EXPECT_DOUBLE_EQ(d.temperature, 1.0);
  EXPECT_EQ(d.resolution.overridden.size(), 3u);
}

// The paper's method: budvln's run plus the greedy probe, GRPO and demonstration SFT kept
// apart (no hybrid SFT term; the demonstrations train in their own pass).
TEST(TrainPresets, BudvlnPaperIsBudvlnWithAGreedyProbe) {
  Command c, b;
  c.parse({"--preset", "budvln-paper"});
  b.parse({"--preset", "budvln"});
  EXPECT_TRUE(c.o.greedy_probe);
  EXPECT_FALSE(b.o.greedy_probe);
  EXPECT_FALSE(c.o.use_hybrid_training);
  EXPECT_TRUE(c.o.demo_loss_separate);
  EXPECT_EQ(c.o.recovery_mode, RecoveryMode::Rollback);
  EXPECT_TRUE(c.o.budvln_rewards);
  EXPECT_TRUE(c.o.step_mini_batches);
  // streamvln_sft_train.py's update: the GRPO pass in batches of 4 steps (S:2441), then the
  // demonstrations' own pass (S:2233-2718); budvln's shipped trainer has one pass.
  EXPECT_TRUE(c.o.two_phase_update);
  EXPECT_FALSE(b.o.two_phase_update);
  EXPECT_EQ(c.o.mini_batch_size, 4);
  EXPECT_EQ(b.o.mini_batch_size, 2);
  EXPECT_FALSE(c.o.sft_on_failures);
  EXPECT_DOUBLE_EQ(c.temperature, 0.5);
  EXPECT_EQ(c.o.checkpoint_naming, b.o.checkpoint_naming);
  // The probe needs rollbacks: with takeover it is refused, naming the flag.
  Command t;
  try {
    t.parse({"--preset", "budvln-paper", "--recovery_mode", "takeover"});
    ADD_FAILURE() << "--greedy_probe with takeover was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--greedy_probe"), std::string::npos) << e.what();
  }
}

TEST(TrainPresets, UnknownPresetIsAnErrorNamingTheFlag) {
  Command c;
  try {
    c.parse({"--preset", "budvln2"});
    FAIL() << "accepted an unknown preset";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("preset"), std::string::npos) << e.what();
  }
}

TEST(TrainPresets, EveryPresetSetsOnlyFlagsTheCommandHasWithValuesTheyAccept) {
  for (const TrainPreset& p : trainPresets()) {
    Command c;
    EXPECT_NO_THROW(c.parse({"--preset", p.name})) << p.name;
    EXPECT_EQ(c.resolution.applied.size(), p.settings.size()) << p.name;
  }
}

TEST(TrainPresets, AFlagThePresetNamesButTheCommandLacksIsAnError) {
  CLI::App app;
  TrainOptions o;
  addTrainFlags(app, o);  // no --save_every, which seed-guide sets
  std::string preset;
  addPresetFlag(app, preset);
  app.parse(std::vector<std::string>{"o", "--output_path", "c", "--habitat_config_path", "m",
                                     "--model_path"});
  try {
    applyTrainPreset(app, "seed-guide");
    FAIL() << "applied a preset to a command without its flags";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--preset seed-guide"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace svln::io
