// The flags of `streamvln demo` and `bench-learning` (cli/pipeline.h) as users type them:
// the trainer's settings come with `train`'s help and ranges and the pipeline's defaults,
// under every spelling the pipeline has accepted.
#include <gtest/gtest.h>

#include <string>

#include "run_cli.h"

namespace svln::test {
namespace {

TEST(PipelineFlags, HelpShowsTheTrainersFlagsWithThePipelinesDefaults) {
  for (const char* command : {"demo", "bench-learning"}) {
    const CliRun r = runCli(std::string(command) + " --help");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* line :
         {"--offtrack_dist_thresh FLOAT:POSITIVE=1.5", "--offtrack_patience INT:INT in [1 - 100000]=4",
          "--num_episodes_per_update,--episodes_per_update INT:INT in [1 - 1000000]=4",
          "--group_size INT:INT in [1 - 100000]=8", "--learning_rate FLOAT:POSITIVE=0.001",
          "--sft_oracle_only BOOLEAN=true", "--greedy_first_sample BOOLEAN=false",
          "--lora_r INT:INT in [1 - 4096]=16", "--select_every INT:INT in [0 - 100000]=5",
          "--sft_loss_start_weight FLOAT:FLOAT in [0 - 2]=0.3",
          "--sft_loss_end_weight FLOAT:FLOAT in [0 - 1]=0.15"})
      EXPECT_NE(r.output.find(line), std::string::npos) << command << ": " << line;
  }
}

// Every spelling parses: the run then stops at the unknown variant, before any work.
TEST(PipelineFlags, EverySpellingTheDemoHasAcceptedParses) {
  const CliRun r = runCli(
      "bench-learning --variants none --out /nonexistent/x --offtrack_dist_thresh 1.5 "
      "--offtrack_patience 4 --recovery_dist_thresh 1 --goal_grace_steps 7 "
      "--goal_stop_patience 5 --episodes_per_update 4 --group_size 8 --learning_rate 1e-3 "
      "--kl_coef 0 --forced_stop_penalty 1 --false_stop_penalty 0.5 --sft_oracle_only false "
      "--sft_false_stop_labels true --sft_loss_start_weight 1 --sft_loss_end_weight 0.5 "
      "--sft_token_sum_norm true --temperature 1 --greedy_first_sample true --lora_r 16 "
      "--lora_targets q_proj v_proj --lr_warmup_updates 0 --loss_agg_mode token-mean");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("unknown variant 'none'"), std::string::npos) << r.output;
}

TEST(PipelineFlags, TheTrainersRangeChecksApply) {
  const CliRun r = runCli("demo --out /nonexistent/x --sft_loss_end_weight 1.5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--sft_loss_end_weight"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace svln::test
