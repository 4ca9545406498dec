#include <gtest/gtest.h>

#include "io/progress.h"

namespace svln::io {
namespace {

TEST(Progress, DurationFormats) {
  EXPECT_EQ(Progress::formatDuration(12.2), "12s");
  EXPECT_EQ(Progress::formatDuration(187), "3m07s");
  EXPECT_EQ(Progress::formatDuration(3720), "1h02m");
}

TEST(Progress, BarShowsCountPercentAndEta) {
  // 25 of 100 in 30 s: 75 remaining at the same rate -> 90 s.
  const std::string s = Progress::render("train", 25, 100, 30.0, "SR 0.40", 10);
  EXPECT_EQ(s, "train [##........] 25/100 ( 25%) elapsed 30s ETA 1m30s | SR 0.40");
  EXPECT_EQ(Progress::render("eval", 0, 8, 0.0, "", 0), "eval 0/8 (  0%) elapsed 0s ETA ?");
}

}  // namespace
}  // namespace svln::io
