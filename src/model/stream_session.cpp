#include "model/stream_session.h"

#include <torch/torch.h>

#include <stdexcept>

#include "model/chat_template.h"

namespace svln::model {

namespace {
const char* kAssistantHeader = "<|im_start|>assistant\n";
}  // namespace

StreamSession::StreamSession(StreamVLN& model, const Tokenizer& tokenizer,
                             const ActionCodec& codec, StreamingConfig config, uint64_t seed)
    : model_(model), tokenizer_(tokenizer), codec_(codec), config_(config),
      phrase_rng_(seed), seed_(seed) {}

void StreamSession::reset(const std::string& instruction_text) {
  instruction_ = instruction_text;
  phrase_rng_.seed(seed_);
  step_ = 0;
  window_start_ = -1;
  in_turn_ = false;
  frames_.clear();
  windows_.clear();
  answer_.clear();
  cache_ = model_.lm->newCache();
  cached_ids_ = cached_images_ = 0;
  window_images_.clear();
  window_memory_ = torch::Tensor();
}

void StreamSession::observe(const torch::Tensor& rgb_u8) {
  frames_.push_back(rgb_u8.contiguous());
}

std::string StreamSession::choosePhrase() {
  return config_.fixed_phrase ? observationPhrases().front() : chooseObservationPhrase(phrase_rng_);
}

void StreamSession::beginTurn() {
  if (in_turn_) throw std::logic_error("StreamSession::beginTurn: the previous turn is open");
  if (static_cast<int64_t>(frames_.size()) <= step_) {
    throw std::logic_error("StreamSession::beginTurn: no frame observed for step " +
                           std::to_string(step_));
  }
  torch::NoGradGuard no_grad;
  const bool new_window = window_start_ < 0 || step_ >= window_start_ + config_.num_frames;
  std::string prompt;
  if (new_window) {
    // A hard reset: a call that lands past a boundary still starts a window here.
    window_start_ = step_;
    windows_.emplace_back();
    cache_ = model_.lm->newCache();
    cached_ids_ = cached_images_ = 0;
    window_images_.clear();
    window_memory_ = torch::Tensor();
    const bool with_memory = step_ > 0;
    if (with_memory) {
      std::vector<torch::Tensor> mem;
      for (int64_t i = 0; i < config_.num_history; ++i) {
        const int64_t s = i * step_ / config_.num_history;  // steps 0, T/8, ..., 7T/8
        windows_.back().memory_steps.push_back(s);
        mem.push_back(frames_[s]);
      }
      window_memory_ = model_.encodeFrames(torch::stack(mem)).flatten(0, 1);
    }
    prompt = renderWindowPrompt(instruction_, with_memory, choosePhrase());
  } else {
    prompt = renderFollowUpPrompt(choosePhrase());
  }
  prompt += kAssistantHeader;
  WindowRecord& w = windows_.back();
  for (int id : tokenizer_.encode(prompt)) w.ids.push_back(id);
  w.image_steps.push_back(step_);
  window_images_.push_back(model_.encodeFrames(frames_[step_].unsqueeze(0)).squeeze(0));
  answer_begin_ = w.ids.size();
  turn_answer_records_ = answer_.size();
  proposed_action_ends_.clear();
  in_turn_ = true;
}

torch::Tensor StreamSession::lastLogits() {
  WindowRecord& w = windows_.back();
  SegmentInputs seg;
  seg.ids = &w.ids;
  seg.begin = cached_ids_;
  seg.end = w.ids.size();
  size_t images_in_segment = 0;
  bool memory_in_segment = false;
  for (size_t i = seg.begin; i < seg.end; ++i) {
    images_in_segment += w.ids[i] == model_.imageTokenId();
    memory_in_segment |= w.ids[i] == model_.memoryTokenId();
  }
  for (size_t k = 0; k < images_in_segment; ++k) {
    seg.images.push_back(window_images_.at(cached_images_ + k));
  }
  if (memory_in_segment) seg.memory = window_memory_;
  Qwen2Inputs in;
  in.inputs_embeds = model_.embedSegment(seg);
  in.cache = &cache_;
  const torch::Tensor logits = model_.lm->forward(in, /*last_only=*/true);
  cached_ids_ = seg.end;
  cached_images_ += images_in_segment;
  return logits.reshape({-1}).to(torch::kFloat);
}

void StreamSession::append(int token) { windows_.back().ids.push_back(token); }

std::vector<int> StreamSession::propose(const DecodeOptions& options, std::mt19937_64& rng) {
  if (!in_turn_) throw std::logic_error("StreamSession::propose: no open turn");
  torch::NoGradGuard no_grad;
  std::vector<int> actions;
  const int32_t window = static_cast<int32_t>(windows_.size() - 1);
  bool ended = false;
  while (static_cast<int64_t>(actions.size()) < config_.num_future_steps) {
    const torch::Tensor logits = lastLogits();
    const bool allow_end = !actions.empty();
    const torch::Tensor logp =
        alphabetLogProbs(logits.unsqueeze(0), codec_, torch::tensor({allow_end}), options.temperature)
            .squeeze(0);
    int column = 0;
    if (options.greedy) {
      column = static_cast<int>(logp.argmax().item<int64_t>());
    } else {
      // Inverse-CDF draw from the explicit RNG, so a seed reproduces a rollout.
      const torch::Tensor p = logp.exp();
      const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      double acc = 0.0;
      column = allow_end ? 4 : 3;
      for (int c = 0; c <= (allow_end ? 4 : 3); ++c) {
        acc += p[c].item<double>();
        if (u < acc) {
          column = c;
          break;
        }
      }
    }
    AnswerToken rec;
    rec.window = window;
    rec.ids_index = static_cast<int32_t>(windows_.back().ids.size());
    rec.allow_end = allow_end;
    rec.logp = logp[column].item<float>();
    rec.source = TokenSource::kPolicy;
    rec.step = step_ + static_cast<int64_t>(actions.size()) - (column == 4 ? 1 : 0);
    if (column == 4) {
      rec.token = codec_.imEnd();
      answer_.push_back(rec);
      append(codec_.imEnd());
      ended = true;
      break;
    }
    rec.token = codec_.firstToken(column);
    rec.action = column;
    answer_.push_back(rec);
    for (int t : codec_.tokens(column)) append(t);  // tokens after the first are forced
    actions.push_back(column);
    proposed_action_ends_.push_back(windows_.back().ids.size());
    if (column == kActionStop) break;
  }
  if (!ended) append(codec_.imEnd());  // forced after the last action
  return actions;
}

void StreamSession::endTurn(int kept_policy, const std::vector<int>& expert_actions) {
  if (!in_turn_) throw std::logic_error("StreamSession::endTurn: no open turn");
  if (kept_policy < 0 || kept_policy > static_cast<int>(proposed_action_ends_.size())) {
    throw std::logic_error("StreamSession::endTurn: kept more actions than proposed");
  }
  WindowRecord& w = windows_.back();
  const bool all_kept = kept_policy == static_cast<int>(proposed_action_ends_.size());
  if (!(all_kept && expert_actions.empty())) {
    // Rewrite the answer: keep the executed policy prefix, drop the rest.
    const size_t keep_ids = kept_policy == 0 ? answer_begin_ : proposed_action_ends_[kept_policy - 1];
    size_t keep_records = turn_answer_records_;
    while (keep_records < answer_.size() &&
           static_cast<size_t>(answer_[keep_records].ids_index) < keep_ids) {
      ++keep_records;
    }
    answer_.resize(keep_records);
    w.ids.resize(keep_ids);
    if (cached_ids_ > keep_ids) {
      cache_.truncate(model_.expandedLength(w.ids, 0, keep_ids));
      cached_ids_ = keep_ids;
    }
    int64_t s = step_ + kept_policy;
    const int32_t window = static_cast<int32_t>(windows_.size() - 1);
    for (int a : expert_actions) {
      AnswerToken rec;
      rec.window = window;
      rec.ids_index = static_cast<int32_t>(w.ids.size());
      rec.token = codec_.firstToken(a);
      rec.action = a;
      rec.step = s++;
      rec.source = TokenSource::kExpert;
      answer_.push_back(rec);
      for (int t : codec_.tokens(a)) append(t);
    }
    append(codec_.imEnd());
  }
  step_ += kept_policy + static_cast<int64_t>(expert_actions.size());
  in_turn_ = false;
}

torch::Tensor windowLogits(StreamVLN& model, const WindowRecord& window,
                           const std::vector<torch::Tensor>& frame_tokens,
                           const torch::Tensor& memory, const std::vector<int32_t>& positions) {
  SegmentInputs seg;
  seg.ids = &window.ids;
  seg.begin = 0;
  seg.end = window.ids.size();
  seg.images = frame_tokens;
  seg.memory = memory;
  Qwen2Inputs in;
  in.inputs_embeds = model.embedSegment(seg);
  const torch::Tensor hidden = model.lm->hiddenStates(in).squeeze(0);  // [L, hidden]
  // Expanded row of each ids index: prefix sums of the rows each id expands to.
  std::vector<int64_t> rows;
  rows.reserve(positions.size());
  for (int32_t p : positions) rows.push_back(model.expandedLength(window.ids, 0, p) - 1);
  const torch::Tensor index = torch::tensor(rows, torch::kLong).to(hidden.device());
  return model.lm->logits(hidden.index_select(0, index));  // [P, vocab]
}

torch::Tensor alphabetLogProbs(const torch::Tensor& logits, const ActionCodec& codec,
                               const torch::Tensor& allow_end, double temperature) {
  std::vector<int64_t> cols;
  for (int a = 0; a < 4; ++a) cols.push_back(codec.firstToken(a));
  cols.push_back(codec.imEnd());
  const torch::Tensor idx = torch::tensor(cols, torch::kLong).to(logits.device());
  torch::Tensor l = logits.to(torch::kFloat).index_select(1, idx) / temperature;  // [P, 5]
  const torch::Tensor mask = allow_end.to(logits.device()).to(torch::kBool).logical_not();
  const torch::Tensor neg_inf = torch::full({}, -std::numeric_limits<float>::infinity(), l.options());
  l = torch::cat({l.slice(1, 0, 4), torch::where(mask.unsqueeze(1), neg_inf, l.slice(1, 4, 5))}, 1);
  return torch::log_softmax(l, 1);
}

int alphabetColumn(const ActionCodec& codec, int token) {
  if (token == codec.imEnd()) return 4;
  return codec.actionOfFirstToken(token);
}

}  // namespace svln::model
