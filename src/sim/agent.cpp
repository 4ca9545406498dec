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
  // Habitat counts a collision when the filtered move is shorter than the intended one;
  // the 1 cm slack absorbs the navmesh's height snapping.
  constexpr float kCollisionSlackM = 0.01f;
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
      const Vec3 target = s.position + forwardFromHeading(s.heading_rad) * space.forward_step_m;
      out.state.position = space.allow_sliding ? pf.tryStep(s.position, target)
                                               : pf.tryStepNoSliding(s.position, target);
      out.collided =
          distance(out.state.position, s.position) < space.forward_step_m - kCollisionSlackM;
      break;
    }
  }
  return out;
}

}  // namespace svln::sim
