// BudVLN's advantage options (shared/spec/budvln-reference.md "Advantages"), worked by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "rl/advantages.h"
#include "rl/update.h"

namespace svln::rl {
namespace {

TEST(PopulationStdAdvantages, AGroupOfTwoGivesExactlyPlusMinusOne) {
  // mean 1.5, np.std = 1.5: (0 - 1.5)/1.5 = -1, (3 - 1.5)/1.5 = +1.
  const auto a = groupAdvantages({0.0, 3.0}, io::AdvantageStd::Population);
  EXPECT_DOUBLE_EQ(a[0], -1.0);
  EXPECT_DOUBLE_EQ(a[1], 1.0);
  // Bessel's std is 2.1213: the default gives -+0.7071 (minus the 1e-6).
  const auto s = groupAdvantages({0.0, 3.0});
  EXPECT_NEAR(s[1], 0.7071065, 1e-6);
}

TEST(PopulationStdAdvantages, GroupOfThreeAndIdenticalReturns) {
  // R = 1, 2, 4: mean 7/3, deviations -4/3, -1/3, 5/3, np.std = sqrt(42/27) = 1.2472191.
  const auto a = groupAdvantages({1.0, 2.0, 4.0}, io::AdvantageStd::Population);
  EXPECT_NEAR(a[0], -1.0690450, 1e-6);
  EXPECT_NEAR(a[1], -0.2672612, 1e-6);
  EXPECT_NEAR(a[2], 1.3363062, 1e-6);
  // std < 1e-8: no division, R - mean = 0.
  const auto z = groupAdvantages({0.7, 0.7}, io::AdvantageStd::Population);
  EXPECT_DOUBLE_EQ(z[0], 0.0);
  EXPECT_DOUBLE_EQ(z[1], 0.0);
}

TEST(PopulationStdAdvantages, TrajectoryAdvantagesUsesItPerGroup) {
  RunningBaseline b;
  const auto a = trajectoryAdvantages({1.0, 0.0, 5.0, 7.0}, 2, b, io::AdvantageStd::Population);
  EXPECT_DOUBLE_EQ(a[0], 1.0);
  EXPECT_DOUBLE_EQ(a[1], -1.0);
  EXPECT_DOUBLE_EQ(a[2], -1.0);
  EXPECT_DOUBLE_EQ(a[3], 1.0);
}

TEST(UnscaledAdvantages, AreTheReturnMinusTheGroupMean) {
  // Dr. GRPO: R = 1, 2, 4, mean 7/3: -4/3, -1/3, 5/3, whatever the spread.
  const auto a = groupAdvantages({1.0, 2.0, 4.0}, io::AdvantageStd::None);
  EXPECT_NEAR(a[0], -4.0 / 3.0, 1e-12);
  EXPECT_NEAR(a[1], -1.0 / 3.0, 1e-12);
  EXPECT_NEAR(a[2], 5.0 / 3.0, 1e-12);
  // Failures that differ by 0.02 stay 0.01 apart; sample std would make them -+0.707.
  const auto f = groupAdvantages({-0.47, -0.45}, io::AdvantageStd::None);
  EXPECT_NEAR(f[0], -0.01, 1e-12);
  EXPECT_NEAR(f[1], 0.01, 1e-12);
}

TEST(SpreadAdvantages, AOverTThenZScoredOverTheUpdatesSteps) {
  // A = +1 over 2 tokens, -1 over 3: per-token 0.5, 0.5, -1/3, -1/3, -1/3; mean 0;
  // Bessel var = (2 x 0.25 + 3 x 1/9) / 4 = 5/24, std 0.4564355;
  // 0.5 / 0.4564355 = 1.0954451, (-1/3) / 0.4564355 = -0.7302967.
  const auto a = spreadAdvantages({1.0, -1.0}, {2, 3});
  EXPECT_NEAR(a[0], 1.0954451, 1e-6);
  EXPECT_NEAR(a[1], -0.7302967, 1e-6);
  // A trajectory without policy tokens keeps 0 and does not count.
  const auto b = spreadAdvantages({1.0, -1.0, 4.0}, {2, 3, 0});
  EXPECT_NEAR(b[0], 1.0954451, 1e-6);
  EXPECT_DOUBLE_EQ(b[2], 0.0);
  // Two tokens in all: values a, b z-score to +-1/sqrt(2).
  const auto c = spreadAdvantages({1.0, -1.0}, {1, 1});
  EXPECT_NEAR(c[0], 0.7071068, 1e-6);
  EXPECT_NEAR(c[1], -0.7071068, 1e-6);
  // One token: std 0, the value equals the mean: 0.
  EXPECT_DOUBLE_EQ(spreadAdvantages({3.0}, {1})[0], 0.0);
}

}  // namespace
}  // namespace svln::rl
