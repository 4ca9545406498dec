// Group rollouts: many environments at once, each with its own StreamVLN streaming session
// (KV cache, frames, conversation) and its own expert intervention.
//
//   per step:  envs whose action queue is empty start a turn (new frame); all of them at
//              once: one batched vision-tower pass (model::beginTurns), then the policy
//              turns decode together (model::proposeBatch over one SlotKVCache, a slot
//              per env: batched prefill of the new user turns, batched action tokens)
//                 policy in control -> the proposal (sampled, log-probs kept)
//                 expert in control -> the expert's actions become the turn's answer
//              every env: Intervention::step(state, queued policy action) -> executed action
//              VecEnv::step(all actions) -> frames -> StreamSession::observe
//              a turn ends when its actions are used up or control changes hands:
//                 StreamSession::endTurn(kept policy actions, expert actions)
//   rollback mode: an off-track cut ends the policy's trajectory; the env is reset to the
//              last reference waypoint passed and the expert's demonstration from there
//              runs in the same env with a fresh session (Trajectory::rollback_demo)
//
// The result keeps, per trajectory, everything the trainer needs to recompute the same
// log-probabilities with gradients (windows, frames, answer tokens) and to score it
// (per-step distances, collisions, sources, expert labels, metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "expert/intervention.h"
#include "model/stream_batch.h"
#include "model/stream_session.h"
#include "sim/episode.h"
#include "sim/measures.h"
#include "sim/vec_env.h"

namespace svln::rl {

// Which mode a rollout runs in.
enum class RolloutMode {
  kTrain,       // sampled (temperature), intervention as configured
  kEval,        // greedy, no intervention (VLN-CE evaluation)
  kExpertDemo,  // the expert acts at every step (SFT data); the model is not called
};

struct RolloutOptions {
  RolloutMode mode = RolloutMode::kTrain;
  model::DecodeOptions decode;  // kTrain: greedy=false, temperature
  bool greedy_first_sample = false;  // trajectory 0 of each group decoded greedily
  expert::InterventionConfig intervention;
  model::StreamingConfig streaming;
  // true: the envs' turns are prefilled and decoded as batches; false: each env's session
  // runs alone (B = 1 calls; the reference the batched path is tested against).
  bool batched = true;
  model::BatchingConfig batching;
  // Informational copies of the VecEnv's HabitatConfig values (the VecEnv enforces the
  // episode length and measures success); kept so callers can log one options struct.
  int max_episode_steps = 500;
  float success_distance_m = 3.f;
  uint64_t seed = 0;
  // Measure where the time goes (RolloutEngine::timings()): the device is synchronized at
  // each phase boundary, so the split is exact and the run slightly slower.
  bool timings = false;
  // Overlap the envs' physics and rendering with the model: the envs whose turn continues
  // step on the VecEnv's threads while the turns that open run through the model (the
  // same trajectories either way). -1: when the model is on a GPU (on the CPU both would
  // compete for the same cores); 0: off; 1: on.
  int overlap_env_steps = -1;
  // Called before each step with its index (from 0): a profiler's start/stop hook.
  std::function<void(int step)> on_step;
};

// Wall seconds of RolloutEngine::run by phase (RolloutOptions::timings), summed over runs.
struct RolloutTimings {
  double vision_s = 0;  // new frames (and a window's memory frames) through the vision tower
  double policy_s = 0;  // the policy turns' prefill and action decoding
  double expert_s = 0;  // intervention and expert decisions, rollback demonstrations
  double env_s = 0;     // VecEnv::step: physics and rendering
  double other_s = 0;   // frame hand-over, session bookkeeping, resets
  int64_t steps = 0, actions = 0, turns = 0, policy_turns = 0;
  double total() const { return vision_s + policy_s + expert_s + env_s + other_s; }
};

// One executed step.
struct StepRecord {
  sim::Action action = sim::Action::Stop;  // executed
  expert::Source source = expert::Source::Policy;
  sim::Action expert_label = sim::Action::Stop;  // the SFT label at the visited state
  bool label_valid = false;                      // the expert had a path
  expert::Reason reason = expert::Reason::None;
  sim::Vec3 position;            // where the step was taken from
  float distance_to_goal = 0.f;  // geodesic, after the step
  bool collided = false;
  int32_t answer_token = -1;  // index into Trajectory::session answer tokens, -1 if none
};

struct Trajectory {
  sim::Episode episode;
  int group = 0;        // index of the episode in the update
  int member = 0;       // index within the group
  std::vector<StepRecord> steps;
  sim::EpisodeMetrics metrics;
  expert::InterventionCounters counters;
  float start_distance = 0.f;
  bool called_stop = false;  // ended by a STOP (policy, expert or forced; not a safety stop)
  bool forced_stop = false;  // the goal-zone patience forced that STOP
  bool safety_stop = false;  // a recovery ran out (recovery_max_steps): counted as failure
  // --recovery_mode rollback: the policy's trajectory was cut when it went off track (a
  // failure; not stepped further), and `rollback_demo` holds the expert's demonstration
  // from the last reference waypoint passed to the goal, in a fresh streaming context: SFT
  // data only (every step is the expert's), never part of returns, advantages or metrics.
  // Null when there was no cut, or the expert had no path from the waypoint.
  bool rolled_back = false;
  std::shared_ptr<Trajectory> rollback_demo;
  // False: its policy tokens stay out of the surrogate (a failed greedy probe of
  // --greedy_probe, whose group has no one to compare with); its SFT data still trains.
  bool grpo = true;
  // The streaming context as it was at rollout time (windows, frames, answer tokens).
  std::vector<model::WindowRecord> windows;
  std::vector<model::AnswerToken> answer_tokens;
  std::vector<torch::Tensor> frames;  // uint8 [H, W, 3] per step
};

class RolloutEngine {
 public:
  RolloutEngine(sim::VecEnv& envs, model::StreamVLN& model, const model::Tokenizer& tokenizer,
                const model::ActionCodec& codec, RolloutOptions options);
  // Rolls out `group_size` trajectories for each episode, concurrently (requires
  // episodes.size() * group_size <= number of envs). Deterministic for a given seed.
  std::vector<Trajectory> run(const std::vector<sim::Episode>& episodes, int group_size,
                              uint64_t seed);
  const RolloutTimings& timings() const { return timings_; }

 private:
  sim::VecEnv& envs_;
  model::StreamVLN& model_;
  const model::Tokenizer& tokenizer_;
  const model::ActionCodec& codec_;
  RolloutOptions options_;
  RolloutTimings timings_;
};

}  // namespace svln::rl
