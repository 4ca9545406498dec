#include "rl/losses.h"

#include <cmath>
#include <stdexcept>

namespace svln::rl {

torch::Tensor grpoLoss(const torch::Tensor& logp, const torch::Tensor& old_logp,
                       const torch::Tensor& advantages, double clip_eps) {
  if (logp.numel() == 0) return torch::zeros({}, logp.options());
  const torch::Tensor ratio = torch::exp(logp - old_logp.detach());
  const torch::Tensor adv = advantages.detach().to(logp.dtype());
  const torch::Tensor unclipped = ratio * adv;
  const torch::Tensor clipped = torch::clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv;
  return -torch::min(unclipped, clipped).mean();
}

double clipFraction(const torch::Tensor& logp, const torch::Tensor& old_logp, double clip_eps) {
  if (logp.numel() == 0) return 0.0;
  torch::NoGradGuard no_grad;
  const torch::Tensor ratio = torch::exp(logp - old_logp);
  return ((ratio - 1.0).abs() > clip_eps).to(torch::kFloat).mean().item<double>();
}

torch::Tensor sftLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                      const torch::Tensor& weights) {
  if (labels.numel() == 0) return torch::zeros({}, logits.options());
  const torch::Tensor logp = torch::log_softmax(logits.to(torch::kFloat), -1);
  const torch::Tensor nll = -logp.gather(1, labels.unsqueeze(1)).squeeze(1);
  const torch::Tensor w = weights.to(nll.dtype());
  return (nll * w).sum() / w.sum().clamp_min(1e-8);
}

torch::Tensor actionEntropy(const torch::Tensor& logp_rows) {
  const torch::Tensor p = torch::exp(logp_rows);
  // log p replaced by 0 where p = 0 before the product: 0 x -inf would be NaN, in the
  // forward value and in the gradient.
  const torch::Tensor safe = torch::where(p > 0, logp_rows, torch::zeros_like(logp_rows));
  return -(p * safe).sum(1);
}

torch::Tensor klPenalty(const torch::Tensor& logp, const torch::Tensor& ref_logp) {
  if (logp.numel() == 0) return torch::zeros({}, logp.options());
  const torch::Tensor d = ref_logp.detach() - logp;
  return (torch::exp(d) - d - 1.0).mean();
}

std::vector<double> demonstrationWeights(size_t n, double s) {
  if (n <= 1) return std::vector<double>(n, s);
  const double decay = std::pow(1.0 / s, 1.0 / static_cast<double>(n - 1));
  std::vector<double> w(n);
  for (size_t j = 0; j < n; ++j) w[j] = s * std::pow(decay, static_cast<double>(j));
  return w;
}

double demoBatchCoefficient(const std::vector<double>& weights) {
  if (weights.empty()) throw std::invalid_argument("demoBatchCoefficient: an empty batch");
  double sum = 0;
  for (double w : weights) sum += w;
  const auto n = static_cast<double>(weights.size());
  return sum / n / n;
}

}  // namespace svln::rl
