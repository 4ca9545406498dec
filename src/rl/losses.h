// The hybrid objective's terms (shared/spec/trainer-flags.md). Tensors are flat over the
// action tokens of a mini-batch; torch stays out of other rl headers.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace svln::rl {

// Clipped PPO surrogate over policy-generated action tokens:
//   r_t = exp(logp_t - old_logp_t)
//   L   = -mean_t min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t)
// logp carries gradients; old_logp and advantages do not. Returns a scalar (0 when empty).
torch::Tensor grpoLoss(const torch::Tensor& logp, const torch::Tensor& old_logp,
                       const torch::Tensor& advantages, double clip_eps = 0.2);

// Fraction of tokens whose ratio left [1 - eps, 1 + eps] (a health figure for the log).
double clipFraction(const torch::Tensor& logp, const torch::Tensor& old_logp,
                    double clip_eps = 0.2);

// Weighted cross-entropy on the expert's labels:
//   L = sum_t w_t * CE(logits_t, y_t) / sum_t w_t
// logits [T, V], labels [T] (int64), weights [T] (expert-controlled steps weigh 2).
torch::Tensor sftLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                      const torch::Tensor& weights);

// Entropy of each row's action distribution, rows of log-probabilities [N, K] (the
// alphabet at the sampling temperature; a masked column, log p = -inf, adds 0):
//   H_n = -sum_k p_nk log p_nk
// The entropy bonus is L -= entropy_coef H, aggregated over policy tokens like the surrogate
// (BudVLN: 0.02 over its 4-way softmax, G:2206,2313). Returns [N].
torch::Tensor actionEntropy(const torch::Tensor& logp_rows);

// BudVLN's demonstration decay weights (G:1710-1739): step j of an n-step rollback
// demonstration weighs
//   w_j = s (1/s)^{j/(n-1)}     (w_0 = s at the rollback point, w_{n-1} = 1; n = 1: {s})
// with s = --sft_loss_start_weight [Limit: > 0].
std::vector<double> demonstrationWeights(size_t n, double s);

// BudVLN's loss of a batch of demonstration steps trained on their own (the two-phase
// update's second pass, S:2668-2684; the failures trainer's segments, F:1593-1601): the
// batch's mean cross-entropy times its mean weight,
//   L_b = mean_j(w_j) * mean_j CE_j = c sum_j CE_j,   c = mean_j(w_j) / n
// (sftLoss's weighted mean sum w CE / sum w only when the weights are equal). Returns c,
// the coefficient of each CE of the batch [Limit: weights not empty].
double demoBatchCoefficient(const std::vector<double>& weights);

// KL(pi || pi_ref) per token with the non-negative "k3" estimator, averaged:
//   d = ref_logp - logp;  k3 = exp(d) - d - 1
torch::Tensor klPenalty(const torch::Tensor& logp, const torch::Tensor& ref_logp);

}  // namespace svln::rl
