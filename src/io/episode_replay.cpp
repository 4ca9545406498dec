#include "io/episode_replay.h"

#include <cmath>
#include <stdexcept>

namespace svln::io {

Replay replayEpisode(const sim::Scene& scene, const sim::Episode& ep,
                     const std::vector<int>& actions, const std::vector<bool>& expert_steps,
                     const ReplayOptions& opt) {
  Replay r;
  EpisodeTrace& t = r.trace;
  t.episode_id = ep.episode_id;
  t.instruction = ep.instruction.instruction_text;
  t.reference_path = ep.reference_path;
  t.goals = ep.goals;
  t.actions = actions;
  t.expert_steps = expert_steps;
  t.expert_steps.resize(actions.size(), false);

  sim::AgentState s{scene.pathfinder.snapPoint(ep.start_position),
                    sim::headingFromQuat(ep.start_rotation)};
  if (!std::isfinite(s.position.x)) s.position = ep.start_position;
  const auto observe = [&](const sim::AgentState& st) {
    if (!opt.render || !scene.renderer) return;
    Image img(opt.camera.width, opt.camera.height);
    scene.renderer->render(opt.camera, st.position, st.heading_rad, img.rgb.data(), nullptr);
    r.observations.push_back(std::move(img));
  };
  t.positions.push_back(s.position);
  observe(s);
  for (size_t i = 0; i < actions.size(); ++i) {
    if (actions[i] < 0 || actions[i] > 3)
      throw std::runtime_error("episode " + ep.episode_id + ": action " +
                               std::to_string(actions[i]) + " at step " + std::to_string(i) +
                               " is not 0..3");
    if (t.expert_steps[i] && (i == 0 || !t.expert_steps[i - 1])) t.triggers.push_back(s.position);
    const auto a = static_cast<sim::Action>(actions[i]);
    if (a == sim::Action::Stop) {
      t.stopped = true;
      break;
    }
    s = sim::applyAction(scene.pathfinder, s, a, opt.actions).state;
    t.positions.push_back(s.position);
    observe(s);
  }
  std::vector<sim::Vec3> goal_points;
  for (const sim::Goal& g : ep.goals) goal_points.push_back(g.position);
  if (!goal_points.empty()) {
    t.distance_to_goal = scene.pathfinder.geodesicDistance(t.positions.back(), goal_points);
    t.success = t.stopped && t.distance_to_goal <= opt.success_distance_m;
  }
  return r;
}

}  // namespace svln::io
