// GRPO advantages (shared/spec/trainer-flags.md, "GRPO").
#pragma once

#include <cstdint>
#include <vector>

namespace svln::rl {

// Group-relative advantages: A_i = (R_i - mean(R)) / (std(R) + 1e-6), std with Bessel's
// correction as torch.std() computes it (the reference trainer is PyTorch). A group of
// identical returns gives zeros. Requires at least 2 returns.
std::vector<double> groupAdvantages(const std::vector<double>& returns);

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
