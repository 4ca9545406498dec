// StreamVLN's streaming dialogue for one environment, with KV-cache reuse:
//
//   window 0: [system][user: task + frame0][empty assistant]<|im_start|>assistant\n ↑↑←↑ <|im_end|>
//             [user: frame4][empty assistant]<|im_start|>assistant\n → ↑ ↑ ↑ <|im_end|> ...
//   every num_frames (32) steps: cache and conversation dropped (a hard reset); the new
//   window's first turn carries <memory> = frames at steps 0, T/8, ..., 7T/8.
//
// A turn: beginTurn() prefills the new user turn (with the latest frame); propose()
// samples up to num_future_steps actions over the action alphabet, recording the
// log-probability of each sampled token; endTurn() keeps what was actually executed: the
// policy's first `kept` actions, then any expert actions (written as the assistant's
// answer, so the context stays truthful), then <|im_end|>. Token ids, frames and records
// are kept so the trainer can recompute the same log-probabilities with gradients.
//
// The KV cache is one slot of a SlotKVCache: a session alone owns a one-slot cache; sessions
// that run together (stream_batch.h) share one, so their turns are prefilled and decoded as
// one batch with each session's semantics unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/action_codec.h"
#include "model/slot_kv_cache.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"

namespace svln::model {

struct StreamingConfig {
  int64_t num_frames = 32;       // steps per window (hard reset)
  int64_t num_history = 8;       // memory frames at a new window
  int64_t num_future_steps = 4;  // actions per model call
  bool fixed_phrase = false;     // always "you can see " (the fine-tuning fork)
};

struct DecodeOptions {
  bool greedy = true;
  double temperature = 1.0;  // sampling distribution softmax(logits / temperature)
  // false: STOP is never chosen (the other choices renormalised). For benchmarks that need
  // full-length episodes from random weights; the recorded log-probabilities stay those of
  // the unmasked distribution (alphabetLogProbs), so the samples are off-policy.
  bool allow_stop = true;
};

enum class TokenSource : uint8_t { kPolicy = 0, kExpert = 1 };

struct WindowRecord {
  std::vector<int> ids;              // the window's token ids, placeholders included
  std::vector<int64_t> image_steps;  // episode step of each <image>, in order
  std::vector<int64_t> memory_steps; // steps of the <memory> frames; empty when none
};

// One token of an assistant answer.
struct AnswerToken {
  int32_t window = 0;     // index into windows()
  int32_t ids_index = 0;  // position in that window's ids
  int32_t token = 0;
  int32_t action = -1;    // the action this token starts (-1: <|im_end|> chosen early)
  int64_t step = 0;       // episode step of the action (of the last action for <|im_end|>)
  TokenSource source = TokenSource::kPolicy;
  bool allow_end = false; // <|im_end|> was among the choices
  float logp = 0.f;       // sampling log-probability (policy tokens)
};

class StreamSession {
 public:
  StreamSession(StreamVLN& model, const Tokenizer& tokenizer, const ActionCodec& codec,
                StreamingConfig config, uint64_t seed);

  void reset(const std::string& instruction_text);
  // The frame seen at the current step; call once at the start and after every action.
  void observe(const torch::Tensor& rgb_u8);
  int64_t step() const { return step_; }

  // Episode steps of the frames the next beginTurn() encodes, in order: the memory frames
  // when the turn opens a window after the first, then the current frame.
  std::vector<int64_t> turnFrameSteps() const;
  void beginTurn();
  // beginTurn() with turnFrameSteps()' frames already encoded: [F, tokens, hidden].
  void beginTurn(const torch::Tensor& encoded);
  // Up to num_future_steps actions (ends early at STOP or a sampled <|im_end|>).
  std::vector<int> propose(const DecodeOptions& options, std::mt19937_64& rng);

  // propose(), one token at a time, for batched decoding (proposeBatch):
  //   startProposal(); while (proposing()) { forward pendingInputs(); pendingFed();
  //                                          accept(alphabet log-probs of the last row) }
  void startProposal();
  bool proposing() const { return proposing_; }
  bool allowEnd() const { return !proposal_.empty(); }  // <|im_end|> among the choices
  SegmentInputs pendingInputs() const;  // the window's ids not yet in the cache
  void pendingFed();
  // Chooses the next token from log-probabilities over STOP, ↑, ←, →, <|im_end|> (as
  // alphabetLogProbs gives them) and appends it; the proposal may end here.
  void accept(const float* logp, const DecodeOptions& options, std::mt19937_64& rng);
  const std::vector<int>& proposal() const { return proposal_; }

  // Batched use: the KV cache becomes slot `slot` of `slots` (shared with the sessions this
  // one runs with; must outlive the session). Call before reset().
  void useSlot(SlotKVCache* slots, int64_t slot);
  SlotKVCache& slotCache() const { return *slots_; }
  int64_t slot() const { return slot_; }
  StreamVLN& model() const { return model_; }
  // `kept_policy` first proposed actions were executed, then `expert_actions`.
  void endTurn(int kept_policy, const std::vector<int>& expert_actions);

  const std::vector<WindowRecord>& windows() const { return windows_; }
  const std::vector<AnswerToken>& answerTokens() const { return answer_; }
  const std::vector<torch::Tensor>& frames() const { return frames_; }
  const ActionCodec& codec() const { return codec_; }

 private:
  void append(int token);
  std::string choosePhrase();

  StreamVLN& model_;
  const Tokenizer& tokenizer_;
  const ActionCodec& codec_;
  StreamingConfig config_;
  std::mt19937_64 phrase_rng_;
  uint64_t seed_;

  std::string instruction_;
  int64_t step_ = 0;
  int64_t window_start_ = -1;
  bool in_turn_ = false;
  std::vector<torch::Tensor> frames_;  // uint8 [H, W, 3] per step

  std::vector<WindowRecord> windows_;
  std::vector<AnswerToken> answer_;
  std::unique_ptr<SlotKVCache> own_slots_;
  SlotKVCache* slots_ = nullptr;
  int64_t slot_ = 0;
  size_t cached_ids_ = 0;      // ids of the current window already in the cache
  size_t cached_images_ = 0;   // <image>s among them
  std::vector<torch::Tensor> window_images_;  // encoded frames of this window's <image>s
  torch::Tensor window_memory_;
  // The turn being decoded.
  size_t answer_begin_ = 0;            // ids index where the answer's tokens start
  size_t turn_answer_records_ = 0;     // answer_.size() at the turn's start
  std::vector<size_t> proposed_action_ends_;  // ids index after each proposed action
  bool proposing_ = false;
  std::vector<int> proposal_;
};

// Logits at `positions` (ids indices of a window) under teacher forcing: the output at the
// embedding row just before each token. `frame_tokens` holds the encoded frames for the
// window's <image>s in order, `memory` the memory block (undefined when none).
// Returns [P, vocab] with gradients when the model has trainable parameters.
torch::Tensor windowLogits(StreamVLN& model, const WindowRecord& window,
                           const std::vector<torch::Tensor>& frame_tokens,
                           const torch::Tensor& memory, const std::vector<int32_t>& positions);

// windowLogits for several windows, packed: windows run as right-padded batches of at most
// `max_batch_tokens` padded tokens (one forward per batch, key padding masked), so the
// trainer's recomputation runs large GEMMs instead of one window per forward. Returns each
// window's [P_i, vocab] in order, equal to windowLogits within float rounding.
struct WindowLogitsRequest {
  const WindowRecord* window = nullptr;
  std::vector<torch::Tensor> frame_tokens;
  torch::Tensor memory;
  std::vector<int32_t> positions;
};
std::vector<torch::Tensor> windowLogitsBatch(StreamVLN& model,
                                             const std::vector<WindowLogitsRequest>& requests,
                                             int64_t max_batch_tokens = 16384);

// Log-probabilities over the action alphabet as propose() computed them:
// log_softmax(logits[allowed] / temperature), columns STOP, ↑, ←, →, <|im_end|>; the last
// column is -inf in rows where <|im_end|> was not a choice. logits [P, vocab],
// allow_end bool [P] -> [P, 5].
torch::Tensor alphabetLogProbs(const torch::Tensor& logits, const ActionCodec& codec,
                               const torch::Tensor& allow_end, double temperature);
// Column of a token in alphabetLogProbs' result (4 for <|im_end|>), -1 if none.
int alphabetColumn(const ActionCodec& codec, int token);

}  // namespace svln::model
