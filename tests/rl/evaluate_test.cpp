// Paired comparison of two evaluations (rl/evaluate.h): successes gained and lost by episode
// id, and McNemar's rule that --best_margin and the demo's footer use.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rl/evaluate.h"

namespace svln::rl {
namespace {

EvalResult resultOf(const std::vector<std::pair<std::string, bool>>& episodes, double spl = 0) {
  EvalResult r;
  int ok_count = 0;
  for (const auto& [id, ok] : episodes) {
    EpisodeResult e;
    e.episode_id = id;
    e.metrics.success = ok ? 1.f : 0.f;
    r.episodes.push_back(e);
    ok_count += ok;
  }
  r.summary["success_rate"] = static_cast<double>(ok_count) / static_cast<double>(episodes.size());
  r.summary["spl"] = spl;
  return r;
}

TEST(PairedSuccesses, CountsGainsAndLossesByEpisodeIdOverSharedEpisodes) {
  const EvalResult before = resultOf({{"1", true}, {"2", false}, {"3", true}, {"4", false}});
  // In another order, with an episode the reference did not run.
  const EvalResult after = resultOf({{"4", true}, {"3", false}, {"2", true}, {"1", true}, {"9", true}});
  const PairedSuccesses p = pairedSuccesses(successesById(before), after);
  EXPECT_EQ(p.gained, 2);  // 2 and 4
  EXPECT_EQ(p.lost, 1);    // 3
}

TEST(PairedSuccesses, ClearlyBetterNeedsTheNetGainInStandardErrors) {
  EXPECT_FALSE(clearlyBetter({0, 0}, 0.0));  // a tie never wins
  EXPECT_FALSE(clearlyBetter({3, 3}, 0.0));
  EXPECT_TRUE(clearlyBetter({1, 0}, 0.0));
  EXPECT_TRUE(clearlyBetter({1, 0}, 1.0));   // 1 >= 1 sqrt(1)
  EXPECT_FALSE(clearlyBetter({4, 2}, 1.0));  // 2 < sqrt(6) = 2.45
  EXPECT_TRUE(clearlyBetter({8, 3}, 1.0));   // 5 >= sqrt(11) = 3.32
  EXPECT_FALSE(clearlyBetter({8, 3}, 2.0));  // 5 < 6.63
}

// Without a margin a higher SR wins, then a higher SPL; with one, the paired net gain must
// reach it: two gains and one loss beat the best's SR but are not 1 s.e. clear (1 < 1.73).
TEST(BestRecord, AMarginKeepsTheIncumbentAgainstANoisyGain) {
  const BestRecord best = bestRecord(resultOf({{"1", true}, {"2", false}, {"3", false}, {"4", true}}, 0.3));
  const EvalResult noisy = resultOf({{"1", false}, {"2", true}, {"3", true}, {"4", true}}, 0.2);
  EXPECT_TRUE(replacesBest(best, noisy, 0.0));
  EXPECT_FALSE(replacesBest(best, noisy, 1.0));
  const EvalResult clear = resultOf({{"1", true}, {"2", true}, {"3", true}, {"4", true}}, 0.2);
  EXPECT_TRUE(replacesBest(best, clear, 1.0));  // 2 >= sqrt(2)
  const EvalResult same_sr = resultOf({{"1", true}, {"2", false}, {"3", false}, {"4", true}}, 0.4);
  EXPECT_TRUE(replacesBest(best, same_sr, 0.0));    // the SPL tie-break
  EXPECT_FALSE(replacesBest(best, same_sr, 0.5));   // no net gain
}

}  // namespace
}  // namespace svln::rl
