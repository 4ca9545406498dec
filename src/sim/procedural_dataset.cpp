#include "sim/procedural_dataset.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>

#include "sim/agent.h"
#include "sim/gltf_io.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "sim/instruction_generator.h"

namespace svln::sim {
namespace {

namespace fs = std::filesystem;
constexpr float kPi = 3.14159265358979323846f;
const char* const kSplits[] = {"train", "val_seen", "val_unseen"};

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from one raw draw (our own mapping, identical on every platform).
float unit(std::mt19937_64& rng) {
  return static_cast<float>(static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0));
}

// Inserts points so no two consecutive ones are more than `spacing` apart.
std::vector<Vec3> densify(const std::vector<Vec3>& pts, float spacing) {
  std::vector<Vec3> out{pts.front()};
  for (size_t i = 1; i < pts.size(); ++i) {
    const float len = distance(pts[i - 1], pts[i]);
    const int pieces = std::max(1, static_cast<int>(std::ceil(len / spacing - 1e-4f)));
    for (int k = 1; k <= pieces; ++k) {
      out.push_back(k == pieces
                        ? pts[i]
                        : pts[i - 1] + (pts[i] - pts[i - 1]) * (static_cast<float>(k) / pieces));
    }
  }
  return out;
}

// A standing spot 0.45 m in front of one side of the object's footprint.
// Yaw that faces from the path's start toward its point one metre along (the last point
// of a shorter path): forward = (-sin h, 0, -cos h), so h = atan2(-dx, -dz).
float pathHeading(const std::vector<Vec3>& path) {
  float walked = 0.f;
  Vec3 target = path.back();
  for (size_t i = 1; i < path.size(); ++i) {
    walked += distance(path[i - 1], path[i]);
    if (walked >= 1.f) {
      target = path[i];
      break;
    }
  }
  return std::atan2(-(target.x - path.front().x), -(target.z - path.front().z));
}

Vec3 spotBeside(const SceneObject& o, int side) {
  const Vec3 c = (o.bbox_min + o.bbox_max) * 0.5f;
  const float off = 0.45f;
  switch (side) {
    case 0:
      return {c.x, 0, o.bbox_min.z - off};
    case 1:
      return {c.x, 0, o.bbox_max.z + off};
    case 2:
      return {o.bbox_min.x - off, 0, c.z};
    default:
      return {o.bbox_max.x + off, 0, c.z};
  }
}

// Ground truth as in VLN-CE's {split}_gt.json.gz: the discrete actions of a greedy
// shortest-path follower (face the next corner within half a turn step, else turn towards
// it; STOP within one forward step of the goal) and the position before each action.
// False when the follower stalls (no new best distance for 40 steps) or runs past max_steps.
bool replayShortestPath(const PathFinder& pf, const Vec3& start, float heading, const Vec3& goal,
                        const ActionSpace& space, int max_steps, std::vector<int>& actions,
                        std::vector<Vec3>& locations) {
  constexpr float kDegToRad = kPi / 180.f;
  actions.clear();
  locations.clear();
  AgentState s{start, heading};
  float best = std::numeric_limits<float>::infinity();
  int since_best = 0;
  std::vector<Vec3> path;
  for (int step = 0; step < max_steps; ++step) {
    locations.push_back(s.position);
    float remaining = 0.f;
    if (!pf.findPath(s.position, goal, path, &remaining)) return false;
    if (remaining < space.forward_step_m) {
      actions.push_back(static_cast<int>(Action::Stop));
      return true;
    }
    if (remaining < best - 1e-3f) {
      best = remaining;
      since_best = 0;
    } else if (++since_best > 40) {
      return false;
    }
    Vec3 next = path.back();
    for (const Vec3& p : path)
      if (horizontalDistance(p, s.position) > 0.05f) {
        next = p;
        break;
      }
    // heading h looks along (-sin h, 0, -cos h).
    const float want = std::atan2(-(next.x - s.position.x), -(next.z - s.position.z));
    const float diff = wrapAngle(want - s.heading_rad);
    Action a = Action::MoveForward;
    if (std::fabs(diff) > 0.5f * space.turn_angle_deg * kDegToRad)
      a = diff > 0 ? Action::TurnLeft : Action::TurnRight;
    actions.push_back(static_cast<int>(a));
    s = applyAction(pf, s, a, space).state;
  }
  return false;
}

// Moves the staged dataset into place, replacing what an earlier run left there.
void publish(const fs::path& staging, const fs::path& out) {
  fs::create_directories(out);
  for (const char* item : {"scenes", "episodes", "config.yaml"})  // a file is published alike
    publishDirectory((staging / item).string(), (out / item).string());
  removeTree(staging.string());
}

// `p` snapped onto the navmesh, when that moves it at most 10 cm horizontally and lands on
// `island`; nullopt otherwise.
std::optional<Vec3> snapOnto(const PathFinder& pf, const Vec3& p, int island) {
  const Vec3 q = pf.snapPoint(p);
  if (std::isnan(q.x) || horizontalDistance(q, p) > 0.1f || pf.islandIndex(q) != island)
    return std::nullopt;
  return q;
}

// The episode that walks `reference` (a densified shortest path of length `geodesic`) from
// its first point, facing `heading`, told `text`, with its ground truth from the
// shortest-path replay; nullopt when the replay does not reach the goal.
std::optional<Episode> routeEpisode(const PathFinder& pf, const std::string& scene_id,
                                    std::vector<Vec3> reference, float geodesic, float heading,
                                    const std::string& text, const GenDataOptions& opt) {
  Episode ep;
  ep.scene_id = scene_id;
  ep.start_position = reference.front();
  ep.start_rotation = quatFromHeading(heading);
  ep.goals.push_back({reference.back(), 3.f});
  ep.reference_path = std::move(reference);
  ep.instruction.instruction_text = text;
  ep.geodesic_distance = geodesic;
  ep.info = {{"geodesic_distance", geodesic}};
  std::vector<Vec3> before_each_action;
  const Vec3& goal = ep.goals[0].position;
  const bool reached =
      opt.ground_truth
          ? opt.ground_truth(pf, {ep.start_position, heading}, goal, opt.actions,
                             opt.max_episode_steps, ep.gt_actions, before_each_action)
          : replayShortestPath(pf, ep.start_position, heading, goal, opt.actions,
                               opt.max_episode_steps, ep.gt_actions, before_each_action);
  if (!reached || before_each_action.empty() ||
      distance(before_each_action.back(), goal) > kGtFinalRadiusM)
    return std::nullopt;
  ep.gt_locations = dedupLocations(before_each_action);
  return ep;
}

}  // namespace

std::vector<Vec3> dedupLocations(const std::vector<Vec3>& before_each_action) {
  std::vector<Vec3> out;
  for (const Vec3& p : before_each_action)
    if (out.empty() || !(out.back() == p)) out.push_back(p);
  return out;
}

DatasetTask parseDatasetTask(const std::string& name) {
  if (name == "route") return DatasetTask::kRoute;
  if (name == "choice") return DatasetTask::kChoice;
  throw std::runtime_error("--task: unknown task '" + name + "' (route, choice)");
}

const char* datasetTaskName(DatasetTask task) {
  return task == DatasetTask::kChoice ? "choice" : "route";
}

std::string proceduralSceneId(int index) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "procedural/apt_%04d.glb", index);
  return buf;
}

uint64_t proceduralSceneSeed(uint64_t dataset_seed, int index) {
  return splitmix64(splitmix64(dataset_seed) ^ static_cast<uint64_t>(index));
}

int mainIsland(const Mesh& mesh, const PathFinder& pf) {
  int island = -2;
  for (const SceneObject& o : mesh.objects) {
    if (o.category != "door") continue;
    const Vec3 c = (o.bbox_min + o.bbox_max) * 0.5f;
    const bool thin_in_z = o.bbox_max.z - o.bbox_min.z < o.bbox_max.x - o.bbox_min.x;
    const Vec3 off = thin_in_z ? Vec3{0, 0, 0.6f} : Vec3{0.6f, 0, 0};
    for (const Vec3& p : {Vec3{c.x, 0, c.z} - off, Vec3{c.x, 0, c.z} + off}) {
      const int i = pf.islandIndex(pf.snapPoint(p));
      if (i < 0 || (island != -2 && i != island))
        throw std::runtime_error("apartment doors are not all on one navmesh island");
      island = i;
    }
  }
  if (island == -2) {  // a one-room apartment: the island under the room's centre
    const Room& r = mesh.rooms.at(0);
    Vec3 c = (r.bbox_min + r.bbox_max) * 0.5f;
    c.y = 0;
    island = pf.islandIndex(pf.snapPoint(c));
  }
  return island;
}

std::vector<Episode> sampleEpisodes(const Mesh& mesh, const PathFinder& pf,
                                    const std::string& scene_id, int count,
                                    const GenDataOptions& opt, std::mt19937_64& rng) {
  const int island = mainIsland(mesh, pf);
  const std::vector<int> landmarks = uniqueLandmarks(mesh);
  std::vector<Episode> out;
  if (landmarks.empty()) return out;
  const int max_attempts = 400 * std::max(1, count);
  for (int attempt = 0; attempt < max_attempts && static_cast<int>(out.size()) < count; ++attempt) {
    const Vec3 start = pf.randomNavigablePoint(rng, island);
    if (roomIndexAt(mesh, start) < 0) continue;
    const SceneObject& target = mesh.objects[landmarks[rng() % landmarks.size()]];
    const Vec3 spot = spotBeside(target, static_cast<int>(rng() % 4));
    const std::optional<Vec3> snapped_goal = snapOnto(pf, spot, island);
    if (!snapped_goal) continue;
    const Vec3 goal = *snapped_goal;
    const int goal_room = roomIndexAt(mesh, goal);
    if (goal_room < 0 || mesh.rooms[goal_room].name != target.room) continue;

    std::vector<Vec3> path;
    float geodesic = 0.f;
    if (!pf.findPath(start, goal, path, &geodesic) || path.size() < 2) continue;
    if (geodesic < opt.min_geodesic_m || geodesic > opt.max_geodesic_m) continue;
    const std::vector<int> rooms = roomSequence(mesh, path);
    if (rooms.empty() || static_cast<int>(rooms.size()) > opt.max_rooms_on_path) continue;

    const float u = 2.f * unit(rng) - 1.f;  // in [-1, 1)
    const float heading = opt.start_facing_path
                              ? wrapAngle(pathHeading(path) + u * opt.start_heading_jitter_deg * kPi / 180.f)
                              : u * kPi;
    const std::vector<Vec3> reference = densify(path, opt.max_waypoint_spacing_m);
    const GeneratedInstruction ins = generateInstruction(mesh, reference, heading, rng);
    if (ins.goal_landmark < 0) continue;

    std::optional<Episode> made = routeEpisode(pf, scene_id, reference, geodesic, heading, ins.text, opt);
    if (!made) continue;
    Episode& ep = *made;
    // Provenance of the instruction, kept with the episode for analysis and tests.
    nlohmann::json names = nlohmann::json::array();
    for (int r : ins.rooms) names.push_back(mesh.rooms[r].name);
    ep.instruction.extra = {{"rooms", names},
                            {"goal_landmark", mesh.objects[ins.goal_landmark].name}};
    out.push_back(std::move(ep));
  }
  if (static_cast<int>(out.size()) < count)
    spdlog::warn("{}: only {} of {} episodes satisfy the constraints", scene_id, out.size(), count);
  return out;
}

std::vector<Episode> sampleChoiceEpisodes(const Mesh& mesh, const PathFinder& pf,
                                          const std::string& scene_id, int count,
                                          const GenDataOptions& opt, std::mt19937_64& rng) {
  static const char* const kTemplates[] = {"Walk to the {} column and stop.",
                                           "Find the {} column and stop next to it."};
  const Room& room = mesh.rooms.at(0);
  const Vec3 centre{0.5f * (room.bbox_min.x + room.bbox_max.x), 0.f,
                    0.5f * (room.bbox_min.z + room.bbox_max.z)};
  std::vector<int> columns;
  for (size_t i = 0; i < mesh.objects.size(); ++i)
    if (mesh.objects[i].category == "column") columns.push_back(static_cast<int>(i));
  if (columns.empty()) throw std::runtime_error(scene_id + ": the choice room has no columns");
  const int island = mainIsland(mesh, pf);
  std::vector<Episode> out;
  const int max_attempts = 50 * std::max(1, count);
  for (int attempt = 0; attempt < max_attempts && static_cast<int>(out.size()) < count; ++attempt) {
    const float jx = (2.f * unit(rng) - 1.f) * opt.choice_start_jitter_m;
    const float jz = (2.f * unit(rng) - 1.f) * opt.choice_start_jitter_m;
    const float heading = (2.f * unit(rng) - 1.f) * kPi;
    const SceneObject& column = mesh.objects[columns[rng() % columns.size()]];
    const char* tmpl = kTemplates[rng() % 2];
    const std::optional<Vec3> start = snapOnto(pf, {centre.x + jx, 0.f, centre.z + jz}, island);
    if (!start) continue;
    // The goal: 1 m from the column's axis, on the side that faces the room's centre.
    const Vec3 c{0.5f * (column.bbox_min.x + column.bbox_max.x), 0.f,
                 0.5f * (column.bbox_min.z + column.bbox_max.z)};
    const Vec3 spot = c + normalize(Vec3{centre.x - c.x, 0.f, centre.z - c.z}) * 1.f;
    const std::optional<Vec3> goal = snapOnto(pf, spot, island);
    if (!goal) continue;
    std::vector<Vec3> path;
    float geodesic = 0.f;
    if (!pf.findPath(*start, *goal, path, &geodesic) || path.size() < 2) continue;

    const std::string color = column.name.substr(0, column.name.rfind(" column"));
    std::string text = tmpl;
    text.replace(text.find("{}"), 2, color);
    std::optional<Episode> made = routeEpisode(
        pf, scene_id, densify(path, opt.max_waypoint_spacing_m), geodesic, heading, text, opt);
    if (!made) continue;
    Episode& ep = *made;
    ep.instruction.extra = {{"task", "choice"}, {"goal_landmark", column.name}};
    out.push_back(std::move(ep));
  }
  if (static_cast<int>(out.size()) < count)
    spdlog::warn("{}: only {} of {} episodes satisfy the constraints", scene_id, out.size(), count);
  return out;
}

namespace {

using Point2 = std::pair<double, double>;  // (along the start heading, to its right)

Point2 goalInStartFrame(const Episode& ep) {
  const double h = headingFromQuat(ep.start_rotation);
  const double dx = ep.goals[0].position.x - ep.start_position.x;
  const double dz = ep.goals[0].position.z - ep.start_position.z;
  return {-std::sin(h) * dx - std::cos(h) * dz, std::cos(h) * dx - std::sin(h) * dz};
}

bool within(const Point2& g, const Point2& p, double r2) {
  return (g.first - p.first) * (g.first - p.first) + (g.second - p.second) * (g.second - p.second) <=
         r2;
}

// The 10 cm grid point with the most goals within sqrt(r2).
Point2 bestEndPoint(const std::vector<Point2>& goals, double r2) {
  double extent = 0.0;
  for (const Point2& g : goals) extent = std::max({extent, std::fabs(g.first), std::fabs(g.second)});
  const double step = 0.1;
  const int n = static_cast<int>(std::ceil(extent / step));
  Point2 best{0.0, 0.0};
  int best_hits = -1;
  for (int i = -n; i <= n; ++i)
    for (int j = -n; j <= n; ++j) {
      const Point2 p{i * step, j * step};
      int hits = 0;
      for (const Point2& g : goals) hits += within(g, p, r2);
      if (hits > best_hits) best_hits = hits, best = p;
    }
  return best;
}

}  // namespace

double blindSuccessRate(const std::vector<Episode>& fit, const std::vector<Episode>& eval,
                        double success_distance) {
  const double r2 = success_distance * success_distance;
  std::map<std::string, std::vector<Point2>> groups;
  std::vector<Point2> all;
  for (const Episode& ep : fit) {
    if (ep.goals.empty()) continue;
    all.push_back(goalInStartFrame(ep));
    groups[ep.instruction.instruction_text].push_back(all.back());
  }
  const Point2 fallback = bestEndPoint(all, r2);
  // Best points are searched only for the texts `eval` asks about (route instructions are
  // all different, so most of `fit`'s groups are never consulted).
  std::map<std::string, Point2> point;
  int hits = 0, n = 0;
  for (const Episode& ep : eval) {
    if (ep.goals.empty()) continue;
    const std::string& text = ep.instruction.instruction_text;
    auto it = point.find(text);
    if (it == point.end()) {
      const auto g = groups.find(text);
      it = point.emplace(text, g == groups.end() ? fallback : bestEndPoint(g->second, r2)).first;
    }
    hits += within(goalInStartFrame(ep), it->second, r2);
    ++n;
  }
  return n == 0 ? 0.0 : static_cast<double>(hits) / n;
}

GenDataSummary generateDataset(const GenDataOptions& opt) {
  if (opt.out_dir.empty()) throw std::runtime_error("gen-data: --out is required");
  if (opt.num_scenes < 1) throw std::runtime_error("gen-data: --scenes must be >= 1");
  if (opt.episodes_per_scene < 1)
    throw std::runtime_error("gen-data: --episodes-per-scene must be >= 1");
  if (!(opt.val_unseen_fraction >= 0.f && opt.val_unseen_fraction < 1.f) ||
      !(opt.val_seen_fraction >= 0.f && opt.val_seen_fraction < 1.f))
    throw std::runtime_error("gen-data: split fractions must be in [0, 1)");
  if (!(opt.min_geodesic_m > 0.f && opt.max_geodesic_m > opt.min_geodesic_m))
    throw std::runtime_error("gen-data: need 0 < min geodesic distance < max");

  const fs::path out = fs::path(opt.out_dir);
  const fs::path staging = fs::path(opt.out_dir + ".partial");
  removeTree(staging.string());
  std::error_code ec;
  fs::create_directories(staging / "scenes" / "procedural", ec);
  if (ec) throw std::runtime_error(staging.string() + ": cannot create: " + ec.message());
  for (const char* split : kSplits) fs::create_directories(staging / "episodes" / split);

  // The last scenes are unseen; each seen scene gives its last episodes to val_seen.
  const int n = opt.num_scenes;
  const int unseen =
      n < 2 || opt.val_unseen_fraction <= 0.f
          ? 0
          : std::clamp(static_cast<int>(std::lround(opt.val_unseen_fraction * n)), 1, n - 1);
  const int m = opt.episodes_per_scene;
  const int seen_val =
      opt.val_seen_fraction <= 0.f || m < 2
          ? 0
          : std::clamp(static_cast<int>(std::lround(opt.val_seen_fraction * m)), 1, m - 1);

  GenDataSummary summary;
  std::map<std::string, EpisodeDataset> data;
  int next_id = 1;
  for (int s = 0; s < n; ++s) {
    const std::string scene_id = proceduralSceneId(s);
    uint64_t scene_seed = proceduralSceneSeed(opt.seed, s);
    Mesh mesh;
    PathFinder pf;
    // The furniture check makes split islands very unlikely (none in 300 seeds); should
    // one happen anyway, the scene is redrawn from a derived seed.
    for (int attempt = 0;; ++attempt) {
      mesh = opt.task == DatasetTask::kChoice ? generateChoiceRoom(scene_seed, opt.choice)
                                              : generateApartment(scene_seed, opt.apartment);
      pf.build(mesh);
      try {
        mainIsland(mesh, pf);
        break;
      } catch (const std::runtime_error& e) {
        if (attempt == 7) throw std::runtime_error(scene_id + ": " + e.what());
        spdlog::warn("{}: {}; redrawing", scene_id, e.what());
        scene_seed = splitmix64(scene_seed);
      }
    }
    const fs::path glb = staging / "scenes" / scene_id;
    saveGlb(mesh, glb.string());
    pf.saveNavMesh(fs::path(glb).replace_extension(".navmesh").string());

    std::mt19937_64 rng(splitmix64(scene_seed ^ 0x5eed5eedULL));
    std::vector<Episode> eps = opt.task == DatasetTask::kChoice
                                   ? sampleChoiceEpisodes(mesh, pf, scene_id, m, opt, rng)
                                   : sampleEpisodes(mesh, pf, scene_id, m, opt, rng);
    const bool is_unseen = s >= n - unseen;
    const std::string home = is_unseen ? "val_unseen" : "train";
    summary.scene_ids.push_back(scene_id);
    summary.split_scenes[home].push_back(scene_id);
    if (!is_unseen && seen_val > 0) summary.split_scenes["val_seen"].push_back(scene_id);
    for (size_t i = 0; i < eps.size(); ++i) {
      const bool to_val_seen = !is_unseen && static_cast<int>(i) >= m - seen_val;
      Episode& ep = eps[i];
      ep.episode_id = std::to_string(next_id);
      ep.trajectory_id = ep.episode_id;
      ++next_id;
      data[to_val_seen ? "val_seen" : home].episodes.push_back(std::move(ep));
    }
    spdlog::info("gen-data: {} ({} rooms, {} objects, {:.0f} m2 walkable): {} episodes", scene_id,
                 mesh.rooms.size(), mesh.objects.size(), pf.navigableArea(mainIsland(mesh, pf)),
                 eps.size());
  }
  // The chance level a policy reaches without its camera (for routes, whose instructions
  // are all different, also without reading them: one end point for every episode).
  if (!data["val_unseen"].episodes.empty() && !data["train"].episodes.empty())
    spdlog::info("gen-data: val_unseen: the best policy that cannot see, fitted on train, succeeds "
                 "in {:.3f} of its {} episodes",
                 blindSuccessRate(data["train"].episodes, data["val_unseen"].episodes,
                                  HabitatConfig().success_distance),
                 data["val_unseen"].episodes.size());
  for (const char* split : kSplits) {
    summary.split_episodes[split] = static_cast<int>(data[split].episodes.size());
    saveEpisodes(data[split],
                 (staging / "episodes" / split / (std::string(split) + ".json.gz")).string());
  }

  HabitatConfig cfg;
  cfg.dataset_type = "R2RVLN-v1";
  cfg.split = "train";
  cfg.data_path = "episodes/{split}/{split}.json.gz";
  cfg.scenes_dir = "scenes";
  cfg.rgb.width = cfg.depth.width = opt.sensor_width;
  cfg.rgb.height = cfg.depth.height = opt.sensor_height;
  cfg.seed = static_cast<int>(opt.seed % 1000000007ULL);
  cfg.actions = opt.actions;
  cfg.max_episode_steps = opt.max_episode_steps;
  saveHabitatConfig(cfg, (staging / "config.yaml").string());

  publish(staging, out);
  summary.config_path = (out / "config.yaml").string();
  return summary;
}

}  // namespace svln::sim
