#include "model/stream_session.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "model/chat_template.h"
#include "model/stream_batch.h"

namespace svln::model {

namespace {
const char* kAssistantHeader = "<|im_start|>assistant\n";
}  // namespace

StreamSession::StreamSession(StreamVLN& model, const Tokenizer& tokenizer,
                             const ActionCodec& codec, StreamingConfig config, uint64_t seed)
    : model_(model), tokenizer_(tokenizer), codec_(codec), config_(config),
      phrase_rng_(seed), seed_(seed),
      own_slots_(std::make_unique<SlotKVCache>(model.lm->newSlotCache(1))),
      slots_(own_slots_.get()) {}

void StreamSession::useSlot(SlotKVCache* slots, int64_t slot) {
  if (!slots || slot < 0 || slot >= slots->numSlots())
    throw std::invalid_argument("StreamSession::useSlot: slot " + std::to_string(slot) +
                                " is not in the cache");
  own_slots_.reset();
  slots_ = slots;
  slot_ = slot;
  slots_->clear(slot_);
}

void StreamSession::reset(const std::string& instruction_text) {
  instruction_ = instruction_text;
  phrase_rng_.seed(seed_);
  step_ = 0;
  window_start_ = -1;
  in_turn_ = false;
  proposing_ = false;
  frames_.clear();
  windows_.clear();
  answer_.clear();
  slots_->clear(slot_);
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

std::vector<int64_t> StreamSession::turnFrameSteps() const {
  if (in_turn_) throw std::logic_error("StreamSession::beginTurn: the previous turn is open");
  if (static_cast<int64_t>(frames_.size()) <= step_) {
    throw std::logic_error("StreamSession::beginTurn: no frame observed for step " +
                           std::to_string(step_));
  }
  std::vector<int64_t> steps;
  const bool new_window = window_start_ < 0 || step_ >= window_start_ + config_.num_frames;
  if (new_window && step_ > 0) {
    for (int64_t i = 0; i < config_.num_history; ++i)
      steps.push_back(i * step_ / config_.num_history);  // steps 0, T/8, ..., 7T/8
  }
  steps.push_back(step_);
  return steps;
}

void StreamSession::beginTurn() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> frames;
  for (int64_t s : turnFrameSteps()) frames.push_back(frames_.at(s));
  beginTurn(model_.encodeFrames(torch::stack(frames)));
}

void StreamSession::beginTurn(const torch::Tensor& encoded) {
  const std::vector<int64_t> steps = turnFrameSteps();
  if (encoded.dim() != 3 || encoded.size(0) != static_cast<int64_t>(steps.size()))
    throw std::invalid_argument("StreamSession::beginTurn: expected " +
                                std::to_string(steps.size()) + " encoded frames");
  const bool new_window = window_start_ < 0 || step_ >= window_start_ + config_.num_frames;
  std::string prompt;
  if (new_window) {
    // A hard reset: a call that lands past a boundary still starts a window here.
    window_start_ = step_;
    windows_.emplace_back();
    slots_->clear(slot_);
    cached_ids_ = cached_images_ = 0;
    window_images_.clear();
    window_memory_ = torch::Tensor();
    const bool with_memory = step_ > 0;
    if (with_memory) {
      windows_.back().memory_steps.assign(steps.begin(), steps.end() - 1);
      window_memory_ = encoded.narrow(0, 0, config_.num_history).flatten(0, 1);
    }
    prompt = renderWindowPrompt(instruction_, with_memory, choosePhrase());
  } else {
    prompt = renderFollowUpPrompt(choosePhrase());
  }
  prompt += kAssistantHeader;
  WindowRecord& w = windows_.back();
  for (int id : tokenizer_.encode(prompt)) w.ids.push_back(id);
  w.image_steps.push_back(step_);
  window_images_.push_back(encoded[encoded.size(0) - 1]);
  answer_begin_ = w.ids.size();
  turn_answer_records_ = answer_.size();
  proposed_action_ends_.clear();
  proposal_.clear();
  in_turn_ = true;
}

SegmentInputs StreamSession::pendingInputs() const {
  const WindowRecord& w = windows_.back();
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
  return seg;
}

void StreamSession::pendingFed() {
  const WindowRecord& w = windows_.back();
  for (size_t i = cached_ids_; i < w.ids.size(); ++i)
    cached_images_ += w.ids[i] == model_.imageTokenId();
  cached_ids_ = w.ids.size();
}

void StreamSession::append(int token) { windows_.back().ids.push_back(token); }

void StreamSession::startProposal() {
  if (!in_turn_) throw std::logic_error("StreamSession::propose: no open turn");
  if (!proposed_action_ends_.empty() || !proposal_.empty())
    throw std::logic_error("StreamSession::propose: this turn already has a proposal");
  if (config_.num_future_steps < 1)
    throw std::logic_error("StreamSession::propose: num_future_steps must be positive");
  proposing_ = true;
}

void StreamSession::accept(const float* logp, const DecodeOptions& options,
                           std::mt19937_64& rng) {
  if (!proposing_) throw std::logic_error("StreamSession::accept: no proposal in progress");
  const bool allow_end = allowEnd();
  const int first = options.allow_stop ? 0 : 1, last = allow_end ? 4 : 3;
  int column = first;
  if (options.greedy) {
    for (int c = first + 1; c <= last; ++c)
      if (logp[c] > logp[column]) column = c;  // the first maximum, as argmax
  } else {
    // Inverse-CDF draw from the explicit RNG, so a seed reproduces a rollout.
    double total = 0.0;
    for (int c = first; c <= last; ++c) total += std::exp(logp[c]);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng) * total;
    double acc = 0.0;
    column = last;
    for (int c = first; c <= last; ++c) {
      acc += std::exp(logp[c]);
      if (u < acc) {
        column = c;
        break;
      }
    }
  }
  const int32_t window = static_cast<int32_t>(windows_.size() - 1);
  const int64_t proposed = static_cast<int64_t>(proposal_.size());
  AnswerToken rec;
  rec.window = window;
  rec.ids_index = static_cast<int32_t>(windows_.back().ids.size());
  rec.allow_end = allow_end;
  rec.logp = logp[column];
  rec.source = TokenSource::kPolicy;
  rec.step = step_ + proposed - (column == 4 ? 1 : 0);
  if (column == 4) {
    rec.token = codec_.imEnd();
    answer_.push_back(rec);
    append(codec_.imEnd());
    proposing_ = false;
    return;
  }
  rec.token = codec_.firstToken(column);
  rec.action = column;
  answer_.push_back(rec);
  for (int t : codec_.tokens(column)) append(t);  // tokens after the first are forced
  proposal_.push_back(column);
  proposed_action_ends_.push_back(windows_.back().ids.size());
  if (column == kActionStop || static_cast<int64_t>(proposal_.size()) >= config_.num_future_steps) {
    append(codec_.imEnd());  // forced after the last action
    proposing_ = false;
  }
}

std::vector<int> StreamSession::propose(const DecodeOptions& options, std::mt19937_64& rng) {
  proposeBatch({this}, {options}, {&rng});
  return proposal_;
}

void StreamSession::endTurn(int kept_policy, const std::vector<int>& expert_actions) {
  if (!in_turn_) throw std::logic_error("StreamSession::endTurn: no open turn");
  if (proposing_) throw std::logic_error("StreamSession::endTurn: the proposal is unfinished");
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
      slots_->truncate(slot_, model_.expandedLength(w.ids, 0, keep_ids));
      cached_ids_ = keep_ids;  // the dropped ids are answer tokens: no <image> among them
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
  return windowLogitsBatch(model, {{&window, frame_tokens, memory, positions}}).front();
}

std::vector<torch::Tensor> windowLogitsBatch(StreamVLN& model,
                                             const std::vector<WindowLogitsRequest>& requests,
                                             int64_t max_batch_tokens) {
  std::vector<torch::Tensor> out(requests.size());
  std::vector<torch::Tensor> embeds(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const WindowLogitsRequest& r = requests[i];
    SegmentInputs seg;
    seg.ids = &r.window->ids;
    seg.begin = 0;
    seg.end = r.window->ids.size();
    seg.images = r.frame_tokens;
    seg.memory = r.memory;
    embeds[i] = model.embedSegment(seg).squeeze(0);  // [L_i, hidden]
  }
  // Consecutive windows join a batch while (rows x longest) stays within the budget.
  size_t first = 0;
  while (first < requests.size()) {
    size_t last = first + 1;
    int64_t longest = embeds[first].size(0);
    while (last < requests.size()) {
      const int64_t l = std::max(longest, embeds[last].size(0));
      if (l * static_cast<int64_t>(last - first + 1) > max_batch_tokens) break;
      longest = l;
      ++last;
    }
    const int64_t b = static_cast<int64_t>(last - first);
    Qwen2Inputs in;
    if (b == 1) {
      in.inputs_embeds = embeds[first].unsqueeze(0);
    } else {
      std::vector<torch::Tensor> rows;
      std::vector<uint8_t> real(static_cast<size_t>(b * longest), 0);
      for (int64_t k = 0; k < b; ++k) {
        const torch::Tensor& e = embeds[first + static_cast<size_t>(k)];
        rows.push_back(torch::constant_pad_nd(e, {0, 0, 0, longest - e.size(0)}));
        std::fill_n(real.begin() + k * longest, e.size(0), 1);
      }
      in.inputs_embeds = torch::stack(rows);  // [B, T, hidden], right-padded
      in.key_padding_mask = torch::from_blob(real.data(), {b, longest}, torch::kUInt8)
                                .to(torch::kBool)
                                .to(in.inputs_embeds.device());
    }
    const torch::Tensor hidden = model.lm->hiddenStates(in);  // [B, T, hidden]
    for (int64_t k = 0; k < b; ++k) {
      const WindowLogitsRequest& r = requests[first + static_cast<size_t>(k)];
      std::vector<int64_t> idx;
      idx.reserve(r.positions.size());
      for (int32_t p : r.positions) idx.push_back(model.expandedLength(r.window->ids, 0, p) - 1);
      const torch::Tensor index = torch::tensor(idx, torch::kLong).to(hidden.device());
      out[first + static_cast<size_t>(k)] = model.lm->logits(hidden[k].index_select(0, index));
    }
    first = last;
  }
  return out;
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
