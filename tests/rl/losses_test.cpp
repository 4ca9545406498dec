#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

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

TEST(ActionEntropy, NatsPerRowAndMaskedColumnsAddNothing) {
  const double inf = std::numeric_limits<double>::infinity();
  // [0.5, 0.5, 0, 0, masked]: ln 2 = 0.6931472; 4-way uniform + masked: ln 4 = 1.3862944.
  auto lp = torch::tensor({{std::log(0.5), std::log(0.5), -inf, -inf, -inf},
                           {std::log(0.25), std::log(0.25), std::log(0.25), std::log(0.25), -inf}},
                          torch::kDouble)
                .requires_grad_();
  const auto h = actionEntropy(lp);
  EXPECT_NEAR(h[0].item<double>(), 0.6931472, 1e-6);
  EXPECT_NEAR(h[1].item<double>(), 1.3862944, 1e-6);
  h.sum().backward();
  EXPECT_TRUE(torch::isfinite(lp.grad()).all().item<bool>());  // no 0 x -inf
}

// BudVLN's loss (G:2196-2206, 2311-2316): old log-prob placeholder 0, so r = pi; PPO clip
// 0.2; entropy bonus 0.02 over the 4-way distribution.
//   token 0: pi = 0.5, A = +1: min(0.5, clip(0.5) = 0.8) = 0.5
//   token 1: pi = 0.9, A = -1: min(-0.9, -clip(0.9) = -0.9) = -0.9
//   policy loss = -(0.5 - 0.9)/2 = 0.2
//   H0 = ln 2 = 0.6931472 ([0.5, 0.5, 0, 0]); H1 = -(0.9 ln 0.9 + 3 (0.1/3) ln(0.1/3))
//      = 0.0948245 + 0.3401197 = 0.4349442; mean 0.5640457
//   L = 0.2 - 0.02 x 0.5640457 = 0.1887191
TEST(GrpoLoss, ReferenceLossWithZeroOldLogProbAndEntropy) {
  const double inf = std::numeric_limits<double>::infinity();
  const double t = std::log(0.1 / 3);
  auto rows = torch::tensor({{std::log(0.5), std::log(0.5), -inf, -inf, -inf},
                             {std::log(0.9), t, t, t, -inf}},
                            torch::kDouble)
                  .requires_grad_();
  const auto logp = rows.select(1, 0);
  const auto adv = torch::tensor({1.0, -1.0}, torch::kDouble);
  const auto policy = grpoLoss(logp, torch::zeros({2}, torch::kDouble), adv);
  EXPECT_NEAR(policy.item<double>(), 0.2, 1e-6);
  const auto loss = policy - 0.02 * actionEntropy(rows).mean();
  EXPECT_NEAR(loss.item<double>(), 0.1887191, 1e-6);
  // With A < 0 and pi < 0.8 the clipped branch is the constant 0.8: no policy gradient.
  auto low = torch::tensor({std::log(0.5)}, torch::kDouble).requires_grad_();
  const auto l = grpoLoss(low, torch::zeros({1}, torch::kDouble), -torch::ones({1}, torch::kDouble));
  EXPECT_NEAR(l.item<double>(), 0.8, 1e-6);
  l.backward();
  EXPECT_DOUBLE_EQ(low.grad()[0].item<double>(), 0.0);
}

// BudVLN's demonstration weights (G:1710-1739): s = 2 over 5 steps decays by
// (1/2)^(1/4) = 0.840896 per step: 2, 1.681793, 1.414214, 1.189207, 1; s = 1 (the script's
// start weight) gives all ones; one step gets s.
TEST(DemonstrationWeights, DecayFromTheStartWeightToOne) {
  const std::vector<double> w = demonstrationWeights(5, 2.0);
  const std::vector<double> expect = {2.0, 1.681793, 1.414214, 1.189207, 1.0};
  ASSERT_EQ(w.size(), expect.size());
  for (size_t j = 0; j < w.size(); ++j) EXPECT_NEAR(w[j], expect[j], 1e-6) << j;
  for (double x : demonstrationWeights(4, 1.0)) EXPECT_NEAR(x, 1.0, 1e-12);
  EXPECT_EQ(demonstrationWeights(1, 1.5), std::vector<double>{1.5});
  EXPECT_TRUE(demonstrationWeights(0, 1.5).empty());
}

// The demonstration batch's loss (S:2683-2684): mean weight x mean CE. Two steps over 2
// classes, CE ln 2 (uniform logits) and ln 4 (logits ln 3, 0 against label 1), weights 2 and
// 1: c = 1.5 / 2 = 0.75, L = 0.75 (ln 2 + ln 4) = 0.75 ln 8 = 1.559581, where the weighted
// mean would give (2 ln 2 + ln 4) / 3 = 0.924196.
TEST(DemoBatchLoss, MeanWeightTimesMeanCrossEntropy) {
  const auto logits = torch::tensor({0.0, 0.0, std::log(3.0), 0.0}, torch::kDouble).view({2, 2});
  const auto labels = torch::tensor({0, 1}, torch::kLong);
  const auto ones = torch::ones({2}, torch::kDouble);
  const double ce_sum = sftLoss(logits, labels, ones).item<double>() * 2.0;
  EXPECT_NEAR(ce_sum, std::log(8.0), 1e-6);  // sftLoss computes in float
  const double c = demoBatchCoefficient({2.0, 1.0});
  EXPECT_NEAR(c, 0.75, 1e-12);
  EXPECT_NEAR(c * ce_sum, 1.559581, 1e-6);
  const auto w = torch::tensor({2.0, 1.0}, torch::kDouble);
  EXPECT_NEAR(sftLoss(logits, labels, w).item<double>(), 0.924196, 1e-6);
  // Equal weights: the plain mean CE times the weight.
  EXPECT_NEAR(demoBatchCoefficient({1.0, 1.0, 1.0, 1.0}), 0.25, 1e-12);
  EXPECT_THROW(demoBatchCoefficient({}), std::invalid_argument);
}

}  // namespace
}  // namespace svln::rl
