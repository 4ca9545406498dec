// VLN-CE episodes as stored in `{split}.json.gz` (R2R_VLNCE_v1-3, RxR_VLNCE_v0, EnvDrop,
// ScaleVLN) and the optional `{split}_gt.json.gz` ground-truth files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/vec3.h"

namespace svln::sim {

struct Goal {
  Vec3 position;
  float radius = 3.f;
};

struct Instruction {
  std::string instruction_text;
  std::string language;            // RxR; empty otherwise
  std::vector<int> instruction_tokens;  // R2R's vocabulary ids; empty when absent or null
  nlohmann::json extra = nlohmann::json::object();  // other fields, kept for round trip
};

struct Episode {
  std::string episode_id;  // numbers in R2R files, kept as text
  // Integers in R2R, any text elsewhere (VLN-CE: Union[int, str]); kept as text like
  // episode_id. An episode without one reads as "0".
  std::string trajectory_id = "0";
  std::string scene_id;  // e.g. "mp3d/17DRP5sb8fy/17DRP5sb8fy.glb"
  Vec3 start_position;
  Quat start_rotation;  // [x, y, z, w]
  std::vector<Goal> goals;
  std::vector<Vec3> reference_path;
  Instruction instruction;
  float geodesic_distance = 0.f;  // info.geodesic_distance
  nlohmann::json info = nlohmann::json::object();   // whole info object
  nlohmann::json extra = nlohmann::json::object();  // unknown top-level fields
  // From {split}_gt.json.gz when present.
  std::vector<Vec3> gt_locations;
  std::vector<int> gt_actions;
};

struct EpisodeDataset {
  std::vector<Episode> episodes;
  nlohmann::json extra = nlohmann::json::object();  // e.g. instruction_vocab
};

// Reads a `.json.gz` (or plain `.json`) episode file; also reads `<stem>_gt.json.gz` beside
// it when present. Throws std::runtime_error("<path>: <problem>") on bad input.
EpisodeDataset loadEpisodes(const std::string& path);
// Where VLN-CE keeps an episode file's ground truth: "dir/val_seen.json.gz" ->
// "dir/val_seen_gt.json.gz" (".json" keeps ".json").
std::string gtPathFor(const std::string& path);
// Writes the same format (gzip when the name ends in .gz), atomically; writes the `_gt`
// file too when any episode has ground truth.
void saveEpisodes(const EpisodeDataset& data, const std::string& path);

}  // namespace svln::sim
