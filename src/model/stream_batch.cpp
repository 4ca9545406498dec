#include "model/stream_batch.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace svln::model {

namespace {

struct PendingRow {
  size_t session = 0;  // index into the sessions
  SegmentInputs seg;
  int64_t length = 0;  // embedding rows the segment expands to
  bool text_only = true;
};

// Rows sorted by length, longest first, cut into calls: a row joins the current call while
// the padded size stays within max_batch_tokens and max_padding (or the call is short).
std::vector<std::vector<const PendingRow*>> packRows(const std::vector<PendingRow>& rows,
                                                     const BatchingConfig& config) {
  std::vector<const PendingRow*> order;
  for (const auto& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const PendingRow* a, const PendingRow* b) { return a->length > b->length; });
  std::vector<std::vector<const PendingRow*>> calls;
  int64_t real = 0;
  for (const PendingRow* r : order) {
    if (!calls.empty()) {
      auto& call = calls.back();
      const int64_t longest = call.front()->length;
      const int64_t padded = longest * static_cast<int64_t>(call.size() + 1);
      const bool fits = padded <= config.max_batch_tokens &&
                        (longest <= config.short_rows ||
                         static_cast<double>(padded) <= config.max_padding * (real + r->length));
      if (fits) {
        call.push_back(r);
        real += r->length;
        continue;
      }
    }
    calls.push_back({r});
    real = r->length;
  }
  // Slots in ascending order: consecutive slots are read from the cache without a copy.
  for (auto& call : calls) {
    std::sort(call.begin(), call.end(),
              [](const PendingRow* a, const PendingRow* b) { return a->session < b->session; });
  }
  return calls;
}

// One forward call over `call`; returns the alphabet log-probabilities [B, 5] on the host.
torch::Tensor forwardCall(StreamVLN& model, SlotKVCache& slots,
                          const std::vector<StreamSession*>& sessions,
                          const std::vector<DecodeOptions>& options,
                          const std::vector<const PendingRow*>& call) {
  const int64_t b = static_cast<int64_t>(call.size());
  int64_t t = 0;
  bool text_only = true;
  for (const PendingRow* r : call) {
    t = std::max(t, r->length);
    text_only &= r->text_only;
  }
  Qwen2Inputs in;
  in.slots = &slots;
  for (const PendingRow* r : call) {
    in.slot_rows.push_back(sessions[r->session]->slot());
    in.slot_new_tokens.push_back(r->length);
  }
  if (text_only) {  // decoding: one id tensor for the whole call (padding id 0)
    std::vector<int64_t> ids(static_cast<size_t>(b * t), 0);
    for (int64_t i = 0; i < b; ++i) {
      const SegmentInputs& seg = call[i]->seg;
      for (size_t j = seg.begin; j < seg.end; ++j) ids[i * t + (j - seg.begin)] = (*seg.ids)[j];
    }
    in.input_ids = torch::tensor(ids, torch::kLong).view({b, t}).to(model.device());
  } else {
    std::vector<torch::Tensor> rows;
    for (const PendingRow* r : call) {
      const torch::Tensor e = model.embedSegment(r->seg);  // [1, L, hidden]
      rows.push_back(torch::constant_pad_nd(e, {0, 0, 0, t - r->length}));
    }
    in.inputs_embeds = torch::cat(rows, 0);  // [B, T, hidden]
  }
  const torch::Tensor hidden = model.lm->hiddenStates(in);  // [B, T, hidden]
  std::vector<int64_t> last;
  for (int64_t i = 0; i < b; ++i) last.push_back(i * t + call[i]->length - 1);
  const torch::Tensor index = torch::tensor(last, torch::kLong).to(hidden.device());
  const torch::Tensor logits =
      model.lm->logits(hidden.reshape({b * t, -1}).index_select(0, index));  // [B, vocab]
  std::vector<uint8_t> allow;
  bool same_temperature = true;
  const double temperature = options[call[0]->session].temperature;
  for (const PendingRow* r : call) {
    allow.push_back(sessions[r->session]->allowEnd());
    same_temperature &= options[r->session].temperature == temperature;
  }
  const torch::Tensor allow_t = torch::tensor(allow, torch::kUInt8).to(torch::kBool);
  const ActionCodec& codec = sessions[call[0]->session]->codec();
  torch::Tensor logp;
  if (same_temperature) {
    logp = alphabetLogProbs(logits, codec, allow_t, temperature);
  } else {
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < b; ++i)
      parts.push_back(alphabetLogProbs(logits.narrow(0, i, 1), codec, allow_t.narrow(0, i, 1),
                                       options[call[i]->session].temperature));
    logp = torch::cat(parts, 0);
  }
  return logp.to(torch::kCPU, torch::kFloat).contiguous();  // the step's one host sync
}

}  // namespace

void beginTurns(const std::vector<StreamSession*>& sessions, const BatchingConfig& config) {
  if (sessions.empty()) return;
  torch::NoGradGuard no_grad;
  StreamVLN& model = sessions[0]->model();
  std::vector<torch::Tensor> frames;
  std::vector<int64_t> counts;
  bool same_shape = true;
  for (StreamSession* s : sessions) {
    const std::vector<int64_t> steps = s->turnFrameSteps();
    counts.push_back(static_cast<int64_t>(steps.size()));
    for (int64_t st : steps) {
      frames.push_back(s->frames().at(st));
      same_shape &= frames.back().sizes() == frames.front().sizes();
    }
  }
  if (!same_shape) {  // frames of different sizes cannot share a vision-tower call
    for (StreamSession* s : sessions) s->beginTurn();
    return;
  }
  std::vector<torch::Tensor> encoded;
  const int64_t total = static_cast<int64_t>(frames.size());
  const int64_t chunk = std::max<int64_t>(1, config.max_vision_frames);
  for (int64_t i = 0; i < total; i += chunk) {
    std::vector<torch::Tensor> part(frames.begin() + i,
                                    frames.begin() + std::min(total, i + chunk));
    encoded.push_back(model.encodeFrames(torch::stack(part)));
  }
  const torch::Tensor all = torch::cat(encoded, 0);  // [F, tokens, hidden]
  int64_t offset = 0;
  for (size_t i = 0; i < sessions.size(); ++i) {
    sessions[i]->beginTurn(all.narrow(0, offset, counts[i]));
    offset += counts[i];
  }
}

void proposeBatch(const std::vector<StreamSession*>& sessions,
                  const std::vector<DecodeOptions>& options,
                  const std::vector<std::mt19937_64*>& rngs, const BatchingConfig& config) {
  if (sessions.size() != options.size() || sessions.size() != rngs.size())
    throw std::invalid_argument("proposeBatch: sessions, options and rngs differ in number");
  if (sessions.empty()) return;
  StreamVLN& model = sessions[0]->model();
  SlotKVCache& slots = sessions[0]->slotCache();
  for (StreamSession* s : sessions) {
    if (&s->model() != &model || &s->slotCache() != &slots)
      throw std::invalid_argument("proposeBatch: the sessions must share a model and a cache");
    s->startProposal();
  }
  torch::NoGradGuard no_grad;
  while (true) {
    std::vector<PendingRow> rows;
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (!sessions[i]->proposing()) continue;
      PendingRow r;
      r.session = i;
      r.seg = sessions[i]->pendingInputs();
      r.length = model.expandedLength(*r.seg.ids, r.seg.begin, r.seg.end);
      r.text_only = r.seg.images.empty() && !r.seg.memory.defined();
      rows.push_back(std::move(r));
    }
    if (rows.empty()) break;
    for (const auto& call : packRows(rows, config)) {
      const torch::Tensor logp = forwardCall(model, slots, sessions, options, call);
      for (size_t i = 0; i < call.size(); ++i) {
        const size_t k = call[i]->session;
        sessions[k]->pendingFed();
        sessions[k]->accept(logp[static_cast<int64_t>(i)].data_ptr<float>(), options[k], *rngs[k]);
      }
    }
  }
}

}  // namespace svln::model
