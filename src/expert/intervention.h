// Expert intervention (shared/spec/trainer-flags.md, "Expert intervention"): one object per
// environment, reset per episode, stepped once per action. It watches the policy, lets the
// shortest-path expert take over when the agent is off track, hands control back once the
// agent is near the path and facing along it, protects the goal zone and forces a STOP
// when the agent lingers there. Every step also yields the expert's action at the visited
// state, the SFT label. State machine and interpretation choices: docs/expert.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "expert/shortest_path_follower.h"
#include "sim/agent.h"
#include "sim/path_finder.h"
#include "sim/vec3.h"

namespace svln::expert {

enum class RecoveryMode { Takeover, Rollback };
const char* recoveryModeName(RecoveryMode m);
RecoveryMode parseRecoveryMode(const std::string& s);  // throws on anything else

// Field names and defaults are the trainer's flags.
struct InterventionConfig {
  bool enable_recovery = true;
  float offtrack_dist_thresh = 3.0f;           // m
  float offtrack_heading_thresh_deg = 120.0f;  // deg
  float heading_guard_dist = 3.0f;             // m
  int offtrack_patience = 8;                   // steps, >= 1
  int lookahead_k = 1;                         // waypoints, >= 1
  float recovery_dist_thresh = 2.0f;           // m, < offtrack_dist_thresh
  float recovery_heading_thresh_deg = 45.0f;   // deg
  int recovery_max_steps = 100;                // steps, >= 1
  float goal_radius = 3.0f;                    // m (geodesic)
  int goal_grace_steps = 7;                    // steps, >= 0
  int goal_stop_patience = 5;                  // steps, >= 0 (0 disables the forced STOP)
  RecoveryMode recovery_mode = RecoveryMode::Takeover;
  // Rollback mode also cuts a policy that is stuck, i.e. whose position moved less than
  // stuck_move_m over the last stuck_steps steps outside the goal zone (longer than a full
  // turn in place: 24 turns of 15 degrees). 0 disables it (--stuck_motion_steps).
  int stuck_steps = 30;
  float stuck_move_m = 0.25f;
  // BudVLN's rollback triggers and demonstration (shared/spec/budvln-reference.md, G: =
  // streamvln_grpo_train.py), each off by default; a trigger cuts the policy's trajectory
  // and the expert demonstrates from rollbackStart(), in either recovery mode.
  //   premature_stop_rollback: a policy STOP outside the goal zone (G:1299-1341).
  //   goal_zone_rollback: the goal-zone timeout cuts instead of forcing a STOP, with the
  //     reference's counter: reset whenever the agent leaves the zone, firing at zone step
  //     goal_grace_steps + goal_stop_patience (the 12th with 7 and 5) when the policy
  //     proposes anything but STOP (G:869-895, 1252-1296).
  //   stuck_enable: stuck_patience steps outside the zone with the same nearest waypoint
  //     (argmin over the reference path, not monotonic), not while the expert drives
  //     (G:947-992).
  //   rollback_to_own_pose: rollbackStart() is the agent's own pose when its nearest
  //     waypoint last changed outside the zone (else the episode's start), not the
  //     waypoint itself (G:902-916, 1003-1011).
  //   demo_towards_goal: demonstrate() follows the shortest path straight to the goal with a
  //     follower of stop radius oracle_goal_radius_m, not the reference waypoints
  //     (G:1579-1752). oracle_goal_radius_m is the demonstration's stop radius either way
  //     (0: expert_stop_radius_m).
  bool premature_stop_rollback = false;
  bool goal_zone_rollback = false;
  bool stuck_enable = false;
  int stuck_patience = 60;  // steps, >= 1
  bool rollback_to_own_pose = false;
  bool demo_towards_goal = false;
  float oracle_goal_radius_m = 0.f;  // m, >= 0
  // The label of a policy step: the oracle's action towards the goal (true: VLN-CE's
  // DAgger oracle, the geodesic shortest-path follower to the goal) or along the reference
  // waypoints (false: the takeover expert's target). The waypoint label says "turn back to
  // the path" while the policy walks a shortcut to the goal, which SFT then teaches.
  // The trainer's --sft_label_target (default goal); the `expert` command keeps the
  // waypoint label, the action its stand-in expert takes.
  bool label_towards_goal = false;
  // Not a trainer flag: the expert's own STOP radius around the goal (VLN-CE's oracle).
  float expert_stop_radius_m = ShortestPathFollower::kDefaultStopRadiusM;
  // The expert's follower (the trainer's, sft's and the expert command's --follower).
  FollowerRule follower = FollowerRule::Heading;

  // Throws std::runtime_error("--<flag>: <problem>") for out-of-range values and for
  // recovery_dist_thresh >= offtrack_dist_thresh.
  void validate() const;
};

enum class Source { Policy, Expert };
const char* sourceName(Source s);

// Why control changed hands (or the episode was ended) at this step.
enum class Reason {
  None,
  OfftrackDistance,  // expert takes over: too far from the reference path
  OfftrackHeading,   // expert takes over: facing away from the target beyond the guard
  GoalZone,          // recovery ends because the agent entered the goal zone
  ForcedStop,        // the agent lingered in the goal zone: STOP forced
  SafetyStop,        // recovery lasted recovery_max_steps (or the expert has no path)
  Recovered,         // recovery ends: near the path and facing along it
  Stuck,             // rollback mode: the policy has not moved for stuck_steps steps
  StuckAtWaypoint,   // stuck_enable: stuck_patience steps at the same nearest waypoint
  PrematureStop,     // premature_stop_rollback: the policy's STOP outside the goal zone
  ZoneTimeout,       // goal_zone_rollback: the goal-zone patience ran out
};
const char* reasonName(Reason r);

struct InterventionCounters {
  int recoveries_triggered = 0;
  int recoveries_completed = 0;  // ended by Recovered or GoalZone (never by SafetyStop)
  int forced_stops = 0;
  int expert_steps = 0;  // steps whose executed action came from the expert
  int policy_steps = 0;
  int steps() const { return expert_steps + policy_steps; }
  // Oracle Rate = expert-controlled steps / all steps.
  double oracleRate() const { return steps() > 0 ? double(expert_steps) / steps() : 0.0; }
  InterventionCounters& operator+=(const InterventionCounters& o);
};

// What the state machine measured at the visited state.
struct PathMeasures {
  float path_distance_m = 0.f;    // point-to-polyline, horizontal plane
  float heading_error_deg = 0.f;  // |angle(forward, direction to target waypoint)|, [0, 180]
  float goal_geodesic_m = 0.f;    // geodesic distance to the nearest goal
  int nearest_index = 0;          // never decreases within an episode
  int target_index = 0;           // min(nearest + lookahead_k, last)
  bool in_goal_zone = false;      // goal_geodesic_m < goal_radius
  bool offtrack = false;          // this state met an off-track condition (outside the zone)
};

struct Decision {
  sim::Action action = sim::Action::Stop;  // the action to execute
  Source source = Source::Policy;
  sim::Action expert_action = sim::Action::Stop;           // the SFT label at this state
  FollowStatus expert_status = FollowStatus::Unreachable;  // Unreachable: label invalid
  Reason reason = Reason::None;
  // The episode ends after this step: an executed STOP (policy, expert or forced), a
  // safety stop, or (rollback mode) the cut of the policy's trajectory.
  bool episode_over = false;
  // Rollback mode: the policy's trajectory is cut here and `action` is not executed; the
  // expert demonstrates from Intervention::rollbackStart() instead (SFT data only).
  bool rollback = false;
  int offtrack_count = 0;   // consecutive off-track states, this one included
  int recovery_steps = 0;   // expert steps of the active recovery, this one included
  int goal_zone_steps = 0;  // steps taken in the goal zone, this one included
  PathMeasures measures;
};

// One expert step of a demonstration (rollback mode, or `demonstrate`).
struct DemoStep {
  sim::AgentState state;  // before the action
  sim::Action action;
};

class Intervention {
 public:
  // The config is validated here (throws like InterventionConfig::validate).
  Intervention(const InterventionConfig& cfg, const sim::ActionSpace& space);

  // Starts an episode. `pf` must outlive the episode; `reference_path` needs at least one
  // point and `goals` at least one (throws std::invalid_argument otherwise).
  void reset(const sim::PathFinder& pf, const std::vector<sim::Vec3>& reference_path,
             const std::vector<sim::Vec3>& goals);

  // The expert's action at `s` (what step() would record as the label), without advancing
  // any state: a stand-in "expert" policy calls this before step().
  FollowResult expertAction(const sim::AgentState& s) const;

  // One step: `s` is the state the action is taken from, `policy_action` what the policy
  // proposes there. Must not be called again after a decision with episode_over.
  Decision step(const sim::AgentState& s, sim::Action policy_action);

  // Measures at `s` without advancing any state.
  PathMeasures measure(const sim::AgentState& s) const;

  // Whether step(s, ...) will execute the expert's action whatever the policy proposes: a
  // recovery is active and does not end at `s`. A streaming policy asks this before it
  // decodes, so it never proposes for a step the expert drives.
  bool expertControls(const sim::AgentState& s) const;

  const InterventionCounters& counters() const { return counters_; }
  bool recovering() const { return recovering_; }
  const InterventionConfig& config() const { return cfg_; }

  // Rollback mode: the state the world is restored to after a cut, at the last reference
  // waypoint the agent passed (the nearest index; 0 = the start), facing the next one; with
  // rollback_to_own_pose the agent's pose when its nearest waypoint last changed.
  sim::AgentState rollbackStart() const;
  // The reference waypoint rollbackStart() stands on (pass it to demonstrate()).
  int rollbackWaypoint() const {
    return cfg_.rollback_to_own_pose ? std::max(0, pose_waypoint_) : nearest_;
  }
  // The expert's demonstration from `start` along the reference path (waypoints from
  // `first_waypoint` on) to the goal, or with demo_towards_goal straight to it, ending with
  // its STOP (within oracle_goal_radius_m); at most max_steps actions. Empty when the
  // expert has no path. Uses sim::applyAction, so it replays exactly.
  std::vector<DemoStep> demonstrate(const sim::AgentState& start, int first_waypoint,
                                    int max_steps) const;

 private:
  int nearestIndex(const sim::Vec3& p, int floor_index) const;
  int targetIndex(int nearest) const;
  bool recoveredAt(const PathMeasures& m) const;  // the hand-back rule
  PathMeasures measureAt(const sim::AgentState& s, int nearest) const;
  const sim::Vec3& nearestGoal(const sim::Vec3& p) const;
  FollowResult expertFrom(const sim::AgentState& s, int target_index) const;
  void requireReset(const char* what) const;
  // The argmin waypoint outside the goal zone: steps at it and the pose when it changed.
  void trackWaypoint(const sim::AgentState& s, const PathMeasures& m);

  InterventionConfig cfg_;
  sim::ActionSpace space_;
  float offtrack_heading_rad_, recovery_heading_rad_;
  const sim::PathFinder* pf_ = nullptr;
  std::optional<ShortestPathFollower> follower_;  // bound to pf_ at reset
  std::vector<sim::Vec3> path_;
  std::vector<sim::Vec3> goals_;
  // Episode state.
  int nearest_ = 0;
  bool recovering_ = false;
  int offtrack_count_ = 0;
  std::vector<sim::Vec3> recent_;  // policy positions outside the goal zone (stuck test)
  int recovery_steps_ = 0;
  int goal_zone_steps_ = 0;
  // BudVLN's waypoint bookkeeping outside the goal zone: the argmin waypoint, steps since it
  // last changed (stuck_enable), the agent's pose then (rollback_to_own_pose); the first
  // state of the episode.
  int pose_waypoint_ = -1;
  int steps_at_waypoint_ = 0;
  std::optional<sim::AgentState> waypoint_pose_, start_state_;
  bool over_ = false;
  InterventionCounters counters_;
};

// Point-to-polyline distance in the horizontal (XZ) plane.
float polylineDistance2d(const sim::Vec3& p, const std::vector<sim::Vec3>& polyline);

}  // namespace svln::expert
