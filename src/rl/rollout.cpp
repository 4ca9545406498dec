#include "rl/rollout.h"

#include <torch/torch.h>

#include <chrono>
#include <deque>
#include <future>
#include <stdexcept>

namespace svln::rl {

namespace {

using expert::Source;
using model::kActionStop;

// SplitMix64: independent per-trajectory seeds from the run seed.
uint64_t mixSeed(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (a + 1) + 0xBF58476D1CE4E5B9ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One environment's trajectory in flight.
struct Slot {
  int traj = -1;
  std::unique_ptr<model::StreamSession> session;
  std::unique_ptr<expert::Intervention> intervention;
  std::mt19937_64 rng;
  bool greedy = false;
  bool active = false;
  // The open turn.
  bool turn_open = false;
  bool expert_turn = false;
  std::deque<int> queue;  // proposed policy actions not yet executed
  int kept_policy = 0;
  std::vector<int> expert_actions;
  // Rollback mode: after the cut the slot replays the expert's demonstration.
  bool demo_phase = false;
  std::deque<int> demo_actions;
};

// The trajectory a slot's steps are recorded into: the policy's, or after a rollback the
// demonstration's.
Trajectory& target(Trajectory& t, const Slot& s) { return s.demo_phase ? *t.rollback_demo : t; }

// The demonstration's next action, recorded as the expert's step and label.
sim::Action nextDemoAction(Slot& s, StepRecord& rec) {
  const auto act = static_cast<sim::Action>(s.demo_actions.front());
  s.demo_actions.pop_front();
  rec.source = Source::Expert;
  rec.expert_label = act;
  rec.label_valid = true;
  return act;
}

// The session's context into the trajectory, and each executed step's answer token.
void keepContext(Trajectory& t, const model::StreamSession& session) {
  t.windows = session.windows();
  t.answer_tokens = session.answerTokens();
  t.frames = session.frames();
  for (size_t k = 0; k < t.answer_tokens.size(); ++k) {
    const model::AnswerToken& a = t.answer_tokens[k];
    if (a.action >= 0 && a.step < static_cast<int64_t>(t.steps.size())) {
      t.steps[a.step].answer_token = static_cast<int32_t>(k);
    }
  }
}

torch::Tensor frameOf(const sim::VecEnv& envs, int env) {
  const auto& c = envs.config().rgb;
  return torch::from_blob(const_cast<uint8_t*>(envs.rgb(env)), {c.height, c.width, 3},
                          torch::kUInt8)
      .clone();
}

// Lap timer for RolloutTimings: lap(field) adds the time since the previous lap, after
// the device's queued work has finished when timing is on (else it does nothing).
class PhaseClock {
 public:
  PhaseClock(bool on, bool cuda) : on_(on), cuda_(cuda) { restart(); }
  void restart() { last_ = std::chrono::steady_clock::now(); }
  void lap(double& into) {
    if (!on_) return;
    if (cuda_) torch::cuda::synchronize();
    const auto now = std::chrono::steady_clock::now();
    into += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  bool on_, cuda_;
  std::chrono::steady_clock::time_point last_;
};

void closeTurn(Slot& s) {
  if (!s.turn_open) return;
  s.session->endTurn(s.kept_policy, s.expert_actions);
  s.turn_open = false;
  s.queue.clear();
  s.kept_policy = 0;
  s.expert_actions.clear();
}

// Opens the turns of `opening` (batched: one vision pass, then the policy turns decode
// together) and queues each policy turn's proposal.
void openTurns(std::vector<Slot>& slots, const std::vector<int>& opening,
               const RolloutOptions& options, PhaseClock& clock, RolloutTimings& timings) {
  std::vector<model::StreamSession*> sessions, policy;
  std::vector<model::DecodeOptions> decode;
  std::vector<std::mt19937_64*> rngs;
  for (int i : opening) {
    Slot& s = slots[i];
    sessions.push_back(s.session.get());
    if (s.expert_turn) continue;
    policy.push_back(s.session.get());
    decode.push_back(options.decode);
    decode.back().greedy = s.greedy;
    rngs.push_back(&s.rng);
  }
  timings.turns += static_cast<int64_t>(sessions.size());
  timings.policy_turns += static_cast<int64_t>(policy.size());
  if (options.batched) {
    model::beginTurns(sessions, options.batching);
    clock.lap(timings.vision_s);
    model::proposeBatch(policy, decode, rngs, options.batching);
  } else {
    for (auto* session : sessions) session->beginTurn();
    clock.lap(timings.vision_s);
    for (size_t k = 0; k < policy.size(); ++k) policy[k]->propose(decode[k], *rngs[k]);
  }
  clock.lap(timings.policy_s);
  for (int i : opening) {
    Slot& s = slots[i];
    if (!s.expert_turn)
      for (int a : s.session->proposal()) s.queue.push_back(a);
  }
}

}  // namespace

RolloutEngine::RolloutEngine(sim::VecEnv& envs, model::StreamVLN& model,
                             const model::Tokenizer& tokenizer, const model::ActionCodec& codec,
                             RolloutOptions options)
    : envs_(envs), model_(model), tokenizer_(tokenizer), codec_(codec), options_(options) {}

std::vector<Trajectory> RolloutEngine::run(const std::vector<sim::Episode>& episodes,
                                           int group_size, uint64_t seed) {
  const int n = static_cast<int>(episodes.size()) * group_size;
  if (n > envs_.numEnvs()) {
    throw std::invalid_argument("RolloutEngine::run: " + std::to_string(n) +
                                " trajectories need as many environments, have " +
                                std::to_string(envs_.numEnvs()));
  }
  const bool train = options_.mode == RolloutMode::kTrain;
  const bool demo = options_.mode == RolloutMode::kExpertDemo;
  const int future = static_cast<int>(options_.streaming.num_future_steps);
  PhaseClock clock(options_.timings, model_.device().is_cuda());
  const bool overlap = options_.overlap_env_steps < 0 ? model_.device().is_cuda()
                                                      : options_.overlap_env_steps > 0;
  std::vector<Trajectory> out(n);
  std::vector<Slot> slots(n);
  // One KV cache slot per env, shared by the sessions so their turns run as batches.
  std::unique_ptr<model::SlotKVCache> kv;
  if (options_.batched && !demo)
    kv = std::make_unique<model::SlotKVCache>(model_.lm->newSlotCache(n));
  for (int i = 0; i < n; ++i) {
    const int g = i / group_size, m = i % group_size;
    Trajectory& t = out[i];
    t.episode = episodes[g];
    t.group = g;
    t.member = m;
    Slot& s = slots[i];
    s.traj = i;
    s.rng.seed(mixSeed(seed, g, m));
    s.greedy = options_.mode == RolloutMode::kEval || options_.decode.greedy ||
               (options_.greedy_first_sample && m == 0);
    s.session = std::make_unique<model::StreamSession>(model_, tokenizer_, codec_,
                                                       options_.streaming, mixSeed(seed, g, 7));
    if (kv) s.session->useSlot(kv.get(), i);
    envs_.reset(i, t.episode);
    const sim::Scene& scene = envs_.scene(i);
    std::vector<sim::Vec3> goals;
    for (const auto& goal : t.episode.goals) goals.push_back(goal.position);
    if (!demo && !train) {
      // Evaluation runs without intervention.
    } else {
      s.intervention = std::make_unique<expert::Intervention>(options_.intervention,
                                                              envs_.config().actions);
      const auto& path = t.episode.reference_path.empty()
                             ? std::vector<sim::Vec3>{t.episode.start_position, goals.front()}
                             : t.episode.reference_path;
      s.intervention->reset(scene.pathfinder, path, goals);
    }
    t.start_distance = envs_.info(i).metrics.distance_to_goal;
    s.session->reset(t.episode.instruction.instruction_text);
    s.session->observe(frameOf(envs_, i));
    s.active = true;
  }

  std::vector<sim::Action> actions(envs_.numEnvs(), sim::Action::Stop);
  clock.lap(timings_.other_s);
  bool any = true;
  for (int step = 0; any; ++step) {
    if (options_.on_step) {
      options_.on_step(step);
      clock.restart();  // the hook's own time (a profiler starting) is nobody's phase
    }
    // Turns end when their actions are used up or control changes hands; new ones open.
    std::vector<int> opening;
    for (int i = 0; i < n; ++i) {
      Slot& s = slots[i];
      if (!s.active) continue;
      const sim::AgentState state = envs_.info(i).state;
      const bool expert_drives = demo || s.demo_phase ||
                                 (s.intervention && s.intervention->expertControls(state));
      if (s.turn_open) {
        const bool used_up = s.expert_turn
                                 ? static_cast<int>(s.expert_actions.size()) >= future
                                 : s.queue.empty();
        if (used_up || s.expert_turn != expert_drives) closeTurn(s);
      }
      if (!s.turn_open) {
        s.turn_open = true;
        s.expert_turn = expert_drives;
        opening.push_back(i);
      }
    }
    clock.lap(timings_.other_s);
    // This step's action of env i (the policy's proposal, the expert's, or a rollback's),
    // recorded; envs are independent, so the order they are decided in changes nothing.
    auto decide = [&](int i) {
      Slot& s = slots[i];
      if (!s.active) return;
      const sim::AgentState state = envs_.info(i).state;
      StepRecord rec;
      rec.position = state.position;
      sim::Action act;
      if (s.demo_phase) {
        act = nextDemoAction(s, rec);
      } else if (demo) {
        const expert::FollowResult ex = s.intervention->expertAction(state);
        act = ex.status == expert::FollowStatus::Unreachable ? sim::Action::Stop : ex.action;
        rec.source = Source::Expert;
        rec.expert_label = act;
        rec.label_valid = ex.status != expert::FollowStatus::Unreachable;
      } else if (!s.intervention) {
        act = static_cast<sim::Action>(s.queue.front());
        rec.source = Source::Policy;
      } else {
        const sim::Action proposed =
            s.expert_turn ? s.intervention->expertAction(state).action
                          : static_cast<sim::Action>(s.queue.front());
        const expert::Decision d = s.intervention->step(state, proposed);
        if (d.rollback) {
          // The cut: the proposed action is not executed and the policy's trajectory ends
          // here, a failure. The env restarts at the waypoint for the demonstration, whose
          // first action is taken in this same step.
          Trajectory& t = out[i];
          s.queue.clear();
          closeTurn(s);
          t.rolled_back = true;
          t.metrics = envs_.info(i).metrics;
          t.metrics.success = t.metrics.spl = t.metrics.sdtw = 0.f;
          t.counters = s.intervention->counters();
          keepContext(t, *s.session);
          const sim::AgentState start = s.intervention->rollbackStart();
          const std::vector<expert::DemoStep> demo_steps = s.intervention->demonstrate(
              start, s.intervention->rollbackWaypoint(), envs_.config().max_episode_steps);
          if (demo_steps.empty()) {  // no path from the waypoint: nothing to learn from
            s.session.reset();
            s.active = false;
            actions[i] = sim::Action::Stop;  // the env ends here
            return;
          }
          sim::Episode from = t.episode;
          from.start_position = start.position;
          from.start_rotation = sim::quatFromHeading(start.heading_rad);
          t.rollback_demo = std::make_shared<Trajectory>();
          Trajectory& demo_t = *t.rollback_demo;
          demo_t.episode = from;
          demo_t.group = t.group;
          demo_t.member = t.member;
          envs_.reset(i, from);
          demo_t.start_distance = envs_.info(i).metrics.distance_to_goal;
          s.session = std::make_unique<model::StreamSession>(model_, tokenizer_, codec_, options_.streaming,
                                                             mixSeed(seed, t.group, 11));
          if (kv) s.session->useSlot(kv.get(), i);
          s.session->reset(t.episode.instruction.instruction_text);
          s.session->observe(frameOf(envs_, i));
          s.session->beginTurn();
          s.turn_open = true;
          s.expert_turn = true;
          s.demo_phase = true;
          for (const expert::DemoStep& d2 : demo_steps) s.demo_actions.push_back(static_cast<int>(d2.action));
          rec.position = start.position;
          act = nextDemoAction(s, rec);  // recorded below, into the demonstration
        } else {
          act = d.action;
          rec.source = s.expert_turn ? Source::Expert : d.source;
          rec.expert_label = d.expert_action;
          rec.label_valid = d.expert_status != expert::FollowStatus::Unreachable;
          // An expert step is labelled with what the expert did (a forced STOP teaches
          // STOP), except a safety stop: the expert giving up is no demonstration.
          if (rec.source == Source::Expert && d.reason != expert::Reason::SafetyStop) {
            rec.expert_label = d.action;
            rec.label_valid = true;
          }
          rec.reason = d.reason;
          if (d.reason == expert::Reason::ForcedStop) out[i].forced_stop = true;
          if (d.reason == expert::Reason::SafetyStop) out[i].safety_stop = true;
        }
      }
      if (rec.source == Source::Policy) {
        s.queue.pop_front();
        ++s.kept_policy;
      } else {
        // The expert's action is written into the answer; the policy's remaining proposals
        // were never executed and are dropped.
        s.queue.clear();
        s.expert_actions.push_back(static_cast<int>(act));
        s.expert_turn = true;
      }
      rec.action = act;
      target(out[i], s).steps.push_back(rec);
      actions[i] = act;
    };
    if (overlap && !opening.empty()) {
      // The envs whose turn continues act first and step (physics + rendering on the
      // VecEnv's threads) while this thread runs the model for the turns that open.
      std::vector<char> opens(static_cast<size_t>(envs_.numEnvs()), 0);
      for (int i : opening) opens[static_cast<size_t>(i)] = 1;
      std::vector<int> early, late;
      for (int i = 0; i < envs_.numEnvs(); ++i) (opens[static_cast<size_t>(i)] ? late : early).push_back(i);
      for (int i : early)
        if (i < n) decide(i);
      clock.lap(timings_.expert_s);
      std::future<void> stepping =
          std::async(std::launch::async, [&] { envs_.step(actions, early); });
      openTurns(slots, opening, options_, clock, timings_);
      for (int i : late) decide(i);
      clock.lap(timings_.expert_s);
      stepping.get();
      envs_.step(actions, late);
    } else {
      openTurns(slots, opening, options_, clock, timings_);
      for (int i = 0; i < n; ++i) decide(i);
      clock.lap(timings_.expert_s);
      envs_.step(actions);
    }
    clock.lap(timings_.env_s);
    ++timings_.steps;
    any = false;
    for (int i = 0; i < n; ++i) {
      Slot& s = slots[i];
      if (!s.active) continue;
      const sim::EnvInfo& info = envs_.info(i);
      StepRecord& rec = target(out[i], s).steps.back();
      rec.distance_to_goal = info.metrics.distance_to_goal;
      rec.collided = info.collided;
      if (info.done) {
        closeTurn(s);
        s.active = false;
        if (s.demo_phase) {  // the demonstration's end: SFT data, its metrics for the record
          Trajectory& d = *out[i].rollback_demo;
          d.metrics = info.metrics;
          d.called_stop = rec.action == sim::Action::Stop;
          d.counters.expert_steps = static_cast<int>(d.steps.size());
          keepContext(d, *s.session);
          s.session.reset();
          continue;
        }
        Trajectory& t = out[i];
        t.metrics = info.metrics;
        t.called_stop = rec.action == sim::Action::Stop && !t.safety_stop;
        if (t.safety_stop) {  // a safety stop is the expert giving up, never a success
          t.metrics.success = t.metrics.spl = t.metrics.sdtw = 0.f;
        }
        if (demo) {
          t.counters.expert_steps = static_cast<int>(t.steps.size());
        } else if (s.intervention) {
          t.counters = s.intervention->counters();
        }
        keepContext(t, *s.session);
        s.session.reset();
      } else {
        s.session->observe(frameOf(envs_, i));
        any = true;
      }
    }
    clock.lap(timings_.other_s);
  }
  for (const Trajectory& t : out) {
    timings_.actions += static_cast<int64_t>(t.steps.size());
    if (t.rollback_demo) timings_.actions += static_cast<int64_t>(t.rollback_demo->steps.size());
  }
  return out;
}

}  // namespace svln::rl
