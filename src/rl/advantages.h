// GRPO advantages (shared/spec/trainer-flags.md, "GRPO").
#pragma once

#include <cstdint>
#include <vector>

#include "io/train_options.h"

namespace svln::rl {

// Group-relative advantages (--advantage_std), requires at least 2 returns:
//   sample      A_i = (R_i - mean R) / (std_{n-1} R + 1e-6)   (Bessel's correction)
//   population  A_i = (R_i - mean R) / std_n R, or R_i - mean R when std_n R < 1e-8 (BudVLN's
//               np.std, G:1992-1998: a group of 2 different returns gives exactly +-1)
// A group of identical returns gives zeros.
std::vector<double> groupAdvantages(const std::vector<double>& returns,
                                    io::AdvantageStd std_kind = io::AdvantageStd::Sample);

// BudVLN's step-level advantages (--spread_advantages, G:2003-2008, 2114-2116): each of
// trajectory i's T_i policy tokens gets a = A_i / T_i; then every policy token of the update
// is z-scored, a' = (a - mean) / (std_{N-1} + 1e-8) over all N = sum T_i tokens (std 0 when
// N < 2). Tokens of one trajectory share a value, so the result is one value per trajectory
// (0 for a trajectory without policy tokens).
std::vector<double> spreadAdvantages(const std::vector<double>& advantages,
                                     const std::vector<int64_t>& policy_tokens);

// group_size 1: no group to compare with, so A = R - b, b the running mean of all returns
// seen before this one (0 before the first). advantage() uses the current b, then update().
class RunningBaseline {
 public:
  double advantage(double ret) const { return ret - mean_; }
  void update(double ret) {
    ++count_;
    mean_ += (ret - mean_) / static_cast<double>(count_);
  }
  double mean() const { return mean_; }
  int64_t count() const { return count_; }
  void restore(double mean, int64_t count) { mean_ = mean; count_ = count; }

 private:
  double mean_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace svln::rl
