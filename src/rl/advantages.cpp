#include "rl/advantages.h"

#include <cmath>
#include <stdexcept>

namespace svln::rl {

std::vector<double> groupAdvantages(const std::vector<double>& returns,
                                    io::AdvantageStd std_kind) {
  const size_t n = returns.size();
  if (n < 2) throw std::invalid_argument("groupAdvantages: a group needs at least 2 returns");
  double mean = 0;
  for (double r : returns) mean += r;
  mean /= static_cast<double>(n);
  double var = 0;
  for (double r : returns) var += (r - mean) * (r - mean);
  std::vector<double> a(n);
  if (std_kind == io::AdvantageStd::None) {
    for (size_t i = 0; i < n; ++i) a[i] = returns[i] - mean;
    return a;
  }
  if (std_kind == io::AdvantageStd::Population) {
    const double std = std::sqrt(var / static_cast<double>(n));
    for (size_t i = 0; i < n; ++i)
      a[i] = std < 1e-8 ? returns[i] - mean : (returns[i] - mean) / std;
    return a;
  }
  const double std = std::sqrt(var / static_cast<double>(n - 1));
  for (size_t i = 0; i < n; ++i) a[i] = (returns[i] - mean) / (std + 1e-6);
  return a;
}

std::vector<double> spreadAdvantages(const std::vector<double>& advantages,
                                     const std::vector<int64_t>& policy_tokens) {
  if (advantages.size() != policy_tokens.size())
    throw std::invalid_argument("spreadAdvantages: one token count per advantage");
  double n = 0, sum = 0;
  std::vector<double> per_token(advantages.size(), 0.0);
  for (size_t i = 0; i < advantages.size(); ++i) {
    if (policy_tokens[i] <= 0) continue;
    const double t = static_cast<double>(policy_tokens[i]);
    per_token[i] = advantages[i] / t;
    n += t;
    sum += advantages[i];  // T_i tokens of A_i / T_i
  }
  const double mean = n > 0 ? sum / n : 0.0;
  double ss = 0;
  for (size_t i = 0; i < advantages.size(); ++i)
    if (policy_tokens[i] > 0)
      ss += static_cast<double>(policy_tokens[i]) * (per_token[i] - mean) * (per_token[i] - mean);
  const double std = n >= 2 ? std::sqrt(ss / (n - 1)) : 0.0;
  std::vector<double> out(advantages.size(), 0.0);
  for (size_t i = 0; i < advantages.size(); ++i)
    if (policy_tokens[i] > 0) out[i] = (per_token[i] - mean) / (std + 1e-8);
  return out;
}

}  // namespace svln::rl
