// The Habitat-style YAML environment config the trainer is given (--habitat_config_path).
#pragma once

#include <string>
#include <vector>

#include "sim/agent.h"
#include "sim/measures.h"
#include "sim/renderer.h"

namespace svln::sim {

struct HabitatConfig {
  std::string source_path;  // the YAML file this came from (for error messages)
  // habitat.dataset
  std::string dataset_type = "VLN-CE-v1";
  std::string data_path;  // may contain "{split}" and "{role}"
  // More episode files mixed into every split, written like data_path (StreamVLN trains
  // R2R and RxR together: config/vln_r2r_rxr.yaml).
  std::vector<std::string> extra_data_paths;
  std::string scenes_dir;
  std::string split = "train";
  std::vector<std::string> roles;  // RxR: each replaces "{role}" in data_path (e.g. guide)
  // RxR: keep only instructions in these languages (episodes without one are kept); empty = all.
  std::vector<std::string> languages;
  // Keep only episodes of these scenes (file stem of scene_id); empty = all.
  std::vector<std::string> content_scenes;
  // habitat.simulator
  CameraSpec rgb{640, 480, 79.f, 1.25f, 0.f, 10.f, false};
  CameraSpec depth{640, 480, 79.f, 1.25f, 0.f, 10.f, false};
  ActionSpace actions;
  int max_episode_steps = 500;
  float success_distance = 3.f;
  // Not a Habitat key: what nDTW/SDTW compare against (--ndtw_reference; sim/measures.h).
  NdtwReference ndtw_reference = NdtwReference::kGt;
  // Not a Habitat key: Habitat's A* limits (true) or none (--path_search_limits).
  bool habitat_path_limits = true;
  float agent_radius = 0.1f;
  float agent_height = 1.5f;
  int seed = 100;

  // data_path with {split} replaced; relative paths resolve against the YAML's folder
  // when the file exists there, else against the current directory.
  std::string episodesPath(const std::string& split_override = "") const;
  // Every episode file of the split: data_path then extra_data_paths, each expanded once per
  // role when it contains "{role}".
  std::vector<std::string> episodesPaths(const std::string& split_override = "") const;
  // scenes_dir joined with an episode's scene_id.
  std::string scenePath(const std::string& scene_id) const;
};

// Throws "<path>: <problem>" on a missing file, YAML syntax errors, unknown keys and
// out-of-range values.
HabitatConfig loadHabitatConfig(const std::string& path);
void saveHabitatConfig(const HabitatConfig& cfg, const std::string& path);

}  // namespace svln::sim
