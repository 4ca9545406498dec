#include "sim/habitat_config.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "sim/gzip_io.h"

namespace svln::sim {
namespace {

namespace fs = std::filesystem;

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// Reads one YAML file strictly: every mapping we parse lists its keys, anything else is an
// error naming the dotted key path ("habitat.simulator.forwrd_step_size").
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(file_ + ": " + problem);
  }

  // Checks that `node` is a mapping whose keys are all in `known`.
  void keys(const YAML::Node& node, const std::string& path,
            const std::set<std::string>& known) const {
    if (!node.IsMap()) fail(path + ": expected a mapping");
    std::set<std::string> seen;  // yaml-cpp keeps a repeated key silently; we do not
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      if (!known.count(k)) fail("unknown key " + (path.empty() ? k : path + "." + k));
      if (!seen.insert(k).second) fail("key " + (path.empty() ? k : path + "." + k) + " appears twice");
    }
  }

  template <typename T>
  void get(const YAML::Node& node, const char* key, const std::string& path, T& out) const {
    const YAML::Node v = node[key];
    if (!v) return;
    const std::string where = path + "." + key;
    if (!v.IsScalar()) fail(where + ": expected a scalar");
    try {
      out = v.as<T>();
    } catch (const YAML::BadConversion&) {
      fail(where + ": cannot read '" + v.Scalar() + "' as " + typeName<T>());
    }
  }

  void getList(const YAML::Node& node, const char* key, const std::string& path,
               std::vector<std::string>& out) const {
    const YAML::Node v = node[key];
    if (!v) return;
    const std::string where = path + "." + key;
    out.clear();
    if (v.IsScalar()) {  // "guide" is accepted for [guide]
      out.push_back(v.Scalar());
      return;
    }
    if (!v.IsSequence()) fail(where + ": expected a list of strings");
    for (const auto& item : v) {
      if (!item.IsScalar()) fail(where + ": expected a list of strings");
      out.push_back(item.Scalar());
    }
  }

 private:
  template <typename T>
  static const char* typeName() {
    if constexpr (std::is_same_v<T, bool>)
      return "a boolean";
    else if constexpr (std::is_integral_v<T>)
      return "an integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "a number";
    else
      return "a string";
  }

  std::string file_;
};

void readSensor(const Reader& r, const YAML::Node& node, const std::string& path, CameraSpec& cam,
                bool depth) {
  std::set<std::string> known = {"type", "width", "height", "hfov", "position"};
  if (depth) known.insert({"min_depth", "max_depth", "normalize_depth", "miss_depth"});
  r.keys(node, path, known);
  r.get(node, "width", path, cam.width);
  r.get(node, "height", path, cam.height);
  r.get(node, "hfov", path, cam.hfov_deg);
  if (const YAML::Node pos = node["position"]) {
    if (!pos.IsSequence() || pos.size() != 3) r.fail(path + ".position: expected [x, y, z]");
    float xyz[3];
    for (int i = 0; i < 3; ++i) {
      try {
        xyz[i] = pos[i].as<float>();
      } catch (const YAML::Exception&) {
        r.fail(path + ".position: expected [x, y, z] numbers");
      }
    }
    // The renderer mounts cameras on the agent's vertical axis; Habitat configs for VLN
    // always do too ([0, h, 0]).
    if (xyz[0] != 0.f || xyz[2] != 0.f)
      r.fail(path + ".position: only [0, height, 0] is supported");
    cam.sensor_height_m = xyz[1];
  }
  if (depth) {
    r.get(node, "min_depth", path, cam.min_depth_m);
    r.get(node, "max_depth", path, cam.max_depth_m);
    r.get(node, "normalize_depth", path, cam.normalize_depth);
    // Extension: what a ray that hits nothing reads (Habitat: min, i.e. 0 clipped).
    std::string miss = cam.miss_reads_max_depth ? "max" : "min";
    r.get(node, "miss_depth", path, miss);
    if (miss != "min" && miss != "max") r.fail(path + ".miss_depth: expected min or max, got " + miss);
    cam.miss_reads_max_depth = miss == "max";
  }
}

void readSimulator(const Reader& r, const YAML::Node& sim, HabitatConfig& cfg) {
  const std::string p = "habitat.simulator";
  r.keys(sim, p, {"forward_step_size", "turn_angle", "agents", "habitat_sim_v0"});
  r.get(sim, "forward_step_size", p, cfg.actions.forward_step_m);
  r.get(sim, "turn_angle", p, cfg.actions.turn_angle_deg);
  // Of habitat-sim's own settings only allow_sliding changes what we simulate; the others
  // (gpu_device_id, ...) are the renderer's and are accepted as they are.
  if (const YAML::Node hs = sim["habitat_sim_v0"]; hs && !hs.IsNull()) {
    if (!hs.IsMap()) r.fail(p + ".habitat_sim_v0: expected a mapping");
    r.get(hs, "allow_sliding", p + ".habitat_sim_v0", cfg.actions.allow_sliding);
  }
  const YAML::Node agents = sim["agents"];
  if (!agents) return;
  r.keys(agents, p + ".agents", {"main_agent"});
  const YAML::Node agent = agents["main_agent"];
  if (!agent) return;
  const std::string ap = p + ".agents.main_agent";
  r.keys(agent, ap, {"height", "radius", "sim_sensors"});
  r.get(agent, "height", ap, cfg.agent_height);
  r.get(agent, "radius", ap, cfg.agent_radius);
  const YAML::Node sensors = agent["sim_sensors"];
  if (!sensors) return;
  r.keys(sensors, ap + ".sim_sensors", {"rgb_sensor", "depth_sensor"});
  if (sensors["rgb_sensor"])
    readSensor(r, sensors["rgb_sensor"], ap + ".sim_sensors.rgb_sensor", cfg.rgb, false);
  if (sensors["depth_sensor"])
    readSensor(r, sensors["depth_sensor"], ap + ".sim_sensors.depth_sensor", cfg.depth, true);
}

void readTask(const Reader& r, const YAML::Node& task, HabitatConfig& cfg) {
  r.keys(task, "habitat.task", {"type", "measurements"});
  const YAML::Node ms = task["measurements"];
  if (!ms) return;
  const std::string p = "habitat.task.measurements";
  // Measures VLN-CE / StreamVLN configs list; only success carries a setting we use, the
  // others are computed always (see measures.h) and their options are ignored.
  r.keys(
      ms, p,
      {"distance_to_goal", "success", "spl", "oracle_success", "oracle_navigation_error",
       "oracle_spl", "path_length", "steps_taken", "ndtw", "sdtw", "collisions", "top_down_map"});
  if (const YAML::Node s = ms["success"]) {
    r.keys(s, p + ".success", {"type", "success_distance"});
    r.get(s, "success_distance", p + ".success", cfg.success_distance);
  }
}

void readDataset(const Reader& r, const YAML::Node& ds, HabitatConfig& cfg) {
  const std::string p = "habitat.dataset";
  r.keys(ds, p,
         {"type", "split", "data_path", "extra_data_paths", "scenes_dir", "roles", "languages",
          "content_scenes"});
  r.get(ds, "type", p, cfg.dataset_type);
  r.get(ds, "split", p, cfg.split);
  r.get(ds, "data_path", p, cfg.data_path);
  r.get(ds, "scenes_dir", p, cfg.scenes_dir);
  r.getList(ds, "roles", p, cfg.roles);
  r.getList(ds, "languages", p, cfg.languages);
  // "*" means every language, as in VLN-CE's RxR config.
  r.getList(ds, "content_scenes", p, cfg.content_scenes);
  r.getList(ds, "extra_data_paths", p, cfg.extra_data_paths);
  if (cfg.languages.size() == 1 && cfg.languages[0] == "*") cfg.languages.clear();
  if (cfg.content_scenes.size() == 1 && cfg.content_scenes[0] == "*") cfg.content_scenes.clear();
  if (cfg.roles.size() == 1 && cfg.roles[0] == "*") cfg.roles = {"guide", "follower"};
}

void checkCamera(const Reader& r, const CameraSpec& c, const std::string& p, bool depth) {
  if (c.width <= 0 || c.height <= 0 || c.width > 8192 || c.height > 8192)
    r.fail(p + ": width and height must be in [1, 8192], got " + std::to_string(c.width) + "x" +
           std::to_string(c.height));
  if (!(c.hfov_deg > 0.f && c.hfov_deg < 180.f))
    r.fail(p + ".hfov must be in (0, 180), got " + std::to_string(c.hfov_deg));
  if (!std::isfinite(c.sensor_height_m) || c.sensor_height_m < 0.f)
    r.fail(p + ".position: height must be >= 0");
  if (depth &&
      !(c.min_depth_m >= 0.f && c.max_depth_m > c.min_depth_m && std::isfinite(c.max_depth_m)))
    r.fail(p + ": need 0 <= min_depth < max_depth, got " + std::to_string(c.min_depth_m) + ", " +
           std::to_string(c.max_depth_m));
}

void validate(const Reader& r, const HabitatConfig& c) {
  const std::string sensors = "habitat.simulator.agents.main_agent.sim_sensors.";
  checkCamera(r, c.rgb, sensors + "rgb_sensor", false);
  checkCamera(r, c.depth, sensors + "depth_sensor", true);
  if (!(c.actions.forward_step_m > 0.f && c.actions.forward_step_m <= 5.f))
    r.fail("habitat.simulator.forward_step_size must be in (0, 5], got " +
           std::to_string(c.actions.forward_step_m));
  if (!(c.actions.turn_angle_deg > 0.f && c.actions.turn_angle_deg <= 180.f))
    r.fail("habitat.simulator.turn_angle must be in (0, 180], got " +
           std::to_string(c.actions.turn_angle_deg));
  // Finite and of a size an agent can have (Habitat's are 1.5 / 0.1 m; RxR's 0.88 / 0.18).
  if (!(c.agent_height > 0.f && c.agent_height <= 10.f))
    r.fail("habitat.simulator.agents.main_agent.height must be in (0, 10] m");
  if (!(c.agent_radius > 0.f && c.agent_radius <= 2.f))
    r.fail("habitat.simulator.agents.main_agent.radius must be in (0, 2] m");
  if (c.max_episode_steps <= 0)
    r.fail("habitat.environment.max_episode_steps must be > 0, got " +
           std::to_string(c.max_episode_steps));
  if (!(c.success_distance > 0.f && c.success_distance <= 100.f))
    r.fail("habitat.task.measurements.success.success_distance must be in (0, 100] m");
  if (c.split.empty()) r.fail("habitat.dataset.split must not be empty");
}

// YAML scalars that read back bit-exact: 9 significant digits round-trip any float.
std::string fmt(float v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

}  // namespace

static std::string resolveConfigPath(const std::string& source_path, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute() || source_path.empty()) return p;
  const fs::path beside = (fs::path(source_path).parent_path() / p).lexically_normal();
  if (fs::exists(beside)) return beside.string();
  if (fs::exists(p)) return p;
  return beside.string();  // neither exists: name the first candidate in errors
}

std::string HabitatConfig::episodesPath(const std::string& split_override) const {
  return episodesPaths(split_override).front();
}

std::vector<std::string> HabitatConfig::episodesPaths(const std::string& split_override) const {
  const std::string& sp = split_override.empty() ? split : split_override;
  std::vector<std::string> patterns = {data_path};
  patterns.insert(patterns.end(), extra_data_paths.begin(), extra_data_paths.end());
  std::vector<std::string> out;
  for (const std::string& pattern : patterns) {
    const std::string path = replaceAll(pattern, "{split}", sp);
    if (path.find("{role}") == std::string::npos || roles.empty()) {
      out.push_back(resolveConfigPath(source_path, path));
      continue;
    }
    for (const std::string& role : roles)
      out.push_back(resolveConfigPath(source_path, replaceAll(path, "{role}", role)));
  }
  return out;
}

std::string HabitatConfig::scenePath(const std::string& scene_id) const {
  if (fs::path(scene_id).is_absolute()) return scene_id;
  return resolveConfigPath(source_path,
                           (fs::path(scenes_dir) / scene_id).lexically_normal().string());
}

HabitatConfig loadHabitatConfig(const std::string& path) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": file not found");
  const Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(readFileMaybeGzip(path));
  } catch (const YAML::ParserException& e) {
    r.fail("YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) r.fail("expected a mapping with a 'habitat' section");
  // "defaults:" is Hydra's composition list (habitat-lab 0.3 configs); the values it would
  // pull in are the defaults of HabitatConfig, so it is accepted and ignored.
  r.keys(root, "", {"habitat", "defaults"});
  const YAML::Node hab = root["habitat"];
  if (!hab) r.fail("missing section 'habitat'");
  r.keys(hab, "habitat", {"environment", "simulator", "task", "dataset", "seed"});

  HabitatConfig cfg;
  cfg.source_path = path;
  r.get(hab, "seed", "habitat", cfg.seed);
  if (const YAML::Node env = hab["environment"]) {
    r.keys(env, "habitat.environment", {"max_episode_steps", "iterator_options"});
    r.get(env, "max_episode_steps", "habitat.environment", cfg.max_episode_steps);
  }
  if (const YAML::Node sim = hab["simulator"]) readSimulator(r, sim, cfg);
  if (const YAML::Node task = hab["task"]) readTask(r, task, cfg);
  if (const YAML::Node ds = hab["dataset"]) readDataset(r, ds, cfg);
  validate(r, cfg);
  spdlog::debug("{}: split {}, data {}, {}x{} RGB-D", path, cfg.split, cfg.data_path, cfg.rgb.width,
                cfg.rgb.height);
  return cfg;
}

void saveHabitatConfig(const HabitatConfig& cfg, const std::string& path) {
  YAML::Emitter out;
  const auto sensor = [&](const char* name, const CameraSpec& c, bool depth) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "width" << YAML::Value << c.width;
    out << YAML::Key << "height" << YAML::Value << c.height;
    out << YAML::Key << "hfov" << YAML::Value << fmt(c.hfov_deg);
    out << YAML::Key << "position" << YAML::Value << YAML::Flow << YAML::BeginSeq << 0
        << fmt(c.sensor_height_m) << 0 << YAML::EndSeq;
    if (depth) {
      out << YAML::Key << "min_depth" << YAML::Value << fmt(c.min_depth_m);
      out << YAML::Key << "max_depth" << YAML::Value << fmt(c.max_depth_m);
      out << YAML::Key << "normalize_depth" << YAML::Value << c.normalize_depth;
      if (c.miss_reads_max_depth) out << YAML::Key << "miss_depth" << YAML::Value << "max";
    }
    out << YAML::EndMap;
  };
  const auto list = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& s : v) out << s;
    out << YAML::EndSeq;
  };
  out << YAML::BeginMap << YAML::Key << "habitat" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "seed" << YAML::Value << cfg.seed;
  out << YAML::Key << "environment" << YAML::Value << YAML::BeginMap << YAML::Key
      << "max_episode_steps" << YAML::Value << cfg.max_episode_steps << YAML::EndMap;
  out << YAML::Key << "simulator" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "forward_step_size" << YAML::Value << fmt(cfg.actions.forward_step_m);
  out << YAML::Key << "turn_angle" << YAML::Value << fmt(cfg.actions.turn_angle_deg);
  if (!cfg.actions.allow_sliding)  // written only when off, so default configs keep their bytes
    out << YAML::Key << "habitat_sim_v0" << YAML::Value << YAML::BeginMap << YAML::Key
        << "allow_sliding" << YAML::Value << false << YAML::EndMap;
  out << YAML::Key << "agents" << YAML::Value << YAML::BeginMap << YAML::Key << "main_agent"
      << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "height" << YAML::Value << fmt(cfg.agent_height);
  out << YAML::Key << "radius" << YAML::Value << fmt(cfg.agent_radius);
  out << YAML::Key << "sim_sensors" << YAML::Value << YAML::BeginMap;
  sensor("rgb_sensor", cfg.rgb, false);
  sensor("depth_sensor", cfg.depth, true);
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "task" << YAML::Value << YAML::BeginMap << YAML::Key << "measurements"
      << YAML::Value << YAML::BeginMap << YAML::Key << "success" << YAML::Value << YAML::BeginMap
      << YAML::Key << "success_distance" << YAML::Value << fmt(cfg.success_distance) << YAML::EndMap
      << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "dataset" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << cfg.dataset_type;
  out << YAML::Key << "split" << YAML::Value << cfg.split;
  out << YAML::Key << "data_path" << YAML::Value << YAML::DoubleQuoted << cfg.data_path;
  out << YAML::Key << "scenes_dir" << YAML::Value << YAML::DoubleQuoted << cfg.scenes_dir;
  list("roles", cfg.roles);
  list("languages", cfg.languages);
  list("content_scenes", cfg.content_scenes);
  list("extra_data_paths", cfg.extra_data_paths);
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  if (!out.good()) throw std::runtime_error(path + ": YAML emitter error: " + out.GetLastError());
  writeFileAtomic(path, std::string("# Habitat-style environment config (see docs/world.md)\n") +
                            out.c_str() + "\n");
}

}  // namespace svln::sim
