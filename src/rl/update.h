// One policy update over a batch of rollouts: the hybrid GRPO + SFT objective recomputed
// with gradients from the stored streaming context (shared/spec/trainer-flags.md).
//
//   trajectory ─► windows ─► encodeFrames (stored u8 frames) ─► windowLogits at answer
//   tokens ─► alphabetLogProbs ─┬─► policy tokens: clipped surrogate (A_i broadcast)
//                               ├─► executed steps with a valid label: CE(label column),
//                               │   expert steps weigh 2 (or only expert steps)
//                               └─► optional k3 KL to the adapter-free model
//   L = GRPO + w(u) SFT + kl_coef KL - entropy_coef H  (pure GRPO without hybrid training)
//
// ppo_epochs passes over the batch in mini-batches of mini_batch_size trajectories; each
// mini-batch is one optimizer step (gradients accumulated trajectory by trajectory, every
// term normalised by the mini-batch's token counts so the sum equals the mini-batch mean).
// BudVLN's variants: with two_phase the rollback demonstrations then train in a pass of
// their own (batches of 4 steps, an optimizer step each); failures_only is that pass alone.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "io/train_options.h"
#include "model/action_codec.h"
#include "rl/advantages.h"
#include "rl/distributed.h"
#include "model/streamvln.h"
#include "rl/rollout.h"

namespace svln::rl {

struct UpdateOptions {
  bool use_hybrid = false;
  double sft_weight = 1.0;        // w(u) for this update
  bool sft_oracle_only = false;   // SFT only at expert-controlled steps
  double expert_step_weight = 2.0;
  // Also label the policy's false STOPs (a STOP called farther than success_distance from
  // the goal) with the expert's action there, at expert_step_weight, even when
  // sft_oracle_only. The expert then corrects both ways of stopping wrong: the forced STOP
  // labels a STOP called too late, this one a STOP called too early. With only the first,
  // a policy that cannot see where the goal is learns "STOP" everywhere (docs/results.md).
  bool sft_false_stop_labels = false;
  double success_distance = 3.0;  // m, the episode's success distance (false STOPs)
  double clip_eps = 0.2;
  double kl_coef = 0.0;
  double entropy_coef = 0.0;      // L -= entropy_coef H (rl/losses.h actionEntropy)
  bool zero_old_logprob = false;  // BudVLN's placeholder: old log-prob 0, ratio = pi(a|s)
  // No policy tokens enter the loss (no surrogate, entropy or KL): --disable_grpo_loss and
  // --sft_only.
  bool disable_grpo = false;
  // --demo_loss separate (BudVLN, G:2274-2316): a rollback demonstration's steps form their
  // own term, L += demo_coef sum_j w_j CE_j / sum_j w_j over the mini-batch's demonstration
  // steps, w_j = demonstrationWeights(n, demo_start_weight)[j] (rl/losses.h), also without
  // hybrid training. false: they join the SFT term as expert steps (weight 2, x w(u)).
  bool demo_loss_separate = false;
  double demo_start_weight = 1.0;
  double demo_coef = 1.0;
  double temperature = 1.0;       // the rollout's sampling temperature
  int ppo_epochs = 1;
  int mini_batch_size = 2;
  // --mini_batch_unit steps (BudVLN, G:2131-2325): a mini-batch is min(12, mini_batch_size)
  // policy tokens of one episode's group (shuffled within the group, the batches shuffled),
  // one optimizer step each. Its loss: the surrogate and entropy as token means over the
  // batch; with hybrid training, SFT on min(batch, |S|) labels drawn from the update's,
  //   L_sft = w(u) mean(w') sum w' CE / sum w' = w(u) sum w' CE / n   (w' = 2 expert, 1)
  // and with demo_loss_separate, min(2, |D|) demonstration steps drawn from the update's,
  // their decay-weighted mean, coefficient demo_coef. One process only. step_seed drives
  // the shuffles and draws.
  bool step_mini_batches = false;
  uint64_t step_seed = 0;
  // --update_mode two_phase (BudVLN's streamvln_sft_train.py, S:2233-2718): two passes. The
  // first is the update above without the rollback demonstrations (no demonstration term,
  // whatever demo_loss_separate says); the second trains them alone: each episode group's
  // labelled demonstration steps, shuffled and cut into batches of kDemoBatchSteps, the
  // batches shuffled, one optimizer step each, with the loss
  //   L_b = mean_{j in b}(w_j) mean_{j in b} CE_j     (rl/losses.h demoBatchCoefficient)
  // and w_j = demonstrationWeights(n, demo_start_weight)[j]. One process only.
  bool two_phase = false;
  // --sft_on_failures (streamvln_sft_only_train.py, F:1405-1666): only the demonstration
  // pass, over the rollback demonstrations alone (no surrogate, no SFT term), each
  // demonstration cut into segments of kFailureSegmentSteps consecutive labelled steps, the
  // segments shuffled; L_b as above divided by `accumulation`, an optimizer step after every
  // `accumulation` segments and after the last. One process only.
  bool failures_only = false;
  int accumulation = 1;  // segments per optimizer step [>= 1]
  // How the clipped surrogate averages over tokens (--loss_agg_mode; io::LossAggMode has
  // the formulas). TokenMean lets a long no-STOP failure mostly push down "keep walking";
  // SeqMeanTokenMean lets a short false STOP put a large weight on its STOP token
  // (docs/results.md). The trainer sets --loss_agg_mode's.
  io::LossAggMode aggregation = io::LossAggMode::SeqMeanTokenMean;
  double token_norm = 100.0;  // SeqMeanTokenSumNorm's constant (the trainer: the episode cap)
  // How the SFT term is normalised (--sft_loss_norm): false, the weighted mean over the
  // mini-batch's labels (sum w_t CE_t / sum w_t); true, sum w_t CE_t / (token_norm x
  // trajectories), the surrogate's constant, so a handful of labels (--sft_oracle_only) is
  // not a full-weight mean over a few STOPs.
  bool sft_token_sum_norm = false;
  double max_grad_norm = 0.5;  // infinity: no clipping (DeepSpeed gradient_clipping 0)
  // Data parallel (rl/distributed.h): this process holds trajectories
  // [shard_begin, shard_begin + n) of an update of shard_total (0: the trajectories given
  // are the whole update). Mini-batches are cut from the global order; token totals, loss
  // figures and gradients are summed over ranks, so every rank takes the step a single
  // process would take on the whole update.
  const DistContext* dist = nullptr;
  size_t shard_begin = 0;
  size_t shard_total = 0;
  int64_t bucket_bytes = 25 << 20;  // gradient all-reduce bucket
  // A trajectory's windows are recomputed as right-padded batches of at most this many
  // padded tokens (model::windowLogitsBatch); 1: one window per forward.
  int64_t max_batch_tokens = 16384;
};

// The second pass's batch of the two-phase update (S:2627) and the failures trainer's
// segment (its num_frames, F:127, 1433-1439), in demonstration steps.
constexpr size_t kDemoBatchSteps = 4;
constexpr size_t kFailureSegmentSteps = 32;

struct UpdateStats {
  double grpo_loss = 0;      // mean over applied mini-batches
  double sft_loss = 0;
  double kl = 0;
  double entropy = 0;        // mean over applied mini-batches (computed with entropy_coef > 0)
  // demo_loss_separate: the term's mean over applied mini-batches; two_phase and
  // failures_only: the demonstration batches' mean CE, averaged over the applied batches
  // (S:2696, F:1606)
  double demo_loss = 0;
  double clip_fraction = 0;
  double grad_norm = 0;      // global norm before clipping, mean over applied steps
  int policy_tokens = 0;     // per pass
  int sft_tokens = 0;
  int demo_tokens = 0;       // demonstration steps of the separate term or pass
  int steps_applied = 0;     // optimizer steps taken
  int steps_skipped = 0;     // mini-batches dropped for a NaN/Inf loss or gradient
};

// Advantages of an update's returns, ordered group by group (group_size consecutive
// trajectories share an episode): groupAdvantages per group, or with group_size 1
// A = R - b with the running baseline b of earlier returns (then b absorbs R).
std::vector<double> trajectoryAdvantages(const std::vector<double>& returns, int group_size,
                                         RunningBaseline& baseline,
                                         io::AdvantageStd std_kind = io::AdvantageStd::Sample);

// The tokens of one trajectory that enter the loss, with their targets.
struct TrajectoryTargets {
  std::vector<int32_t> policy;      // answer-token indices of policy-generated tokens
  std::vector<int32_t> sft;         // answer-token indices of labelled executed steps
  std::vector<int> sft_column;      // the label's alphabet column per sft entry
  std::vector<double> sft_weight;   // 2 for expert-controlled steps, 1 otherwise
  std::vector<int> sft_step;        // the step index of each sft entry
};
TrajectoryTargets collectTargets(const Trajectory& t, const model::ActionCodec& codec,
                                 const UpdateOptions& o);

// Differentiable terms of one trajectory (sums, not means, so mini-batches can normalise).
struct TrajectoryTerms {
  torch::Tensor grpo_sum;    // sum_t -min(r A, clip(r) A) over policy tokens
  torch::Tensor sft_sum;     // sum_t w_t CE_t
  torch::Tensor kl_sum;      // sum_t k3_t over policy tokens
  torch::Tensor entropy_sum; // sum_t H_t over policy tokens (entropy_coef > 0)
  double sft_weight_sum = 0;
  int policy_tokens = 0;
  int clipped = 0;
  torch::Tensor logp;  // the policy tokens' recomputed log-probs (detached), in order
};
TrajectoryTerms trajectoryTerms(model::StreamVLN& model, const model::ActionCodec& codec,
                                const Trajectory& t, double advantage,
                                const TrajectoryTargets& targets, const UpdateOptions& o);

class PolicyUpdater {
 public:
  // `params` are the trainable parameters (the LoRA adapters, or all for full training);
  // `optimizer` owns them.
  PolicyUpdater(model::StreamVLN& model, const model::ActionCodec& codec,
                std::vector<torch::Tensor> params, torch::optim::Optimizer& optimizer);
  // advantages[i] belongs to trajectories[i].
  UpdateStats update(const std::vector<Trajectory>& trajectories,
                     const std::vector<double>& advantages, const UpdateOptions& o);

 private:
  // update()'s pass over the policy's trajectories in mini-batches of mini_batch_size.
  UpdateStats updateByTrajectoryBatches(const std::vector<Trajectory>& trajectories,
                                        const std::vector<double>& advantages,
                                        const std::vector<TrajectoryTargets>& targets,
                                        const std::vector<TrajectoryTargets>& demo_targets,
                                        const UpdateOptions& o, UpdateStats st);
  // update() with step_mini_batches.
  UpdateStats updateByStepBatches(const std::vector<Trajectory>& trajectories,
                                  const std::vector<double>& advantages,
                                  const std::vector<TrajectoryTargets>& targets,
                                  const std::vector<TrajectoryTargets>& demo_targets,
                                  const UpdateOptions& o, UpdateStats st);
  // The demonstrations' own pass (two_phase, failures_only), its steps and figures added
  // to `st`.
  UpdateStats demonstrationPass(const std::vector<Trajectory>& trajectories,
                                const std::vector<TrajectoryTargets>& demo_targets,
                                const UpdateOptions& o, UpdateStats st);
  void allReduceGrads(const DistContext& dist, int64_t bucket_bytes);
  model::StreamVLN& model_;
  const model::ActionCodec& codec_;
  std::vector<torch::Tensor> params_;
  torch::optim::Optimizer& optimizer_;
};

// Three updates in a row with a skipped (NaN/Inf) step stop the run.
class NonFiniteGuard {
 public:
  static constexpr int kMaxConsecutive = 3;
  // Records one update; throws std::runtime_error after kMaxConsecutive bad ones in a row.
  void record(int64_t update, bool had_nonfinite);
  int consecutive() const { return consecutive_; }
  void restore(int consecutive) { consecutive_ = consecutive; }

 private:
  int consecutive_ = 0;
};

}  // namespace svln::rl
