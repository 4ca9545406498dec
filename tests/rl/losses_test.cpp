#include <gtest/gtest.h>

#include <cmath>

#include "rl/losses.h"

namespace svln::rl {
namespace {

TEST(GrpoLoss, ClippedSurrogateByHand) {
  // Token 0: ratio e^0.5 = 1.6487 > 1.2 with A = +1 -> clipped to 1.2.
  // Token 1: ratio e^-0.5 = 0.6065 < 0.8 with A = -1 -> min(-0.6065, -0.8) = -0.8.
  // Token 2: ratio 1, A = 2 -> 2.
  auto logp = torch::tensor({0.5, -0.5, 0.0}, torch::kDouble).requires_grad_();
  auto old = torch::zeros({3}, torch::kDouble);
  auto adv = torch::tensor({1.0, -1.0, 2.0}, torch::kDouble);
  auto loss = grpoLoss(logp, old, adv);
  EXPECT_NEAR(loss.item<double>(), -(1.2 - 0.8 + 2.0) / 3.0, 1e-12);
  loss.backward();
  // Clipped tokens carry no gradient; token 2's is -A * ratio / 3.
  auto g = logp.grad();
  EXPECT_DOUBLE_EQ(g[0].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(g[1].item<double>(), 0.0);
  EXPECT_NEAR(g[2].item<double>(), -2.0 / 3.0, 1e-12);
  EXPECT_NEAR(clipFraction(logp.detach(), old), 2.0 / 3.0, 1e-6);
}

TEST(GrpoLoss, UnclippedSideKeepsTheGradient) {
  // A > 0 with ratio below 1 - eps: min picks the unclipped term, gradient flows.
  auto logp = torch::tensor({-0.5}, torch::kDouble).requires_grad_();
  auto loss = grpoLoss(logp, torch::zeros({1}, torch::kDouble), torch::ones({1}, torch::kDouble));
  loss.backward();
  EXPECT_NEAR(logp.grad()[0].item<double>(), -std::exp(-0.5), 1e-12);
}

TEST(SftLoss, WeightedCrossEntropy) {
  // Two tokens over 2 classes with uniform logits: CE = ln 2 each, any weights.
  auto logits = torch::zeros({2, 2});
  auto labels = torch::tensor({0, 1}, torch::kLong);
  EXPECT_NEAR(sftLoss(logits, labels, torch::tensor({1.f, 2.f})).item<double>(), std::log(2.0),
              1e-6);
  // Token 0 certain and right (CE ~ 0), token 1 uniform (ln 2) with weight 2: 2 ln2 / 3.
  logits = torch::tensor({{20.f, -20.f}, {0.f, 0.f}});
  EXPECT_NEAR(sftLoss(logits, labels, torch::tensor({1.f, 2.f})).item<double>(),
              2 * std::log(2.0) / 3, 1e-6);
}

TEST(KlPenalty, ZeroAtEqualityPositiveOtherwise) {
  auto a = torch::tensor({-1.0, -2.0}, torch::kDouble);
  EXPECT_DOUBLE_EQ(klPenalty(a, a).item<double>(), 0.0);
  auto b = torch::tensor({-1.5, -2.0}, torch::kDouble);
  // d = [-0.5, 0]: e^-0.5 + 0.5 - 1 = 0.10653, mean with 0.
  EXPECT_NEAR(klPenalty(a, b).item<double>(), (std::exp(-0.5) - 0.5) / 2, 1e-12);
}

}  // namespace
}  // namespace svln::rl
