// streamvln score: VLN-CE's measures for agent paths produced anywhere (another simulator,
// a real robot, a baseline written in Python):
//
//   streamvln score --episodes val_unseen.json.gz --trajectories paths.json [--scenes_dir DIR]
//
//   paths.json = {"<episode_id>": {"positions": [[x, y, z], ...], "stop": true}, ...}
//
// Each trajectory is replayed through sim::EpisodeMeasures: positions[0] is where the agent
// stood at the start, every later one a step, and "stop" a final STOP. With --scenes_dir
// the episode's scene navmesh gives geodesic distances: <scene>.navmesh beside the GLB when it
// was built for the agent (--agent_radius/--agent_height, Habitat's by default), else one
// built from the GLB in memory for that agent, as habitat-sim recomputes it;
// without it distances are straight lines and SPL uses the episodes' stored geodesic
// distance, and the output says so. The summary goes to stdout as JSON, keyed as `eval`'s.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "cli/command.h"
#include "io/train_flags.h"
#include "rl/evaluate.h"
#include "sim/episode.h"
#include "sim/gzip_io.h"
#include "sim/measures.h"
#include "sim/path_finder.h"
#include "sim/scene_cache.h"

namespace svln::cli {
namespace {

namespace fs = std::filesystem;

struct ScoreOptions {
  std::string episodes;
  std::string trajectories;
  std::string scenes_dir;
  float success_distance = 3.f;
  sim::NdtwReference ndtw_reference = sim::NdtwReference::kGt;
  bool habitat_path_limits = true;
  sim::NavMeshSettings agent;  // agent_radius / agent_height of the navmesh (Habitat's default)
  std::string out;  // per-episode metrics as JSON (optional)
};

std::vector<sim::Vec3> positionsOf(const nlohmann::json& t, const std::string& file,
                                   const std::string& id) {
  const auto bad = [&](const std::string& what) {
    return std::runtime_error(file + ": episode " + id + ": " + what);
  };
  if (!t.is_object()) throw bad("expected {\"positions\": [[x, y, z], ...], \"stop\": bool}");
  const auto p = t.find("positions");
  if (p == t.end() || !p->is_array() || p->empty())
    throw bad("\"positions\" must be a non-empty array of [x, y, z]");
  std::vector<sim::Vec3> out;
  for (const nlohmann::json& v : *p) {
    if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() ||
        !v[2].is_number())
      throw bad("every position must be [x, y, z] numbers");
    const sim::Vec3 q{v[0].get<float>(), v[1].get<float>(), v[2].get<float>()};
    if (!std::isfinite(q.x) || !std::isfinite(q.y) || !std::isfinite(q.z))
      throw bad("positions must be finite");
    out.push_back(q);
  }
  return out;
}

int runScore(const ScoreOptions& o) {
  spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON summary alone
  sim::EpisodeDataset data = sim::loadEpisodes(o.episodes);
  std::map<std::string, const sim::Episode*> by_id;
  for (const sim::Episode& e : data.episodes) by_id[e.episode_id] = &e;
  const std::string text = sim::readFileMaybeGzip(o.trajectories);
  const nlohmann::json root = nlohmann::json::parse(text, nullptr, false);
  if (root.is_discarded() || !root.is_object())
    throw std::runtime_error(o.trajectories + ": expected a JSON object keyed by episode id");
  if (root.empty()) throw std::runtime_error(o.trajectories + ": no trajectories");

  std::map<std::string, std::unique_ptr<sim::PathFinder>> navmeshes;
  auto navmeshFor = [&](const sim::Episode& ep) -> const sim::PathFinder* {
    if (o.scenes_dir.empty()) return nullptr;
    auto& pf = navmeshes[ep.scene_id];
    if (!pf) {
      const fs::path scene = fs::path(o.scenes_dir) / ep.scene_id;
      try {
        pf = sim::loadNavMeshForAgent(scene.string(), o.agent);
      } catch (const std::exception& e) {
        throw std::runtime_error(std::string(e.what()) + " (episode " + ep.episode_id +
                                 "'s scene; --scenes_dir)");
      }
      pf->setSearchLimits(o.habitat_path_limits ? sim::PathSearchLimits{}
                                                : sim::PathSearchLimits::unlimited());
    }
    return pf.get();
  };

  nlohmann::json per_episode = nlohmann::json::array();
  std::vector<sim::EpisodeMetrics> metrics;
  for (const auto& [id, t] : root.items()) {
    const auto it = by_id.find(id);
    if (it == by_id.end())
      throw std::runtime_error(o.trajectories + ": episode " + id + " is not in " + o.episodes);
    const sim::Episode& ep = *it->second;
    const std::vector<sim::Vec3> pos = positionsOf(t, o.trajectories, id);
    const auto stop = t.find("stop");
    if (stop != t.end() && !stop->is_boolean())
      throw std::runtime_error(o.trajectories + ": episode " + id + ": \"stop\" must be true or false");
    sim::EpisodeMeasures m(o.success_distance, o.ndtw_reference);
    m.reset(ep, navmeshFor(ep), sim::AgentState{pos.front(), 0.f});
    for (size_t i = 1; i < pos.size(); ++i)
      m.update(sim::AgentState{pos[i], 0.f}, sim::Action::MoveForward, false);
    if (stop != t.end() && stop->get<bool>())
      m.update(sim::AgentState{pos.back(), 0.f}, sim::Action::Stop, false);
    nlohmann::json e = {{"episode_id", id}};
    for (const auto& [k, v] : sim::namedValues(m.metrics())) e[k] = v;
    per_episode.push_back(std::move(e));
    metrics.push_back(m.metrics());
  }
  nlohmann::json summary;
  for (const auto& [k, v] : rl::evalSummary(metrics)) summary[k] = v;
  summary["ndtw_reference"] = sim::ndtwReferenceName(o.ndtw_reference);
  summary["distance"] = o.scenes_dir.empty() ? "euclidean" : "geodesic";
  summary["aggregation"] = sim::kUnreachableNote;
  std::printf("%s\n", summary.dump().c_str());
  if (!o.out.empty()) {
    nlohmann::json all = summary;
    all["per_episode"] = std::move(per_episode);
    sim::writeFileAtomic(o.out, all.dump(1) + "\n");
  }
  return 0;
}

const RegisterCommand kRegister(
    "score", "VLN-CE's measures for agent paths produced anywhere (JSON positions per episode)",
    [](CLI::App& app) {
      auto o = std::make_shared<ScoreOptions>();
      app.add_option("--episodes", o->episodes,
                     "VLN-CE episode file (.json.gz); its _gt.json.gz beside it is read too")
          ->required();
      app.add_option("--trajectories", o->trajectories,
                     "{\"<episode_id>\": {\"positions\": [[x, y, z], ...], \"stop\": true}}")
          ->required();
      app.add_option("--scenes_dir", o->scenes_dir,
                     "folder the episodes' scene_ids are relative to, with a .navmesh beside "
                     "each scene: geodesic distances (without it: straight lines)");
      app.add_option("--agent_radius", o->agent.agent_radius,
                     "m; the navmesh's agent: the scene's .navmesh when built for it, else one "
                     "built from the scene in memory, as habitat-sim does (RxR-CE: 0.18)")
          ->check(CLI::Range(0.01, 2.0))
          ->capture_default_str();
      app.add_option("--agent_height", o->agent.agent_height, "m; (RxR-CE: 0.88)")
          ->check(CLI::Range(0.1, 5.0))
          ->capture_default_str();
      app.add_option("--success_distance", o->success_distance, "success radius (m)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      io::addNdtwReferenceFlag(app, o->ndtw_reference);
      io::addPathSearchLimitsFlag(app, o->habitat_path_limits);
      app.add_option("--out", o->out, "also write the summary and per-episode metrics here");
      return [o] { return runScore(*o); };
    });

}  // namespace
}  // namespace svln::cli
