// The agent's state and the discrete VLN-CE action space.
#pragma once

#include "sim/vec3.h"

namespace svln::sim {

class PathFinder;

// Numbering as in VLN-CE / StreamVLN: STOP 0, MOVE_FORWARD 1, TURN_LEFT 2, TURN_RIGHT 3.
enum class Action : int { Stop = 0, MoveForward = 1, TurnLeft = 2, TurnRight = 3 };
const char* actionName(Action a);

struct ActionSpace {
  float forward_step_m = 0.25f;
  float turn_angle_deg = 15.f;
  // habitat_sim_v0.allow_sliding: a forward step blocked by a wall slides along it (true,
  // Habitat's default and R2R's) or stops at the wall (false, VLN-CE's RxR task).
  bool allow_sliding = true;
};

struct AgentState {
  Vec3 position;            // on the navmesh (the agent's feet)
  float heading_rad = 0.f;  // yaw about +Y; 0 looks along -Z
};

struct StepOutcome {
  AgentState state;
  bool collided = false;  // the forward move was cut short by the navmesh boundary
};

// Applies one action. MOVE_FORWARD goes through PathFinder::tryStep (sliding along walls),
// or tryStepNoSliding when the action space does not allow sliding; a collision is recorded as
// habitat-sim records it: |moved|^2 + 1e-5 < |intended|^2. STOP leaves the state unchanged.
StepOutcome applyAction(const PathFinder& pf, const AgentState& s, Action a,
                        const ActionSpace& space);

}  // namespace svln::sim
