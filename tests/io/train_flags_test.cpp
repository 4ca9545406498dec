#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/train_flags.h"

namespace svln::io {
namespace {

// Parses a command line (without the program name) into options; rethrows parse errors.
TrainOptions parse(std::vector<std::string> args) {
  TrainOptions o;
  CLI::App app;
  addTrainFlags(app, o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  o.validate();
  return o;
}

std::vector<std::string> required() {
  return {"--model_path", "m", "--habitat_config_path", "c.yaml", "--output_path", "out"};
}

std::vector<std::string> with(std::vector<std::string> extra) {
  auto a = required();
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(TrainFlags, DefaultsAreTheSpecs) {
  const TrainOptions o = parse(required());
  EXPECT_EQ(o.phase, Phase::Phase1Stop);
  EXPECT_FALSE(o.use_hybrid_training);
  EXPECT_DOUBLE_EQ(o.sft_loss_start_weight, 1.0);
  EXPECT_DOUBLE_EQ(o.sft_loss_end_weight, 0.5);
  EXPECT_EQ(o.sft_loss_decay_updates, 200);
  EXPECT_EQ(o.sft_loss_decay_type, DecayType::Cosine);
  EXPECT_FALSE(o.sft_oracle_only);
  EXPECT_TRUE(o.enable_recovery);
  EXPECT_DOUBLE_EQ(o.offtrack_dist_thresh, 3.0);
  EXPECT_DOUBLE_EQ(o.offtrack_heading_thresh_deg, 120.0);
  EXPECT_DOUBLE_EQ(o.heading_guard_dist, 3.0);
  EXPECT_EQ(o.offtrack_patience, 8);
  EXPECT_EQ(o.lookahead_k, 1);
  EXPECT_DOUBLE_EQ(o.recovery_dist_thresh, 2.0);
  EXPECT_DOUBLE_EQ(o.recovery_heading_thresh_deg, 45.0);
  EXPECT_EQ(o.recovery_max_steps, 100);
  EXPECT_DOUBLE_EQ(o.goal_radius, 3.0);
  EXPECT_EQ(o.goal_grace_steps, 7);
  EXPECT_EQ(o.goal_stop_patience, 5);
  EXPECT_EQ(o.num_updates, 500);
  EXPECT_EQ(o.num_episodes_per_update, 1);
  EXPECT_EQ(o.group_size, 2);
  EXPECT_DOUBLE_EQ(o.learning_rate, 5e-7);
  EXPECT_EQ(o.ppo_epochs, 1);
  EXPECT_EQ(o.mini_batch_size, 2);
  EXPECT_DOUBLE_EQ(o.max_grad_norm, 0.5);
  EXPECT_EQ(o.wandb_project, "streamvln_hybrid");
  EXPECT_FALSE(o.use_deepspeed);
}

TEST(TrainFlags, FullScenarioParses) {
  const TrainOptions o = parse(with({"--num_updates", "1000", "--num_episodes_per_update", "2",
                                     "--group_size", "2", "--use_hybrid_training",
                                     "--sft_loss_start_weight", "1.5", "--sft_loss_end_weight",
                                     "0.8", "--phase", "phase2_progress", "--disable_recovery",
                                     "--sft_oracle_only", "--sft_loss_decay_type", "linear"}));
  EXPECT_EQ(o.num_updates, 1000);
  EXPECT_EQ(o.num_episodes_per_update, 2);
  EXPECT_TRUE(o.use_hybrid_training);
  EXPECT_DOUBLE_EQ(o.sft_loss_start_weight, 1.5);
  EXPECT_DOUBLE_EQ(o.sft_loss_end_weight, 0.8);
  EXPECT_EQ(o.phase, Phase::Phase2Progress);
  EXPECT_FALSE(o.enable_recovery);
  EXPECT_TRUE(o.sft_oracle_only);
  EXPECT_EQ(o.sft_loss_decay_type, DecayType::Linear);
}

// The error message must name the flag so the user knows what to fix.
void expectRejected(const std::vector<std::string>& extra, const std::string& flag) {
  try {
    parse(with(extra));
    FAIL() << "accepted " << flag;
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
  }
}

TEST(TrainFlags, RejectsOutOfRangeAndUnknown) {
  expectRejected({"--sft_loss_start_weight", "2.5"}, "sft_loss_start_weight");
  expectRejected({"--sft_loss_end_weight", "1.5"}, "sft_loss_end_weight");
  expectRejected({"--group_size", "0"}, "group_size");
  expectRejected({"--lookahead_k", "0"}, "lookahead_k");
  expectRejected({"--phase", "phase3"}, "phase");
  expectRejected({"--recovery_dist_thresh", "3.5"}, "recovery_dist_thresh");
  expectRejected({"--no_such_flag", "1"}, "no_such_flag");
  expectRejected({"--enable_recovery", "--disable_recovery"}, "recovery");
  expectRejected({"--sft_use_policy_steps", "--sft_oracle_only"}, "sft_");
  expectRejected({"--use_deepspeed"}, "deepspeed_config");
}

TEST(TrainFlags, MissingRequiredIsAnError) {
  EXPECT_THROW(parse({"--model_path", "m"}), CLI::RequiredError);
}

TEST(TrainFlags, SwitchesTakeAnOptionalTrueOrFalse) {
  EXPECT_TRUE(parse(with({"--greedy_first_sample"})).greedy_first_sample);
  EXPECT_TRUE(parse(with({"--greedy_first_sample", "true"})).greedy_first_sample);
  EXPECT_FALSE(parse(with({"--use_hybrid_training", "false"})).use_hybrid_training);
  EXPECT_TRUE(parse(with({"--sft_oracle_only", "true", "--group_size", "4"})).sft_oracle_only);
  expectRejected({"--use_tdr", "maybe"}, "use_tdr");
}

TEST(TrainFlags, OtherSpellingsSetTheSameSetting) {
  const TrainOptions o = parse(with({"--episodes_per_update", "3", "--sft_token_sum_norm", "true"}));
  EXPECT_EQ(o.num_episodes_per_update, 3);
  EXPECT_TRUE(o.sft_token_sum_norm);
  expectRejected({"--sft_loss_norm", "weights", "--sft_token_sum_norm", "true"}, "sft_");
}

// A command that exposes some trainer settings (the demo's pipeline) gets train's flag, range
// and help, in its own group, with its own default shown.
TEST(TrainFlags, OneSettingAloneWithTheCommandsDefault) {
  TrainOptions o;
  o.group_size = 8;
  o.sft_oracle_only = true;
  CLI::App app;
  addTrainFlag(app, o, "--group_size", "Mine");
  addTrainFlag(app, o, "--sft_oracle_only", "Mine");
  const std::string help = app.help();
  EXPECT_NE(help.find("Mine:"), std::string::npos) << help;
  EXPECT_NE(help.find("--group_size INT:INT in [1 - 100000]=8"), std::string::npos) << help;
  EXPECT_NE(help.find("--sft_oracle_only BOOLEAN=true"), std::string::npos) << help;
  EXPECT_EQ(app.get_option_no_throw("--learning_rate"), nullptr);
  app.parse(std::vector<std::string>{"false", "--sft_oracle_only", "4", "--group_size"});
  EXPECT_EQ(o.group_size, 4);
  EXPECT_FALSE(o.sft_oracle_only);
  EXPECT_THROW(app.parse(std::vector<std::string>{"0", "--group_size"}), CLI::ValidationError);
}

TEST(TrainFlags, UnknownSettingIsAProgrammingError) {
  TrainOptions o;
  CLI::App app;
  EXPECT_THROW(addTrainFlag(app, o, "--no_such_setting"), std::invalid_argument);
}

TEST(SftWeight, ScheduleShapes) {
  TrainOptions o;
  o.sft_loss_start_weight = 1.0;
  o.sft_loss_end_weight = 0.5;
  o.sft_loss_decay_updates = 200;
  o.sft_loss_decay_type = DecayType::Linear;
  EXPECT_DOUBLE_EQ(sftWeight(o, 0), 1.0);
  EXPECT_DOUBLE_EQ(sftWeight(o, 100), 0.75);
  EXPECT_DOUBLE_EQ(sftWeight(o, 200), 0.5);
  EXPECT_DOUBLE_EQ(sftWeight(o, 999), 0.5);
  o.sft_loss_decay_type = DecayType::Cosine;
  EXPECT_DOUBLE_EQ(sftWeight(o, 0), 1.0);
  EXPECT_NEAR(sftWeight(o, 100), 0.75, 1e-12);       // (1 + cos(pi/2))/2 = 0.5
  EXPECT_NEAR(sftWeight(o, 50), 0.5 + 0.5 * (1 + std::cos(M_PI / 4)) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(sftWeight(o, 200), 0.5);
  // The reference's s (e/s)^p: 1 x 0.5^0.5 at p = 1/2, 0.5^0.995 at u = 199.
  o.sft_loss_decay_type = DecayType::Exponential;
  EXPECT_DOUBLE_EQ(sftWeight(o, 0), 1.0);
  EXPECT_NEAR(sftWeight(o, 100), 0.7071068, 1e-6);
  EXPECT_NEAR(sftWeight(o, 199), 0.5017359, 1e-6);
  EXPECT_DOUBLE_EQ(sftWeight(o, 200), 0.5);  // exactly e from u = D on
  EXPECT_DOUBLE_EQ(sftWeight(o, 999), 0.5);
}

// train_hybrid.sh's schedule, 1.0 -> 0.9 over D = 600 updates, at u = 300 and the last of its
// 500 updates (p = 499/600), in the three shapes, from budvln-reference.md's formulas.
TEST(SftWeight, ReferenceScheduleWorkedNumbers) {
  TrainOptions o;
  o.sft_loss_start_weight = 1.0;
  o.sft_loss_end_weight = 0.9;
  o.sft_loss_decay_updates = 600;
  o.sft_loss_decay_type = DecayType::Linear;
  EXPECT_NEAR(sftWeight(o, 300), 0.95, 1e-6);
  EXPECT_NEAR(sftWeight(o, 499), 0.9168333, 1e-6);  // 1 - 0.1 x 0.8316667
  o.sft_loss_decay_type = DecayType::Cosine;
  EXPECT_NEAR(sftWeight(o, 300), 0.95, 1e-6);
  EXPECT_NEAR(sftWeight(o, 499), 0.9068302, 1e-6);  // 0.9 + 0.05 (1 + cos(0.8316667 pi))
  o.sft_loss_decay_type = DecayType::Exponential;
  EXPECT_NEAR(sftWeight(o, 300), 0.9486833, 1e-6);  // 0.9^0.5
  EXPECT_NEAR(sftWeight(o, 499), 0.9161045, 1e-6);  // 0.9^0.8316667
}

TEST(SftWeight, ExponentialNeedsAPositiveStartWeight) {
  TrainOptions o;
  o.sft_loss_decay_type = DecayType::Exponential;
  o.sft_loss_start_weight = 0.0;
  try {
    o.validate();
    FAIL() << "accepted s = 0";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--sft_loss_start_weight"), std::string::npos);
  }
}

}  // namespace
}  // namespace svln::io
