#include "sim/agent.h"

#include "sim/path_finder.h"

namespace svln::sim {

const char* actionName(Action a) {
  switch (a) {
    case Action::Stop:
      return "STOP";
    case Action::MoveForward:
      return "MOVE_FORWARD";
    case Action::TurnLeft:
      return "TURN_LEFT";
    case Action::TurnRight:
      return "TURN_RIGHT";
  }
  return "UNKNOWN";
}

StepOutcome applyAction(const PathFinder& pf, const AgentState& s, Action a,
                        const ActionSpace& space) {
  constexpr float kDegToRad = 3.14159265358979323846f / 180.f;
  // habitat-sim's ObjectControls: collided = |moved|^2 + 1e-5 < |intended|^2 (squared 3-D
  // lengths; its EPS absorbs float noise), i.e. any shortfall beyond ~0.02 mm at 0.25 m.
  constexpr float kCollisionEps = 1e-5f;
  StepOutcome out{s, false};
  switch (a) {
    case Action::Stop:
      break;
    case Action::TurnLeft:  // positive rotation about +Y turns left
      out.state.heading_rad = wrapAngle(s.heading_rad + space.turn_angle_deg * kDegToRad);
      break;
    case Action::TurnRight:
      out.state.heading_rad = wrapAngle(s.heading_rad - space.turn_angle_deg * kDegToRad);
      break;
    case Action::MoveForward: {
      const Vec3 intended = forwardFromHeading(s.heading_rad) * space.forward_step_m;
      const Vec3 target = s.position + intended;
      out.state.position = space.allow_sliding ? pf.tryStep(s.position, target)
                                               : pf.tryStepNoSliding(s.position, target);
      const Vec3 moved = out.state.position - s.position;
      out.collided = dot(moved, moved) + kCollisionEps < dot(intended, intended);
      break;
    }
  }
  return out;
}

}  // namespace svln::sim
