#include "rl/update.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>

#include "model/lora.h"
#include "model/stream_session.h"
#include "rl/losses.h"

namespace svln::rl {
namespace {

bool anyRequiresGrad(torch::nn::Module& m) {
  for (const auto& p : m.parameters())
    if (p.requires_grad()) return true;
  return false;
}

// Encoded frames of a window's <image>s and its memory block, as the session built them.
struct WindowInputs {
  std::vector<torch::Tensor> images;
  torch::Tensor memory;
};

WindowInputs encodeWindow(model::StreamVLN& model, const Trajectory& t,
                          const model::WindowRecord& win, bool with_grad) {
  // The vision side only needs a graph when some of its parameters train.
  std::unique_ptr<torch::NoGradGuard> no_grad;
  if (!with_grad) no_grad = std::make_unique<torch::NoGradGuard>();
  WindowInputs in;
  if (!win.image_steps.empty()) {
    std::vector<torch::Tensor> f;
    for (int64_t s : win.image_steps) f.push_back(t.frames.at(static_cast<size_t>(s)));
    in.images = model.encodeFrames(torch::stack(f)).unbind(0);
  }
  if (!win.memory_steps.empty()) {
    std::vector<torch::Tensor> m;
    for (int64_t s : win.memory_steps) m.push_back(t.frames.at(static_cast<size_t>(s)));
    in.memory = model.encodeFrames(torch::stack(m)).flatten(0, 1);  // [F*tokens, hidden]
  }
  return in;
}

torch::Tensor boolTensor(const std::vector<bool>& v) {
  auto out = torch::zeros({static_cast<int64_t>(v.size())}, torch::kBool);
  auto a = out.accessor<bool, 1>();
  for (size_t i = 0; i < v.size(); ++i) a[static_cast<int64_t>(i)] = v[i];
  return out;
}

// Per-window rows of the answer tokens a trajectory's loss needs.
struct WindowRows {
  std::vector<int32_t> positions;  // ids indices
  std::vector<bool> allow_end;
  std::map<int32_t, int64_t> row_of;  // answer-token index -> row
};

// Alphabet log-probabilities (at `temperature`) of answer tokens `which`, stacked in order.
torch::Tensor gatherRows(const std::vector<torch::Tensor>& per_window_lp,
                         const std::vector<WindowRows>& rows, const Trajectory& t,
                         const std::vector<int32_t>& which) {
  std::vector<torch::Tensor> out;
  out.reserve(which.size());
  for (int32_t a : which) {
    const model::AnswerToken& tok = t.answer_tokens.at(static_cast<size_t>(a));
    out.push_back(per_window_lp.at(tok.window)[rows.at(tok.window).row_of.at(a)]);
  }
  return torch::stack(out);  // [N, 5]
}

// The update's figures as means over its applied steps, and its clip fraction.
void finishStats(UpdateStats& st, int clipped, int clip_tokens) {
  if (st.steps_applied > 0) {
    st.grpo_loss /= st.steps_applied;
    st.sft_loss /= st.steps_applied;
    st.kl /= st.steps_applied;
    st.entropy /= st.steps_applied;
    st.demo_loss /= st.steps_applied;
    st.grad_norm /= st.steps_applied;
  }
  st.clip_fraction = clip_tokens > 0 ? static_cast<double>(clipped) / clip_tokens : 0.0;
}

// The figures of one mini-batch, added to the update's when its step is applied.
struct MiniBatchFigures {
  double grpo = 0, sft = 0, kl = 0, entropy = 0, demo_loss = 0;
  int clipped = 0;  // policy tokens whose ratio was clipped
  int tokens = 0;   // policy tokens the clip fraction counts
};

// Clips the gradient and takes the optimizer step, or drops the mini-batch (`where`, for the
// warning) when its loss (`bad_loss`) or its gradient norm is not finite. An applied step's
// figures and gradient norm go into `st`, its clip counts into `clipped`/`clip_tokens`.
void stepOrSkip(torch::optim::Optimizer& optimizer, std::vector<torch::Tensor>& params,
                double max_grad_norm, bool bad_loss, const std::string& where,
                const MiniBatchFigures& f, UpdateStats& st, int& clipped, int& clip_tokens) {
  double norm = 0;
  bool bad = bad_loss;
  if (!bad) {
    norm = torch::nn::utils::clip_grad_norm_(params, max_grad_norm);
    bad = !std::isfinite(norm);
  }
  if (bad) {
    optimizer.zero_grad();
    ++st.steps_skipped;
    spdlog::warn("update step skipped: NaN/Inf {} in {}", bad_loss ? "loss" : "gradient", where);
    return;
  }
  optimizer.step();
  ++st.steps_applied;
  st.grpo_loss += f.grpo;
  st.sft_loss += f.sft;
  st.kl += f.kl;
  st.entropy += f.entropy;
  st.demo_loss += f.demo_loss;
  st.grad_norm += norm;
  clipped += f.clipped;
  clip_tokens += f.tokens;
}

}  // namespace

std::vector<double> trajectoryAdvantages(const std::vector<double>& returns, int group_size,
                                         RunningBaseline& baseline, io::AdvantageStd std_kind) {
  if (group_size < 1 || returns.size() % static_cast<size_t>(group_size) != 0)
    throw std::invalid_argument("trajectoryAdvantages: returns must fill whole groups");
  std::vector<double> adv(returns.size());
  if (group_size == 1) {
    for (size_t i = 0; i < returns.size(); ++i) {
      adv[i] = baseline.advantage(returns[i]);
      baseline.update(returns[i]);
    }
    return adv;
  }
  for (size_t g = 0; g < returns.size(); g += static_cast<size_t>(group_size)) {
    const std::vector<double> grp(returns.begin() + static_cast<long>(g),
                                  returns.begin() + static_cast<long>(g) + group_size);
    const std::vector<double> a = groupAdvantages(grp, std_kind);
    std::copy(a.begin(), a.end(), adv.begin() + static_cast<long>(g));
  }
  return adv;
}

TrajectoryTargets collectTargets(const Trajectory& t, const model::ActionCodec& codec,
                                 const UpdateOptions& o) {
  TrajectoryTargets g;
  for (size_t i = 0; i < t.answer_tokens.size() && !o.disable_grpo && t.grpo; ++i) {
    const model::AnswerToken& a = t.answer_tokens[i];
    if (a.source == model::TokenSource::kPolicy && model::alphabetColumn(codec, a.token) >= 0)
      g.policy.push_back(static_cast<int32_t>(i));
  }
  for (size_t step = 0; step < t.steps.size(); ++step) {
    const StepRecord& s = t.steps[step];
    if (!s.label_valid || s.answer_token < 0) continue;
    const bool expert = s.source == expert::Source::Expert;
    const bool false_stop = o.sft_false_stop_labels && !expert && s.action == sim::Action::Stop &&
                            s.distance_to_goal > o.success_distance;
    if (o.sft_oracle_only && !expert && !false_stop) continue;
    const int col = model::alphabetColumn(codec, codec.firstToken(static_cast<int>(s.expert_label)));
    if (col < 0) continue;
    g.sft.push_back(s.answer_token);
    g.sft_column.push_back(col);
    g.sft_weight.push_back(expert || false_stop ? o.expert_step_weight : 1.0);
    g.sft_step.push_back(static_cast<int>(step));
  }
  return g;
}

TrajectoryTerms trajectoryTerms(model::StreamVLN& model, const model::ActionCodec& codec,
                                const Trajectory& t, double advantage,
                                const TrajectoryTargets& targets, const UpdateOptions& o) {
  TrajectoryTerms terms;
  // Every tensor of the loss lives where the model does (the GPU when it trains there).
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(model.device());
  const auto index_opts = torch::TensorOptions().dtype(torch::kLong).device(model.device());
  terms.grpo_sum = torch::zeros({}, opts);
  terms.sft_sum = torch::zeros({}, opts);
  terms.kl_sum = torch::zeros({}, opts);
  terms.entropy_sum = torch::zeros({}, opts);
  const bool need_sft = o.use_hybrid && !targets.sft.empty();
  if (targets.policy.empty() && !need_sft) return terms;

  std::vector<WindowRows> rows(t.windows.size());
  auto add = [&](int32_t a) {
    const model::AnswerToken& tok = t.answer_tokens.at(static_cast<size_t>(a));
    WindowRows& r = rows.at(tok.window);
    if (r.row_of.count(a)) return;
    r.row_of[a] = static_cast<int64_t>(r.positions.size());
    r.positions.push_back(tok.ids_index);
    r.allow_end.push_back(tok.allow_end);
  };
  for (int32_t a : targets.policy) add(a);
  if (need_sft)
    for (int32_t a : targets.sft) add(a);

  const bool vision_grad = anyRequiresGrad(*model.vision_tower) || anyRequiresGrad(*model.mm_projector);
  std::vector<torch::Tensor> lp_sample(t.windows.size()), lp_unit(t.windows.size());
  std::vector<torch::Tensor> lp_ref(t.windows.size());
  const bool need_kl = o.kl_coef > 0 && !targets.policy.empty();
  // The trajectory's windows are recomputed together, packed into padded batches.
  std::vector<size_t> used;
  for (size_t w = 0; w < t.windows.size(); ++w)
    if (!rows[w].positions.empty()) used.push_back(w);
  auto requests = [&](bool grad) {
    std::vector<model::WindowLogitsRequest> req;
    for (size_t w : used) {
      WindowInputs in = encodeWindow(model, t, t.windows[w], grad);
      model::WindowLogitsRequest r;
      r.window = &t.windows[w];
      r.frame_tokens = std::move(in.images);
      r.memory = in.memory;
      r.positions = rows[w].positions;
      req.push_back(std::move(r));
    }
    return req;
  };
  const std::vector<torch::Tensor> logits =
      model::windowLogitsBatch(model, requests(vision_grad), o.max_batch_tokens);  // [P, vocab]
  std::vector<torch::Tensor> ref_logits;
  if (need_kl) {
    torch::NoGradGuard no_grad;
    model::LoraDisabledGuard base(model.root());
    ref_logits = model::windowLogitsBatch(model, requests(false), o.max_batch_tokens);
  }
  for (size_t k = 0; k < used.size(); ++k) {
    const size_t w = used[k];
    const torch::Tensor allow = boolTensor(rows[w].allow_end);
    lp_sample[w] = model::alphabetLogProbs(logits[k], codec, allow, o.temperature);
    if (need_sft) lp_unit[w] = model::alphabetLogProbs(logits[k], codec, allow, 1.0);
    if (need_kl) lp_ref[w] = model::alphabetLogProbs(ref_logits[k], codec, allow, o.temperature);
  }

  if (!targets.policy.empty()) {
    const auto n = static_cast<int64_t>(targets.policy.size());
    std::vector<int64_t> cols;
    std::vector<float> old;
    for (int32_t a : targets.policy) {
      const model::AnswerToken& tok = t.answer_tokens[static_cast<size_t>(a)];
      cols.push_back(model::alphabetColumn(codec, tok.token));
      old.push_back(o.zero_old_logprob ? 0.f : tok.logp);
    }
    const torch::Tensor col_t = torch::tensor(cols, torch::kLong).to(index_opts.device()).unsqueeze(1);
    const torch::Tensor rows_lp = gatherRows(lp_sample, rows, t, targets.policy);  // [N, 5]
    const torch::Tensor logp = rows_lp.gather(1, col_t).squeeze(1);
    if (o.entropy_coef > 0) terms.entropy_sum = actionEntropy(rows_lp).sum();
    const torch::Tensor old_t = torch::tensor(old, torch::kFloat).to(opts.device());
    const torch::Tensor adv = torch::full({n}, advantage, opts);
    terms.grpo_sum = grpoLoss(logp, old_t, adv, o.clip_eps) * static_cast<double>(n);
    terms.clipped = static_cast<int>(std::lround(clipFraction(logp.detach(), old_t, o.clip_eps) * n));
    terms.policy_tokens = static_cast<int>(n);
    terms.logp = logp.detach();
    if (need_kl) {
      const torch::Tensor ref = gatherRows(lp_ref, rows, t, targets.policy).gather(1, col_t).squeeze(1);
      terms.kl_sum = klPenalty(logp, ref) * static_cast<double>(n);
    }
  }
  if (need_sft) {
    const torch::Tensor logits = gatherRows(lp_unit, rows, t, targets.sft);  // [S, 5]
    std::vector<int64_t> labels(targets.sft_column.begin(), targets.sft_column.end());
    std::vector<float> weights(targets.sft_weight.begin(), targets.sft_weight.end());
    for (double w : targets.sft_weight) terms.sft_weight_sum += w;
    // sftLoss is the weighted mean; the mini-batch divides the sum by its own weight total.
    terms.sft_sum = sftLoss(logits, torch::tensor(labels, torch::kLong).to(index_opts.device()),
                            torch::tensor(weights, torch::kFloat).to(opts.device())) *
                    terms.sft_weight_sum;
  }
  return terms;
}

PolicyUpdater::PolicyUpdater(model::StreamVLN& model, const model::ActionCodec& codec,
                             std::vector<torch::Tensor> params, torch::optim::Optimizer& optimizer)
    : model_(model), codec_(codec), params_(std::move(params)), optimizer_(optimizer) {}

UpdateStats PolicyUpdater::update(const std::vector<Trajectory>& trajectories,
                                  const std::vector<double>& advantages, const UpdateOptions& o) {
  if (advantages.size() != trajectories.size())
    throw std::invalid_argument("PolicyUpdater::update: one advantage per trajectory");
  if (o.mini_batch_size < 1 || o.ppo_epochs < 1)
    throw std::invalid_argument("PolicyUpdater::update: mini_batch_size and ppo_epochs >= 1");
  if (!(o.token_norm > 0))
    throw std::invalid_argument("PolicyUpdater::update: token_norm must be > 0");
  if (o.accumulation < 1)
    throw std::invalid_argument("PolicyUpdater::update: accumulation must be >= 1");
  // The demonstrations train apart from the policy's tokens: as their own term of the same
  // steps (demo_loss_separate) or in their own pass (two_phase, failures_only).
  const bool own_pass = o.two_phase || o.failures_only;
  const bool decay_weights = o.demo_loss_separate || own_pass;
  std::vector<TrajectoryTargets> targets, demo_targets;
  UpdateStats st;
  for (const Trajectory& t : trajectories) {
    targets.push_back(collectTargets(t, codec_, o));
    if (!o.failures_only) {
      st.policy_tokens += static_cast<int>(targets.back().policy.size());
      st.sft_tokens += static_cast<int>(targets.back().sft.size());
    }
    // A rollback's demonstration (every step the expert's) is SFT data of its trajectory,
    // or the data of its own term or pass, weighted by decay.
    demo_targets.emplace_back();
    if (t.rollback_demo && (o.use_hybrid || decay_weights)) {
      TrajectoryTargets& d = demo_targets.back();
      d = collectTargets(*t.rollback_demo, codec_, o);
      if (decay_weights) {
        const std::vector<double> w =
            demonstrationWeights(t.rollback_demo->steps.size(), o.demo_start_weight);
        for (size_t k = 0; k < d.sft.size(); ++k)
          d.sft_weight[k] = w.at(static_cast<size_t>(d.sft_step[k]));
        st.demo_tokens += static_cast<int>(d.sft.size());
      } else {
        st.sft_tokens += static_cast<int>(d.sft.size());
      }
    }
  }
  if (own_pass) {
    if (o.dist != nullptr && o.dist->distributed())
      throw std::invalid_argument("--update_mode two_phase / --sft_on_failures: one process only");
    if (o.failures_only) return demonstrationPass(trajectories, demo_targets, o, st);
    // Pass 1: the update without its demonstrations; pass 2: the demonstrations alone.
    const std::vector<TrajectoryTargets> none(trajectories.size());
    UpdateOptions first = o;
    first.demo_loss_separate = false;
    st = o.step_mini_batches
             ? updateByStepBatches(trajectories, advantages, targets, none, first, st)
             : updateByTrajectoryBatches(trajectories, advantages, targets, none, first, st);
    return demonstrationPass(trajectories, demo_targets, o, st);
  }
  if (o.step_mini_batches)
    return updateByStepBatches(trajectories, advantages, targets, demo_targets, o, st);
  return updateByTrajectoryBatches(trajectories, advantages, targets, demo_targets, o, st);
}

UpdateStats PolicyUpdater::updateByTrajectoryBatches(
    const std::vector<Trajectory>& trajectories, const std::vector<double>& advantages,
    const std::vector<TrajectoryTargets>& targets,
    const std::vector<TrajectoryTargets>& demo_targets, const UpdateOptions& o, UpdateStats st) {
  const size_t n = trajectories.size();
  const auto mbs = static_cast<size_t>(o.mini_batch_size);
  const size_t total = o.shard_total > 0 ? o.shard_total : n;
  const size_t first = o.shard_total > 0 ? o.shard_begin : 0;  // global index of trajectory 0
  if (first + n > total)
    throw std::invalid_argument("PolicyUpdater::update: shard outside the update");
  const bool dp = o.dist != nullptr && o.dist->distributed();
  // Each rank's loss is scaled by world so that all-reduce's mean is the sum over ranks.
  const double rank_scale = dp ? static_cast<double>(o.dist->worldSize()) : 1.0;
  int clipped = 0, clip_tokens = 0;
  for (int epoch = 0; epoch < o.ppo_epochs; ++epoch) {
    for (size_t gb = 0; gb < total; gb += mbs) {
      // Global mini-batch [gb, ge); this rank holds its part [b, e) in local indices.
      const size_t ge = std::min(total, gb + mbs);
      const size_t b = std::clamp(gb, first, first + n) - first;
      const size_t e = std::clamp(ge, first, first + n) - first;
      const bool per_sequence = o.aggregation != io::LossAggMode::TokenMean;
      double n_pol = 0, w_sft = 0, mb_tokens = 0, w_demo = 0;
      for (size_t i = b; i < e; ++i) {
        // The sequence modes count trajectories with policy tokens, kToken the tokens.
        const double k = static_cast<double>(targets[i].policy.size());
        mb_tokens += k;
        n_pol += per_sequence ? (k > 0 ? 1.0 : 0.0) : k;
        for (double w : targets[i].sft_weight) w_sft += w;
        for (double w : demo_targets[i].sft_weight) (o.demo_loss_separate ? w_demo : w_sft) += w;
      }
      if (dp) {
        std::vector<double> v = {n_pol, w_sft, mb_tokens};
        if (o.demo_loss_separate) v.push_back(w_demo);
        const auto sums = o.dist->reduceMetrics(v, MetricReduce::kSum);
        n_pol = sums[0];
        w_sft = sums[1];
        mb_tokens = sums[2];  // clip_fraction's denominator, like the summed clip counts
        if (o.demo_loss_separate) w_demo = sums[3];
      }
      // kTokenSumNorm: the SFT sum over the same constant as the surrogate's (token_norm
      // per trajectory of the mini-batch), so a label weighs what a policy token does.
      if (o.sft_token_sum_norm && w_sft > 0)
        w_sft = o.token_norm * static_cast<double>(ge - gb);
      optimizer_.zero_grad();
      double grpo = 0, sft = 0, kl = 0, entropy = 0, demo_loss = 0;
      int mb_clipped = 0;
      bool bad = false;
      for (size_t i = b; i < e && !bad; ++i) {
        TrajectoryTerms tt = trajectoryTerms(model_, codec_, trajectories[i], advantages[i],
                                             targets[i], o);
        torch::Tensor demo_sum;
        if (!demo_targets[i].sft.empty()) {
          UpdateOptions od = o;
          od.use_hybrid = true;  // the separate term needs the CE without hybrid training too
          const TrajectoryTerms demo = trajectoryTerms(model_, codec_, *trajectories[i].rollback_demo,
                                                       0.0, demo_targets[i], od);
          if (o.demo_loss_separate)
            demo_sum = demo.sft_sum;
          else
            tt.sft_sum = tt.sft_sum + demo.sft_sum;
        }
        // L = (sum GRPO)/N_pol + w (sum w_t CE_t)/W_sft + kl_coef (sum k3)/N_pol, where a
        // sequence-mode term is first divided by its own token count (kSequence) or the
        // constant token_norm (kSequenceSumNorm), and N_pol counts trajectories.
        double own = 1.0;
        if (o.aggregation == io::LossAggMode::SeqMeanTokenMean)
          own = std::max(1, tt.policy_tokens);
        else if (o.aggregation == io::LossAggMode::SeqMeanTokenSumNorm)
          own = o.token_norm;
        torch::Tensor loss = torch::zeros({});
        if (n_pol > 0) loss = loss + (tt.grpo_sum + o.kl_coef * tt.kl_sum) / (own * n_pol);
        if (n_pol > 0 && o.entropy_coef > 0)
          loss = loss - o.entropy_coef * tt.entropy_sum / (own * n_pol);
        if (o.use_hybrid && w_sft > 0) loss = loss + o.sft_weight * tt.sft_sum / w_sft;
        if (demo_sum.defined() && w_demo > 0) loss = loss + o.demo_coef * demo_sum / w_demo;
        const double lv = loss.item<double>();
        if (!std::isfinite(lv)) {
          bad = true;
          break;
        }
        if (loss.requires_grad()) (dp ? loss * rank_scale : loss).backward();
        if (n_pol > 0) grpo += tt.grpo_sum.item<double>() / (own * n_pol);
        if (n_pol > 0) kl += tt.kl_sum.item<double>() / (own * n_pol);
        if (n_pol > 0) entropy += tt.entropy_sum.item<double>() / (own * n_pol);
        if (w_sft > 0) sft += tt.sft_sum.item<double>() / w_sft;
        if (demo_sum.defined() && w_demo > 0) demo_loss += demo_sum.item<double>() / w_demo;
        mb_clipped += tt.clipped;
      }
      if (dp) {
        // One verdict for all ranks (a rank that skipped alone would leave the others
        // waiting in the gradient all-reduce), and the mini-batch's figures summed.
        std::vector<double> v = {bad ? 1.0 : 0.0, grpo, sft, kl, double(mb_clipped), entropy};
        if (o.demo_loss_separate) v.push_back(demo_loss);
        const auto r = o.dist->reduceMetrics(v, MetricReduce::kSum);
        if (o.demo_loss_separate) demo_loss = r[6];
        bad = r[0] > 0;
        grpo = r[1];
        sft = r[2];
        kl = r[3];
        mb_clipped = static_cast<int>(std::lround(r[4]));
        entropy = r[5];
        if (!bad) allReduceGrads(*o.dist, o.bucket_bytes);
      }
      stepOrSkip(optimizer_, params_, o.max_grad_norm, bad,
                 fmt::format("mini-batch [{}, {})", gb, ge),
                 {grpo, sft, kl, entropy, demo_loss, mb_clipped, static_cast<int>(mb_tokens)}, st,
                 clipped, clip_tokens);
    }
  }
  finishStats(st, clipped, clip_tokens);
  return st;
}

namespace {

// One target of a step mini-batch: entry k of trajectory `traj`'s policy or SFT targets, of
// its rollback demonstration's with `demo`.
struct StepRef {
  size_t traj = 0;
  size_t k = 0;
  bool demo = false;
};

// Up to m distinct entries of `pool`, drawn uniformly (random.sample's role in G:).
std::vector<StepRef> drawSteps(const std::vector<StepRef>& pool, size_t m, std::mt19937_64& rng) {
  std::vector<size_t> idx(pool.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  std::vector<StepRef> out;
  for (size_t i = 0; i < std::min(m, idx.size()); ++i) out.push_back(pool[idx[i]]);
  return out;
}

}  // namespace

UpdateStats PolicyUpdater::updateByStepBatches(const std::vector<Trajectory>& trajectories,
                                               const std::vector<double>& advantages,
                                               const std::vector<TrajectoryTargets>& targets,
                                               const std::vector<TrajectoryTargets>& demo_targets,
                                               const UpdateOptions& o, UpdateStats st) {
  if (o.dist != nullptr && o.dist->distributed())
    throw std::invalid_argument("--mini_batch_unit: steps runs in one process only");
  std::mt19937_64 rng(o.step_seed);
  std::vector<StepRef> sft_pool, demo_pool;
  for (size_t i = 0; i < trajectories.size(); ++i) {
    for (size_t k = 0; k < targets[i].sft.size(); ++k) sft_pool.push_back({i, k, false});
    for (size_t k = 0; k < demo_targets[i].sft.size(); ++k)
      (o.demo_loss_separate ? demo_pool : sft_pool).push_back({i, k, true});
  }
  const size_t batch_size = std::min<size_t>(12, static_cast<size_t>(o.mini_batch_size));
  UpdateOptions no_sft = o;
  no_sft.use_hybrid = false;
  UpdateOptions with_sft = o;
  with_sft.use_hybrid = true;
  // The chosen SFT (or demonstration) entries of each trajectory as targets of their own,
  // with their weights (a separate demonstration term's are already its decay weights).
  auto sftTargets = [&](const std::vector<StepRef>& refs, bool demo, size_t i) {
    const TrajectoryTargets& from = demo ? demo_targets[i] : targets[i];
    TrajectoryTargets sub;
    for (const StepRef& r : refs) {
      if (r.traj != i || r.demo != demo) continue;
      sub.sft.push_back(from.sft[r.k]);
      sub.sft_column.push_back(from.sft_column[r.k]);
      sub.sft_weight.push_back(from.sft_weight[r.k]);
      sub.sft_step.push_back(from.sft_step[r.k]);
    }
    return sub;
  };
  int clipped = 0, clip_tokens = 0;
  for (int epoch = 0; epoch < o.ppo_epochs; ++epoch) {
    // Policy tokens by episode group, shuffled within it and cut into batches; then the
    // batches are shuffled across groups (G:2147-2157).
    std::map<int, std::vector<StepRef>> groups;
    for (size_t i = 0; i < trajectories.size(); ++i)
      for (size_t k = 0; k < targets[i].policy.size(); ++k)
        groups[trajectories[i].group].push_back({i, k, false});
    std::vector<std::vector<StepRef>> batches;
    for (auto& [g, refs] : groups) {
      std::shuffle(refs.begin(), refs.end(), rng);
      for (size_t b = 0; b < refs.size(); b += batch_size) {
        const size_t e = std::min(refs.size(), b + batch_size);
        batches.emplace_back(refs.begin() + static_cast<std::ptrdiff_t>(b),
                             refs.begin() + static_cast<std::ptrdiff_t>(e));
      }
    }
    std::shuffle(batches.begin(), batches.end(), rng);
    for (const std::vector<StepRef>& batch : batches) {
      optimizer_.zero_grad();
      const double nb = static_cast<double>(batch.size());
      double grpo = 0, entropy = 0, kl = 0, sft = 0, demo_loss = 0;
      int mb_clipped = 0;
      bool bad = false;
      auto backward = [&](const torch::Tensor& loss) {
        if (!std::isfinite(loss.item<double>())) bad = true;
        else if (loss.requires_grad()) loss.backward();
      };
      // Surrogate, entropy and KL: token means over the batch.
      for (size_t i = 0; i < trajectories.size() && !bad; ++i) {
        TrajectoryTargets sub;
        for (const StepRef& r : batch)
          if (r.traj == i) sub.policy.push_back(targets[i].policy[r.k]);
        if (sub.policy.empty()) continue;
        const TrajectoryTerms tt =
            trajectoryTerms(model_, codec_, trajectories[i], advantages[i], sub, no_sft);
        torch::Tensor loss = (tt.grpo_sum + o.kl_coef * tt.kl_sum) / nb;
        if (o.entropy_coef > 0) loss = loss - o.entropy_coef * tt.entropy_sum / nb;
        backward(loss);
        grpo += tt.grpo_sum.item<double>() / nb;
        kl += tt.kl_sum.item<double>() / nb;
        entropy += tt.entropy_sum.item<double>() / nb;
        mb_clipped += tt.clipped;
      }
      // SFT on min(batch, |S|) drawn labels: w(u) sum w' CE / m (G:2226-2268).
      if (o.use_hybrid && !sft_pool.empty() && !bad) {
        const std::vector<StepRef> drawn = drawSteps(sft_pool, batch.size(), rng);
        const double m = static_cast<double>(drawn.size());
        double num = 0, den = 0;
        for (size_t i = 0; i < trajectories.size() && !bad; ++i) {
          for (bool demo : {false, true}) {
            const TrajectoryTargets sub = sftTargets(drawn, demo, i);
            if (sub.sft.empty()) continue;
            const Trajectory& t = demo ? *trajectories[i].rollback_demo : trajectories[i];
            const TrajectoryTerms tt = trajectoryTerms(model_, codec_, t, 0.0, sub, with_sft);
            backward(o.sft_weight * tt.sft_sum / m);
            num += tt.sft_sum.item<double>();
            den += tt.sft_weight_sum;
          }
        }
        if (den > 0) sft = num / den;
      }
      // The demonstration term on min(2, |D|) drawn steps, decay-weighted (G:2274-2303).
      if (o.demo_loss_separate && !demo_pool.empty() && !bad) {
        const std::vector<StepRef> drawn = drawSteps(demo_pool, 2, rng);
        double wsum = 0;
        std::vector<std::pair<size_t, TrajectoryTargets>> subs;
        for (size_t i = 0; i < trajectories.size(); ++i) {
          TrajectoryTargets sub = sftTargets(drawn, true, i);
          if (sub.sft.empty()) continue;
          for (double w : sub.sft_weight) wsum += w;
          subs.emplace_back(i, std::move(sub));
        }
        for (const auto& [i, sub] : subs) {
          if (bad) break;
          const TrajectoryTerms tt =
              trajectoryTerms(model_, codec_, *trajectories[i].rollback_demo, 0.0, sub, with_sft);
          backward(o.demo_coef * tt.sft_sum / wsum);
          demo_loss += tt.sft_sum.item<double>() / wsum;
        }
      }
      stepOrSkip(optimizer_, params_, o.max_grad_norm, bad, "a step mini-batch",
                 {grpo, sft, kl, entropy, demo_loss, mb_clipped, static_cast<int>(batch.size())},
                 st, clipped, clip_tokens);
    }
  }
  finishStats(st, clipped, clip_tokens);
  return st;
}

UpdateStats PolicyUpdater::demonstrationPass(const std::vector<Trajectory>& trajectories,
                                             const std::vector<TrajectoryTargets>& demo_targets,
                                             const UpdateOptions& o, UpdateStats st) {
  // Batches of (trajectory, entry) references into demo_targets, in training order.
  std::mt19937_64 rng(o.step_seed ^ 0x2545F4914F6CDD1Dull);  // not the first pass's draws
  std::vector<std::vector<StepRef>> batches;
  if (o.failures_only) {
    // Each demonstration in segments of consecutive labelled steps (F:1427-1520), shuffled.
    for (size_t i = 0; i < trajectories.size(); ++i)
      for (size_t b = 0; b < demo_targets[i].sft.size(); b += kFailureSegmentSteps) {
        batches.emplace_back();
        for (size_t k = b; k < std::min(demo_targets[i].sft.size(), b + kFailureSegmentSteps); ++k)
          batches.back().push_back({i, k, true});
      }
  } else {
    // Each episode group's steps shuffled and cut into batches; the batches shuffled
    // (S:2632-2650).
    std::map<int, std::vector<StepRef>> groups;
    for (size_t i = 0; i < trajectories.size(); ++i)
      for (size_t k = 0; k < demo_targets[i].sft.size(); ++k)
        groups[trajectories[i].group].push_back({i, k, true});
    for (auto& [g, refs] : groups) {
      std::shuffle(refs.begin(), refs.end(), rng);
      for (size_t b = 0; b < refs.size(); b += kDemoBatchSteps)
        batches.emplace_back(refs.begin() + static_cast<std::ptrdiff_t>(b),
                             refs.begin() + static_cast<std::ptrdiff_t>(
                                                std::min(refs.size(), b + kDemoBatchSteps)));
    }
  }
  std::shuffle(batches.begin(), batches.end(), rng);

  UpdateOptions with_sft = o;
  with_sft.use_hybrid = true;  // trajectoryTerms computes the CE only for the SFT term
  const size_t accumulate = o.failures_only ? static_cast<size_t>(o.accumulation) : 1;
  UpdateStats pass;  // this pass's steps and summed figures
  int clipped = 0, clip_tokens = 0;
  double ce_means = 0;     // the batches' mean CEs, summed over the pending step
  size_t batches_in = 0;   // batches behind the pending step
  size_t batches_applied = 0;
  bool bad = false;
  optimizer_.zero_grad();
  for (size_t b = 0; b < batches.size(); ++b) {
    const std::vector<StepRef>& batch = batches[b];
    if (!bad) {
      // L_b = mean(w) mean(CE) (rl/losses.h), over the trajectories the batch touches.
      std::vector<double> w;
      for (const StepRef& r : batch) w.push_back(demo_targets[r.traj].sft_weight[r.k]);
      const double c = demoBatchCoefficient(w) / static_cast<double>(accumulate);
      double ce = 0;
      for (size_t i = 0; i < trajectories.size() && !bad; ++i) {
        TrajectoryTargets sub;
        for (const StepRef& r : batch) {
          if (r.traj != i) continue;
          sub.sft.push_back(demo_targets[i].sft[r.k]);
          sub.sft_column.push_back(demo_targets[i].sft_column[r.k]);
          sub.sft_weight.push_back(1.0);  // sft_sum = sum of the CEs
          sub.sft_step.push_back(demo_targets[i].sft_step[r.k]);
        }
        if (sub.sft.empty()) continue;
        const TrajectoryTerms tt =
            trajectoryTerms(model_, codec_, *trajectories[i].rollback_demo, 0.0, sub, with_sft);
        const torch::Tensor loss = c * tt.sft_sum;
        const double ce_sum = tt.sft_sum.item<double>();
        if (!std::isfinite(ce_sum)) bad = true;
        else if (loss.requires_grad()) loss.backward();
        ce += ce_sum;
      }
      ce_means += ce / static_cast<double>(batch.size());
    }
    ++batches_in;
    if (batches_in < accumulate && b + 1 < batches.size()) continue;
    const int applied = pass.steps_applied;
    stepOrSkip(optimizer_, params_, o.max_grad_norm, bad, "a demonstration batch",
               {0, 0, 0, 0, ce_means, 0, 0}, pass, clipped, clip_tokens);
    if (pass.steps_applied > applied) batches_applied += batches_in;
    optimizer_.zero_grad();
    ce_means = 0;
    batches_in = 0;
    bad = false;
  }
  // The pass's figures join the first pass's: its steps, their gradient norms in the mean.
  const int steps = st.steps_applied + pass.steps_applied;
  if (steps > 0)
    st.grad_norm = (st.grad_norm * st.steps_applied + pass.grad_norm) / static_cast<double>(steps);
  st.steps_applied = steps;
  st.steps_skipped += pass.steps_skipped;
  st.demo_loss = batches_applied > 0 ? pass.demo_loss / static_cast<double>(batches_applied) : 0.0;
  return st;
}

void PolicyUpdater::allReduceGrads(const DistContext& dist, int64_t bucket_bytes) {
  // A rank whose part of the mini-batch was empty has no gradients; it joins with zeros
  // for every parameter that has a gradient on some rank, so the buckets agree. A
  // parameter with no gradient anywhere stays without one (AdamW skips it, as it would in
  // one process).
  std::vector<double> has(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) has[i] = params_[i].grad().defined() ? 1.0 : 0.0;
  has = dist.reduceMetrics(has, MetricReduce::kSum);
  for (size_t i = 0; i < params_.size(); ++i)
    if (has[i] > 0 && !params_[i].grad().defined())
      params_[i].mutable_grad() = torch::zeros_like(params_[i]);
  dist.allReduceGradients(params_, bucket_bytes);
}

void NonFiniteGuard::record(int64_t update, bool had_nonfinite) {
  if (!had_nonfinite) {
    consecutive_ = 0;
    return;
  }
  ++consecutive_;
  spdlog::warn("update {}: NaN/Inf loss or gradient, step skipped ({} in a row)", update,
               consecutive_);
  if (consecutive_ >= kMaxConsecutive) {
    throw std::runtime_error("update " + std::to_string(update) + ": " +
                             std::to_string(consecutive_) +
                             " updates in a row had a NaN/Inf loss or gradient; stopping "
                             "(the last good checkpoint is intact)");
  }
}

}  // namespace svln::rl
