#include "expert/stand_in_episode.h"

#include <cstdlib>
#include <random>
#include <stdexcept>

namespace svln::expert {

std::string StandInPolicy::name() const {
  switch (kind) {
    case Kind::Expert:
      return "expert";
    case Kind::Random:
      return "random";
    case Kind::NoisyExpert: {
      std::string p = std::to_string(noise_p);
      while (p.size() > 1 && p.back() == '0') p.pop_back();
      if (p.back() == '.') p.pop_back();
      return "noisy-expert:" + p;
    }
  }
  return "?";
}

StandInPolicy parseStandInPolicy(const std::string& s) {
  StandInPolicy p;
  if (s == "expert") return p;
  if (s == "random") {
    p.kind = StandInPolicy::Kind::Random;
    return p;
  }
  const std::string prefix = "noisy-expert:";
  if (s.rfind(prefix, 0) == 0) {
    const std::string num = s.substr(prefix.size());
    char* end = nullptr;
    const double v = num.empty() ? -1.0 : std::strtod(num.c_str(), &end);
    if (end == nullptr || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
      throw std::runtime_error("--policy: noisy-expert:P needs P in [0, 1], got '" + num + "'");
    }
    p.kind = StandInPolicy::Kind::NoisyExpert;
    p.noise_p = v;
    return p;
  }
  throw std::runtime_error("--policy: must be expert, random or noisy-expert:P, got '" + s + "'");
}

const char* episodeEndName(EpisodeEnd e) {
  switch (e) {
    case EpisodeEnd::PolicyStop:
      return "policy_stop";
    case EpisodeEnd::ExpertStop:
      return "expert_stop";
    case EpisodeEnd::ForcedStop:
      return "forced_stop";
    case EpisodeEnd::SafetyStop:
      return "safety_stop";
    case EpisodeEnd::Rollback:
      return "rollback";
    case EpisodeEnd::MaxSteps:
      return "max_steps";
  }
  return "?";
}

uint64_t episodeSeed(uint64_t run_seed, uint64_t episode_index) {
  // SplitMix64 finaliser over seed + golden-ratio * (index + 1).
  uint64_t z = run_seed + 0x9E3779B97F4A7C15ull * (episode_index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

StandInRun runStandInEpisode(const sim::PathFinder& pf, const sim::Episode& ep,
                             const InterventionConfig& cfg, const sim::ActionSpace& space,
                             const StandInPolicy& policy, uint64_t seed, int max_steps,
                             float success_distance_m) {
  std::vector<sim::Vec3> goals;
  for (const sim::Goal& g : ep.goals) goals.push_back(g.position);
  if (goals.empty()) throw std::runtime_error("episode " + ep.episode_id + ": no goal");
  // VLN-CE reference paths start at the start position; an empty one degrades to the
  // straight start -> goal segment.
  std::vector<sim::Vec3> ref = ep.reference_path;
  if (ref.empty()) ref = {ep.start_position, goals[0]};

  Intervention iv(cfg, space);
  iv.reset(pf, ref, goals);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  auto random_move = [&] { return static_cast<sim::Action>(1 + rng() % 3); };

  StandInRun run;
  run.episode_id = ep.episode_id;
  sim::AgentState s{ep.start_position, sim::headingFromQuat(ep.start_rotation)};
  run.positions.push_back(s.position);
  sim::EpisodeMeasures measures(success_distance_m);
  measures.reset(ep, pf, s);
  for (int t = 0; t < max_steps; ++t) {
    sim::Action proposed = sim::Action::MoveForward;
    switch (policy.kind) {
      case StandInPolicy::Kind::Expert:
        proposed = iv.expertAction(s).action;
        break;
      case StandInPolicy::Kind::Random:
        proposed = random_move();
        break;
      case StandInPolicy::Kind::NoisyExpert:
        // Draw the coin every step so the random stream does not depend on the expert.
        proposed = coin(rng) < policy.noise_p ? random_move() : iv.expertAction(s).action;
        break;
    }
    const Decision d = iv.step(s, proposed);
    if (d.rollback) {
      run.end = EpisodeEnd::Rollback;
      run.demo_steps = static_cast<int>(
          iv.demonstrate(iv.rollbackStart(), iv.measure(s).nearest_index, max_steps).size());
      break;
    }
    run.actions.push_back(d.action);
    run.sources.push_back(d.source);
    run.expert_labels.push_back(d.expert_action);
    if (d.action == sim::Action::Stop) {
      // A safety stop ends the episode without the agent's STOP: never a success.
      run.called_stop = d.reason != Reason::SafetyStop;
      if (run.called_stop) measures.update(s, sim::Action::Stop, false);
      if (d.reason == Reason::ForcedStop) {
        run.end = EpisodeEnd::ForcedStop;
      } else if (d.reason == Reason::SafetyStop) {
        run.end = EpisodeEnd::SafetyStop;
      } else {
        run.end = d.source == Source::Expert ? EpisodeEnd::ExpertStop : EpisodeEnd::PolicyStop;
      }
      break;
    }
    const sim::StepOutcome o = sim::applyAction(pf, s, d.action, space);
    run.collisions += o.collided;
    s = o.state;
    run.positions.push_back(s.position);
    measures.update(s, d.action, o.collided);
  }
  run.counters = iv.counters();
  run.metrics = measures.metrics();
  return run;
}

}  // namespace svln::expert
