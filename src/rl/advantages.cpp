#include "rl/advantages.h"

#include <cmath>
#include <stdexcept>

namespace svln::rl {

std::vector<double> groupAdvantages(const std::vector<double>& returns) {
  const size_t n = returns.size();
  if (n < 2) throw std::invalid_argument("groupAdvantages: a group needs at least 2 returns");
  double mean = 0;
  for (double r : returns) mean += r;
  mean /= static_cast<double>(n);
  double var = 0;
  for (double r : returns) var += (r - mean) * (r - mean);
  const double std = std::sqrt(var / static_cast<double>(n - 1));
  std::vector<double> a(n);
  for (size_t i = 0; i < n; ++i) a[i] = (returns[i] - mean) / (std + 1e-6);
  return a;
}

}  // namespace svln::rl
