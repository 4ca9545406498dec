#include "sim/episode.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "sim/gzip_io.h"

namespace svln::sim {
namespace {

using nlohmann::json;

// Error context: "<file>: episode 3 (id 17): <field>: <problem>".
struct Where {
  const std::string& path;
  size_t index;
  std::string id;

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    std::string msg = path + ": episode " + std::to_string(index);
    if (!id.empty()) msg += " (id " + id + ")";
    throw std::runtime_error(msg + ": field '" + field + "' " + problem);
  }
};

const char* typeName(const json& j) { return j.type_name(); }

float number(const json& j, const Where& w, const std::string& field) {
  if (!j.is_number()) w.fail(field, std::string("must be a number, got ") + typeName(j));
  return j.get<float>();
}

Vec3 vec3(const json& j, const Where& w, const std::string& field) {
  if (!j.is_array() || j.size() != 3) w.fail(field, "must be an array of 3 numbers");
  return {number(j[0], w, field), number(j[1], w, field), number(j[2], w, field)};
}

std::vector<Vec3> path(const json& j, const Where& w, const std::string& field) {
  if (!j.is_array()) w.fail(field, std::string("must be an array of [x,y,z], got ") + typeName(j));
  std::vector<Vec3> out;
  out.reserve(j.size());
  for (size_t k = 0; k < j.size(); ++k)
    out.push_back(vec3(j[k], w, field + "[" + std::to_string(k) + "]"));
  return out;
}

const json& required(const json& obj, const char* key, const Where& w) {
  auto it = obj.find(key);
  if (it == obj.end()) w.fail(key, "is missing");
  return *it;
}

// The shortest decimal that reads back as the same float, stored as a double so the JSON
// shows "0.1" rather than 0.10000000149011612 (float -> double widening).
double tidy(float v) {
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

json toJson(const Vec3& v) { return json::array({tidy(v.x), tidy(v.y), tidy(v.z)}); }
json toJson(const std::vector<Vec3>& p) {
  json a = json::array();
  for (const Vec3& v : p) a.push_back(toJson(v));
  return a;
}

// R2R stores integer ids; RxR and others may use text. A canonical integer is written back
// as a number, anything else as a string.
json idToJson(const std::string& id) {
  if (id.empty() || id.size() > 18) return id;
  size_t start = id[0] == '-' ? 1 : 0;
  if (start == id.size()) return id;
  for (size_t k = start; k < id.size(); ++k)
    if (id[k] < '0' || id[k] > '9') return id;
  if (id[start] == '0' && id.size() > start + 1) return id;
  if (id == "-0") return id;
  return std::stoll(id);
}

// An id as text: VLN-CE keys episodes and trajectories by Union[int, str].
std::string idText(const json& id, const Where& w, const std::string& field) {
  if (id.is_number_integer()) return std::to_string(id.get<int64_t>());
  if (id.is_string()) return id.get<std::string>();
  w.fail(field, std::string("must be an integer or a string, got ") + typeName(id));
}

Instruction parseInstruction(const json& j, const Where& w) {
  if (!j.is_object()) w.fail("instruction", std::string("must be an object, got ") + typeName(j));
  Instruction ins;
  const json& text = required(j, "instruction_text", w);
  if (!text.is_string()) w.fail("instruction.instruction_text", "must be a string");
  ins.instruction_text = text.get<std::string>();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "instruction_text") continue;
    if (key == "language") {
      if (!it->is_string()) w.fail("instruction.language", "must be a string");
      ins.language = it->get<std::string>();
    } else if (key == "instruction_tokens") {
      if (it->is_null()) continue;  // VLN-CE's Optional[List[int]]
      if (!it->is_array()) w.fail("instruction.instruction_tokens", "must be an array of integers");
      for (const json& t : *it) {
        if (!t.is_number_integer())
          w.fail("instruction.instruction_tokens", "must be an array of integers");
        ins.instruction_tokens.push_back(t.get<int>());
      }
    } else {
      ins.extra[key] = *it;
    }
  }
  return ins;
}

Episode parseEpisode(const json& j, const std::string& file, size_t index) {
  Where w{file, index, ""};
  if (!j.is_object())
    throw std::runtime_error(file + ": episode " + std::to_string(index) + " is not an object");
  Episode ep;
  ep.episode_id = idText(required(j, "episode_id", w), w, "episode_id");
  w.id = ep.episode_id;

  const json& scene = required(j, "scene_id", w);
  if (!scene.is_string()) w.fail("scene_id", "must be a string");
  ep.scene_id = scene.get<std::string>();
  ep.start_position = vec3(required(j, "start_position", w), w, "start_position");
  const json& rot = required(j, "start_rotation", w);
  if (!rot.is_array() || rot.size() != 4)
    w.fail("start_rotation", "must be an array of 4 numbers [x,y,z,w]");
  ep.start_rotation = {number(rot[0], w, "start_rotation"), number(rot[1], w, "start_rotation"),
                       number(rot[2], w, "start_rotation"), number(rot[3], w, "start_rotation")};
  ep.instruction = parseInstruction(required(j, "instruction", w), w);

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "episode_id" || key == "scene_id" || key == "start_position" ||
        key == "start_rotation" || key == "instruction") {
      continue;
    } else if (key == "trajectory_id") {
      ep.trajectory_id = idText(*it, w, key);
    } else if (key == "goals") {
      if (!it->is_array()) w.fail(key, "must be an array of {position, radius}");
      for (size_t g = 0; g < it->size(); ++g) {
        const json& gj = (*it)[g];
        const std::string f = "goals[" + std::to_string(g) + "]";
        if (!gj.is_object()) w.fail(f, "must be an object");
        Goal goal;
        goal.position = vec3(required(gj, "position", w), w, f + ".position");
        // VLN-CE's NavigationGoal allows radius null; it then falls back to success_distance.
        auto r = gj.find("radius");
        if (r != gj.end() && !r->is_null()) goal.radius = number(*r, w, f + ".radius");
        ep.goals.push_back(goal);
      }
    } else if (key == "reference_path") {
      ep.reference_path = path(*it, w, key);
    } else if (key == "info") {
      if (it->is_null()) continue;
      if (!it->is_object()) w.fail(key, "must be an object");
      ep.info = *it;
      auto gd = it->find("geodesic_distance");
      if (gd != it->end()) ep.geodesic_distance = number(*gd, w, "info.geodesic_distance");
    } else {
      ep.extra[key] = *it;
    }
  }
  return ep;
}

json episodeToJson(const Episode& ep) {
  json j = ep.extra.is_object() ? ep.extra : json::object();
  j["episode_id"] = idToJson(ep.episode_id);
  j["trajectory_id"] = idToJson(ep.trajectory_id);
  j["scene_id"] = ep.scene_id;
  j["start_position"] = toJson(ep.start_position);
  j["start_rotation"] = json::array({tidy(ep.start_rotation.x), tidy(ep.start_rotation.y),
                                     tidy(ep.start_rotation.z), tidy(ep.start_rotation.w)});
  json info = ep.info.is_object() ? ep.info : json::object();
  info["geodesic_distance"] = tidy(ep.geodesic_distance);
  j["info"] = info;
  json goals = json::array();
  for (const Goal& g : ep.goals)
    goals.push_back({{"position", toJson(g.position)}, {"radius", tidy(g.radius)}});
  j["goals"] = goals;
  j["reference_path"] = toJson(ep.reference_path);
  json ins = ep.instruction.extra.is_object() ? ep.instruction.extra : json::object();
  ins["instruction_text"] = ep.instruction.instruction_text;
  if (!ep.instruction.language.empty()) ins["language"] = ep.instruction.language;
  if (!ep.instruction.instruction_tokens.empty())
    ins["instruction_tokens"] = ep.instruction.instruction_tokens;
  j["instruction"] = ins;
  return j;
}

json parseJson(const std::string& text, const std::string& file) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string msg = e.what();
    const auto p = msg.find("] ");
    throw std::runtime_error(
        file + ": invalid JSON: " + (p == std::string::npos ? msg : msg.substr(p + 2)));
  }
}

void readGroundTruth(const std::string& gt_path, EpisodeDataset& data) {
  const json root = parseJson(readFileMaybeGzip(gt_path), gt_path);
  if (!root.is_object())
    throw std::runtime_error(gt_path + ": expected an object keyed by episode id");
  size_t matched = 0;
  for (size_t i = 0; i < data.episodes.size(); ++i) {
    Episode& ep = data.episodes[i];
    auto it = root.find(ep.episode_id);
    if (it == root.end()) continue;
    Where w{gt_path, i, ep.episode_id};
    if (!it->is_object()) w.fail("(gt entry)", "must be an object");
    ep.gt_locations = path(required(*it, "locations", w), w, "locations");
    auto acts = it->find("actions");
    if (acts != it->end()) {
      if (!acts->is_array()) w.fail("actions", "must be an array of integers");
      for (const json& a : *acts) {
        if (!a.is_number_integer()) w.fail("actions", "must be an array of integers");
        ep.gt_actions.push_back(a.get<int>());
      }
    }
    ++matched;
  }
  spdlog::debug("{}: ground truth for {} of {} episodes", gt_path, matched, data.episodes.size());
}

}  // namespace

std::string gtPathFor(const std::string& path) {
  for (const char* ext : {".json.gz", ".json"}) {
    if (endsWith(path, ext)) {
      const size_t n = std::char_traits<char>::length(ext);
      return path.substr(0, path.size() - n) + "_gt" + ext;
    }
  }
  return path + "_gt.json.gz";
}

EpisodeDataset loadEpisodes(const std::string& path) {
  const json root = parseJson(readFileMaybeGzip(path), path);
  if (!root.is_object())
    throw std::runtime_error(path + ": expected a JSON object with \"episodes\"");
  auto eps = root.find("episodes");
  if (eps == root.end()) throw std::runtime_error(path + ": missing \"episodes\"");
  if (!eps->is_array()) throw std::runtime_error(path + ": \"episodes\" must be an array");
  EpisodeDataset data;
  data.episodes.reserve(eps->size());
  std::map<std::string, size_t> seen;  // episode_id -> index: ids key the gt file and results
  for (size_t i = 0; i < eps->size(); ++i) {
    data.episodes.push_back(parseEpisode((*eps)[i], path, i));
    const auto [it, fresh] = seen.emplace(data.episodes.back().episode_id, i);
    if (!fresh)
      throw std::runtime_error(path + ": episode " + std::to_string(i) + " (id " + it->first +
                               "): the same id as episode " + std::to_string(it->second) +
                               " (ids key the ground truth and the results)");
  }
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it.key() != "episodes") data.extra[it.key()] = *it;

  const std::string gt = gtPathFor(path);
  if (std::filesystem::exists(gt)) readGroundTruth(gt, data);
  spdlog::info("{}: {} episodes", path, data.episodes.size());
  return data;
}

void saveEpisodes(const EpisodeDataset& data, const std::string& path) {
  json root = data.extra.is_object() ? data.extra : json::object();
  json eps = json::array();
  json gt = json::object();
  for (const Episode& ep : data.episodes) {
    eps.push_back(episodeToJson(ep));
    if (ep.gt_locations.empty() && ep.gt_actions.empty()) continue;
    int forward_steps = 0;
    for (int a : ep.gt_actions) forward_steps += a == 1 ? 1 : 0;  // MOVE_FORWARD
    json entry = {{"locations", toJson(ep.gt_locations)},
                  {"actions", ep.gt_actions},
                  {"forward_steps", forward_steps}};
    gt[ep.episode_id] = entry;
  }
  root["episodes"] = eps;
  // Ground truth first: a reader that finds the episode file also finds a matching gt file.
  if (!gt.empty()) writeFileAtomic(gtPathFor(path), gt.dump());
  writeFileAtomic(path, root.dump());
}

}  // namespace svln::sim
