// VLN-CE's episode metrics (habitat_extensions/measures.py + habitat's nav measures):
//
//   distance_to_goal  geodesic distance from the agent to the nearest goal (DistanceToGoal)
//   success           STOP called and distance_to_goal < success_distance (Success)
//   spl               success * d_shortest / max(d_shortest, path_length); d_shortest is
//                     the geodesic start->goal distance taken at reset (SPL)
//   oracle_success    min over the trajectory of distance_to_goal < success_distance
//   oracle_navigation_error  that minimum
//   path_length       sum of euclidean distances between consecutive positions
//   navigation_error  distance_to_goal when the episode ended
//   ndtw              exp(-DTW(agent, reference) / (|reference| * success_distance)),
//                     euclidean point distance; agent positions deduplicated as VLN-CE does
//   sdtw              success * ndtw
//   steps             actions taken, STOP included (StepsTaken);  collisions: moves cut short
//
// Unreachable goals as in Habitat: distance_to_goal (so navigation_error) is +inf where no
// path leads to a goal, and spl is NaN when none did from the start (0 * inf / inf).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/vec3.h"

namespace svln::sim {

class PathFinder;

struct EpisodeMetrics {
  float distance_to_goal = 0.f;
  float success = 0.f;
  float spl = 0.f;
  float oracle_success = 0.f;
  float oracle_navigation_error = 0.f;
  float path_length = 0.f;
  float navigation_error = 0.f;
  float ndtw = 0.f;
  float sdtw = 0.f;
  int steps = 0;
  int collisions = 0;
  float shortest_path_length = 0.f;  // geodesic start -> goal at reset (SPL's denominator)
};

// (name, value) pairs in a fixed order, for logs and metrics.jsonl.
std::vector<std::pair<std::string, double>> namedValues(const EpisodeMetrics& m);

// Classic DTW (Berndt & Clifford) with euclidean point distance:
//   D[i][j] = |a_i - b_j| + min(D[i-1][j], D[i][j-1], D[i-1][j-1]),  DTW = D[n-1][m-1].
// Infinity when either list is empty.
float dtw(const std::vector<Vec3>& a, const std::vector<Vec3>& b);
// exp(-DTW(agent, reference) / (|reference| * success_distance)).
float ndtw(const std::vector<Vec3>& agent, const std::vector<Vec3>& reference,
           float success_distance = 3.f);
// success * shortest / max(shortest, path_length); 0 when shortest and path are both 0.
float spl(bool success, float shortest, float path_length);

// What nDTW/SDTW measure the agent's path against (--ndtw_reference).
//   gt:             the episode's gt_locations from {split}_gt.json.gz, as VLN-CE does; an
//                   episode without them is an error (no silent change of reference).
//   reference_path: the episode's reference_path (R2R's sparse waypoints), an explicit
//                   fallback for data without gt files; a perfect agent scores below 1.
enum class NdtwReference { kGt, kReferencePath };
NdtwReference parseNdtwReference(const std::string& name);  // throws naming --ndtw_reference
const char* ndtwReferenceName(NdtwReference r);              // "gt" | "reference_path"

// Incremental metrics of one episode: reset() at the start, update() after every action.
// Costs one geodesic query and O(|reference|) DTW work per step; no allocation after reset.
class EpisodeMeasures {
 public:
  explicit EpisodeMeasures(float success_distance = 3.f,
                           NdtwReference reference = NdtwReference::kGt)
      : success_distance_(success_distance), reference_kind_(reference) {}

  // `start` is the agent's state after it was placed (usually the episode's start). The
  // nDTW reference is the episode's gt_locations, or its reference_path (see
  // NdtwReference). Throws when the episode has no goals, or no gt_locations under kGt.
  void reset(const Episode& ep, const PathFinder& pf, const AgentState& start) {
    reset(ep, &pf, start);
  }
  // pf null: no scene at hand; distances are straight lines and SPL's shortest path is the
  // episode's stored geodesic_distance (`streamvln score` without scenes).
  void reset(const Episode& ep, const PathFinder* pf, const AgentState& start);
  // `state` is the agent's state after `action`.
  void update(const AgentState& state, Action action, bool collided);

  const EpisodeMetrics& metrics() const { return m_; }
  bool stopCalled() const { return stop_called_; }
  float successDistance() const { return success_distance_; }

 private:
  float distanceToGoal(const Vec3& p) const;
  void addPathPoint(const Vec3& p);
  void refresh();

  float success_distance_;
  NdtwReference reference_kind_;
  const PathFinder* pf_ = nullptr;
  bool was_reset_ = false;
  std::vector<Vec3> goals_;
  std::vector<Vec3> reference_;
  std::vector<float> dtw_row_;  // last row of the DTW matrix over the reference
  std::vector<float> dtw_next_;
  int agent_points_ = 0;
  Vec3 last_point_;
  Vec3 prev_position_;
  bool stop_called_ = false;
  EpisodeMetrics m_;
};

// Mean of every metric over episodes (steps and collisions as means too), as Habitat's
// np.mean: one unreachable episode makes the mean navigation_error +inf and the mean spl NaN
// (JSON writes both as null). `unreachable` counts those episodes (infinite
// navigation_error or NaN spl); kUnreachableNote says so in summaries.
inline constexpr const char* kUnreachableNote =
    "np.mean as Habitat: an unreachable episode (no path to a goal) has navigation_error inf "
    "and, when unreachable from the start, spl NaN; the means then are inf / NaN (null in JSON)";
struct MetricsSummary {
  int episodes = 0;
  double distance_to_goal = 0, success = 0, spl = 0, oracle_success = 0,
         oracle_navigation_error = 0, path_length = 0, navigation_error = 0, ndtw = 0, sdtw = 0,
         steps = 0, collisions = 0;
  int unreachable = 0;
  std::vector<std::pair<std::string, double>> namedValues() const;
};
MetricsSummary summarize(const std::vector<EpisodeMetrics>& per_episode);

}  // namespace svln::sim
