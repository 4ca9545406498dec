#include "sim/measures.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sim/path_finder.h"

namespace svln::sim {

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
}

std::vector<std::pair<std::string, double>> namedValues(const EpisodeMetrics& m) {
  return {{"distance_to_goal", m.distance_to_goal},
          {"success", m.success},
          {"spl", m.spl},
          {"oracle_success", m.oracle_success},
          {"oracle_navigation_error", m.oracle_navigation_error},
          {"path_length", m.path_length},
          {"navigation_error", m.navigation_error},
          {"ndtw", m.ndtw},
          {"sdtw", m.sdtw},
          {"steps", m.steps},
          {"collisions", m.collisions}};
}

float dtw(const std::vector<Vec3>& a, const std::vector<Vec3>& b) {
  if (a.empty() || b.empty()) return kInf;
  // Two rows suffice: row i only reads row i-1.
  std::vector<float> prev(b.size()), cur(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      const float d = distance(a[i], b[j]);
      float best;
      if (i == 0 && j == 0)
        best = 0.f;
      else if (i == 0)
        best = cur[j - 1];
      else if (j == 0)
        best = prev[j];
      else
        best = std::min({prev[j], cur[j - 1], prev[j - 1]});
      cur[j] = d + best;
    }
    std::swap(prev, cur);
  }
  return prev.back();
}

float ndtw(const std::vector<Vec3>& agent, const std::vector<Vec3>& reference,
           float success_distance) {
  if (agent.empty() || reference.empty()) return 0.f;
  return std::exp(-dtw(agent, reference) /
                  (static_cast<float>(reference.size()) * success_distance));
}

float spl(bool success, float shortest, float path_length) {
  if (!success) return 0.f;
  const float denom = std::max(shortest, path_length);
  return denom > 0.f ? shortest / denom : 1.f;
}

float EpisodeMeasures::distanceToGoal(const Vec3& p) const {
  // Habitat's DistanceToGoal: +inf when no path exists (another island, or beyond its search
  // limits). Without a scene (`streamvln score`), the straight line.
  if (pf_) return pf_->geodesicDistance(p, goals_);
  float best = kInf;
  for (const Vec3& goal : goals_) best = std::min(best, distance(p, goal));
  return best;
}

NdtwReference parseNdtwReference(const std::string& name) {
  if (name == "gt") return NdtwReference::kGt;
  if (name == "reference_path") return NdtwReference::kReferencePath;
  throw std::runtime_error("--ndtw_reference " + name + ": not one of gt, reference_path");
}

const char* ndtwReferenceName(NdtwReference r) {
  return r == NdtwReference::kGt ? "gt" : "reference_path";
}

void EpisodeMeasures::reset(const Episode& ep, const PathFinder* pf, const AgentState& start) {
  if (ep.goals.empty())
    throw std::runtime_error("episode " + ep.episode_id + ": no goals, cannot measure");
  pf_ = pf;
  was_reset_ = false;
  goals_.clear();
  for (const Goal& g : ep.goals) goals_.push_back(g.position);
  if (reference_kind_ == NdtwReference::kGt && ep.gt_locations.empty())
    throw std::runtime_error("episode " + ep.episode_id +
                             ": no gt locations (the split's _gt.json.gz) to measure nDTW "
                             "against; --ndtw_reference reference_path uses reference_path");
  reference_ = reference_kind_ == NdtwReference::kGt ? ep.gt_locations : ep.reference_path;
  if (reference_.empty()) reference_.push_back(goals_.front());  // test splits carry no path
  dtw_row_.assign(reference_.size(), 0.f);
  dtw_next_.assign(reference_.size(), 0.f);
  agent_points_ = 0;
  stop_called_ = false;
  m_ = EpisodeMetrics{};
  prev_position_ = start.position;

  const float d0 = distanceToGoal(start.position);
  // Habitat's SPL takes DistanceToGoal at reset (+inf when unreachable: SPL is then NaN);
  // without a scene, the episode's stored geodesic.
  m_.shortest_path_length = pf ? d0 : ep.geodesic_distance;
  m_.oracle_navigation_error = d0;
  addPathPoint(start.position);
  m_.distance_to_goal = d0;
  refresh();
  was_reset_ = true;
}

void EpisodeMeasures::addPathPoint(const Vec3& p) {
  // VLN-CE's NDTW appends a position only when it differs from the last one, so turning in
  // place does not stretch the warping.
  if (agent_points_ > 0 && p == last_point_) return;
  const size_t n = reference_.size();
  for (size_t j = 0; j < n; ++j) {
    const float d = distance(p, reference_[j]);
    float best;
    if (agent_points_ == 0)
      best = j == 0 ? 0.f : dtw_next_[j - 1];
    else if (j == 0)
      best = dtw_row_[0];
    else
      best = std::min({dtw_row_[j], dtw_next_[j - 1], dtw_row_[j - 1]});
    dtw_next_[j] = d + best;
  }
  std::swap(dtw_row_, dtw_next_);
  last_point_ = p;
  ++agent_points_;
}

void EpisodeMeasures::refresh() {
  m_.navigation_error = m_.distance_to_goal;
  m_.oracle_navigation_error = std::min(m_.oracle_navigation_error, m_.distance_to_goal);
  m_.oracle_success = m_.oracle_navigation_error < success_distance_ ? 1.f : 0.f;
  const bool success = stop_called_ && m_.distance_to_goal < success_distance_;
  m_.success = success ? 1.f : 0.f;
  // Habitat: success * d0 / max(d0, PL) is 0 * inf / inf = NaN when the goal was unreachable.
  m_.spl = std::isfinite(m_.shortest_path_length)
               ? spl(success, m_.shortest_path_length, m_.path_length)
               : std::numeric_limits<float>::quiet_NaN();
  m_.ndtw =
      std::exp(-dtw_row_.back() / (static_cast<float>(reference_.size()) * success_distance_));
  m_.sdtw = m_.success * m_.ndtw;
}

void EpisodeMeasures::update(const AgentState& state, Action action, bool collided) {
  if (!was_reset_) throw std::logic_error("EpisodeMeasures::update before reset");
  ++m_.steps;
  m_.collisions += collided ? 1 : 0;
  if (action == Action::Stop) stop_called_ = true;
  m_.path_length += distance(state.position, prev_position_);
  prev_position_ = state.position;
  m_.distance_to_goal = distanceToGoal(state.position);
  addPathPoint(state.position);
  refresh();
}

std::vector<std::pair<std::string, double>> MetricsSummary::namedValues() const {
  return {{"episodes", episodes},
          {"distance_to_goal", distance_to_goal},
          {"success", success},
          {"spl", spl},
          {"oracle_success", oracle_success},
          {"oracle_navigation_error", oracle_navigation_error},
          {"path_length", path_length},
          {"navigation_error", navigation_error},
          {"ndtw", ndtw},
          {"sdtw", sdtw},
          {"steps", steps},
          {"collisions", collisions},
          {"unreachable", unreachable}};
}

MetricsSummary summarize(const std::vector<EpisodeMetrics>& per_episode) {
  MetricsSummary s;
  s.episodes = static_cast<int>(per_episode.size());
  if (per_episode.empty()) return s;
  for (const EpisodeMetrics& m : per_episode) {
    s.distance_to_goal += m.distance_to_goal;
    s.success += m.success;
    s.spl += m.spl;
    s.oracle_success += m.oracle_success;
    s.oracle_navigation_error += m.oracle_navigation_error;
    s.path_length += m.path_length;
    s.navigation_error += m.navigation_error;
    s.ndtw += m.ndtw;
    s.sdtw += m.sdtw;
    s.steps += m.steps;
    s.collisions += m.collisions;
    s.unreachable += std::isfinite(m.navigation_error) && !std::isnan(m.spl) ? 0 : 1;
  }
  const double n = static_cast<double>(per_episode.size());
  for (double* v :
       {&s.distance_to_goal, &s.success, &s.spl, &s.oracle_success, &s.oracle_navigation_error,
        &s.path_length, &s.navigation_error, &s.ndtw, &s.sdtw, &s.steps, &s.collisions}) {
    *v /= n;
  }
  return s;
}

}  // namespace svln::sim
