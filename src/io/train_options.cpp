#include "io/train_options.h"

#include <cmath>
#include <stdexcept>

namespace svln::io {

const char* phaseName(Phase p) {
  switch (p) {
    case Phase::Phase1Stop: return "phase1_stop";
    case Phase::Phase2Progress: return "phase2_progress";
    case Phase::Phase2Spl: return "phase2_spl";
    case Phase::Phase3Instruction: return "phase3_instruction";
  }
  return "?";
}

const char* decayTypeName(DecayType d) {
  switch (d) {
    case DecayType::Linear: return "linear";
    case DecayType::Cosine: return "cosine";
    case DecayType::Exponential: return "exponential";
  }
  return "?";
}

const char* recoveryModeName(RecoveryMode m) {
  return m == RecoveryMode::Takeover ? "takeover" : "rollback";
}

const char* followerRuleName(FollowerRule f) {
  switch (f) {
    case FollowerRule::Heading: return "heading";
    case FollowerRule::VlnCe: return "vlnce";
    case FollowerRule::Habitat: return "habitat";
  }
  return "?";
}

const char* lossAggModeName(LossAggMode m) {
  switch (m) {
    case LossAggMode::TokenMean: return "token-mean";
    case LossAggMode::SeqMeanTokenMean: return "seq-mean-token-mean";
    case LossAggMode::SeqMeanTokenSumNorm: return "seq-mean-token-sum-norm";
  }
  return "?";
}

const char* advantageStdName(AdvantageStd s) {
  switch (s) {
    case AdvantageStd::Sample: return "sample";
    case AdvantageStd::Population: return "population";
    case AdvantageStd::None: return "none";
  }
  return "?";
}

const char* checkpointNamingName(CheckpointNaming n) {
  return n == CheckpointNaming::Streamvln ? "streamvln" : "budvln";
}

void TrainOptions::validate() const {
  auto fail = [](const std::string& msg) { throw std::runtime_error(msg); };
  if (recovery_dist_thresh >= offtrack_dist_thresh) {
    fail("--recovery_dist_thresh: must be < --offtrack_dist_thresh (" +
         std::to_string(offtrack_dist_thresh) + "), got " + std::to_string(recovery_dist_thresh));
  }
  if (sft_loss_decay_type == DecayType::Exponential && !(sft_loss_start_weight > 0)) {
    fail("--sft_loss_start_weight: must be > 0 with --sft_loss_decay_type exponential "
         "(w = s (e/s)^p divides by it)");
  }
  if (budvln_rewards && phase == Phase::Phase2Progress) {
    fail("--rewards: budvln has no phase2_progress (BudVLN's phases: phase1_stop, phase2_spl, "
         "phase3_instruction)");
  }
  if (demo_loss_separate && !(sft_loss_start_weight > 0)) {
    fail("--demo_loss: separate needs --sft_loss_start_weight > 0 (the decay weights "
         "s (1/s)^(j/(n-1)) start there)");
  }
  if (greedy_probe && (!enable_recovery || recovery_mode != RecoveryMode::Rollback)) {
    fail("--greedy_probe: needs --recovery_mode rollback with the expert on (a failed probe "
         "is one that was rolled back)");
  }
  if (greedy_probe && (sft_only || use_deepspeed)) {
    fail(std::string("--greedy_probe: not with ") +
         (sft_only ? "--sft_only" : "--use_deepspeed (one process only)"));
  }
  const bool rollback_expert = enable_recovery && recovery_mode == RecoveryMode::Rollback;
  if (two_phase_update && !rollback_expert) {
    fail("--update_mode: two_phase needs --recovery_mode rollback with the expert on (its "
         "second pass trains the rollback demonstrations)");
  }
  if (two_phase_update && (sft_only || use_deepspeed)) {
    fail(std::string("--update_mode: two_phase not with ") +
         (sft_only ? "--sft_only" : "--use_deepspeed (one process only)"));
  }
  if ((two_phase_update || sft_on_failures) && !(sft_loss_start_weight > 0)) {
    fail(std::string(sft_on_failures ? "--sft_on_failures" : "--update_mode: two_phase") +
         " needs --sft_loss_start_weight > 0 (the demonstration's decay weights start there)");
  }
  if (sft_on_failures && !rollback_expert) {
    fail("--sft_on_failures: needs --recovery_mode rollback with the expert on (a failure is "
         "an episode that was rolled back)");
  }
  if (sft_on_failures && group_size != 1) {
    fail("--sft_on_failures: rolls each episode out once, greedily; needs --group_size 1, got " +
         std::to_string(group_size));
  }
  if (sft_on_failures && (use_hybrid_training || sft_only || greedy_probe || two_phase_update ||
                          use_deepspeed)) {
    fail(std::string("--sft_on_failures: trains the failures' demonstrations alone; not with ") +
         (use_hybrid_training ? "--use_hybrid_training"
          : sft_only          ? "--sft_only"
          : greedy_probe      ? "--greedy_probe"
          : two_phase_update  ? "--update_mode two_phase"
                              : "--use_deepspeed (one process only)"));
  }
  if (gradient_accumulation_steps != 1 && !sft_on_failures) {
    fail("--gradient_accumulation_steps: only --sft_on_failures accumulates gradients (the other "
         "updates step once per mini-batch)");
  }
  if (sft_only && !enable_recovery) {
    fail("--sft_only: needs the expert (--enable_recovery): with --disable_recovery no step is "
         "ever the expert's, so there is nothing to train on");
  }
  if (step_mini_batches && use_deepspeed) {
    fail("--mini_batch_unit: steps runs in one process, without --use_deepspeed");
  }
  if (use_deepspeed && deepspeed_config.empty()) {
    fail("--deepspeed_config: required with --use_deepspeed");
  }
  if (!deepspeed_config.empty() && !use_deepspeed) {
    fail("--deepspeed_config: given without --use_deepspeed");
  }
}

double sftWeight(const TrainOptions& o, int update) {
  const double s = o.sft_loss_start_weight;
  const double e = o.sft_loss_end_weight;
  const int d = o.sft_loss_decay_updates;
  if (update >= d) return e;
  const double t = static_cast<double>(update < 0 ? 0 : update) / d;
  switch (o.sft_loss_decay_type) {
    case DecayType::Linear: return s + (e - s) * t;
    case DecayType::Cosine: return e + (s - e) * (1.0 + std::cos(M_PI * t)) / 2.0;
    case DecayType::Exponential: return s * std::pow(e / s, t);
  }
  return e;
}

}  // namespace svln::io
