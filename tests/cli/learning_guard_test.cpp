// The guard of the project's central claim: on a reduced version of the demo's pipeline
// (one fixed seed, the method only), hybrid GRPO+SFT must raise the greedy success rate
// of its own SFT base on val_unseen by kMargin. A change to the trainer, the rewards, the
// rollout or the model that stops the method from making agents better fails here, not
// weeks later in someone's table. The full multi-seed table: `streamvln bench-learning`
// (docs/results.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {
namespace fs = std::filesystem;

// The reduced pipeline: the demo's recipe (cli/pipeline.h defaults) on fewer apartments
// and episodes, evaluated on the first 48 val_unseen episodes.
constexpr const char* kArgs =
    " bench-learning --seeds 1 --seed 1 --variants hybrid --scenes 10 --episodes_per_scene 24"
    " --eval_episodes 48 --threads 2";
constexpr double kMargin = 0.10;

TEST(LearningGuard, TheMethodBeatsItsSftBase) {
  const fs::path out = fs::temp_directory_path() / "svln_learning_guard";
  fs::remove_all(out);
  const std::string cmd = std::string(SVLN_BINARY) + kArgs + " --out " + out.string() +
                          " > " + (out.string() + ".log") + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "see " << out.string() << ".log";
  std::ifstream in(out / "results.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const double base = j["variants"]["base"]["success_rate"]["mean"].get<double>();
  const double method = j["variants"]["hybrid"]["success_rate"]["mean"].get<double>();
  EXPECT_GE(method - base, kMargin) << "greedy SR on val_unseen: base " << base << ", method "
                                    << method << " (" << (out / "results.md").string() << ")";
}

}  // namespace
