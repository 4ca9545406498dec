// Many StreamSessions stepped as one batch (one per environment of a rollout):
//
//   beginTurns:   every session's new frames (and memory frames at a window start) go
//                 through the vision tower together, then each session opens its turn
//   proposeBatch: per decoding step, the ids each unfinished session has not yet fed
//                 (its new user turn on the first step, the previous action's tokens after)
//                 run as one padded forward call over the sessions' slots of a shared
//                 SlotKVCache; prefills of very different lengths (a window's first turn
//                 carries 8 memory frames) are split into separate calls to bound padding;
//                 the alphabet log-probabilities come back to the host in one copy and each
//                 session samples its token with its own options and RNG
//
// Each session's records (ids, answer tokens, log-probabilities) are those it gets alone,
// within float rounding: the batch changes only how the arithmetic is grouped.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "model/stream_session.h"

namespace svln::model {

struct BatchingConfig {
  int64_t max_batch_tokens = 16384;  // padded tokens (rows x longest row) per forward call
  double max_padding = 1.5;          // padded / real tokens of a call, at most ...
  int64_t short_rows = 16;           // ... unless its longest row is this short (decoding)
  int64_t max_vision_frames = 64;    // frames per vision-tower call
};

// Opens a turn in every session, as beginTurn() does, with batched vision-tower calls.
void beginTurns(const std::vector<StreamSession*>& sessions, const BatchingConfig& config = {});

// Proposes actions in every session (each with an open turn; all sharing one model and one
// SlotKVCache), as propose() does: session i decodes with options[i] and rngs[i]. Read the
// results from StreamSession::proposal().
void proposeBatch(const std::vector<StreamSession*>& sessions,
                  const std::vector<DecodeOptions>& options,
                  const std::vector<std::mt19937_64*>& rngs, const BatchingConfig& config = {});

}  // namespace svln::model
