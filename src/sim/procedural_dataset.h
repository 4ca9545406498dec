// The procedural VLN-CE dataset behind `streamvln gen-data`:
//
//   DIR/config.yaml                                  Habitat-style config for this data
//   DIR/scenes/procedural/apt_0000.glb, .navmesh     one apartment per scene
//   DIR/episodes/{train,val_seen,val_unseen}/{split}.json.gz, {split}_gt.json.gz
//
// Episode scene_ids are "procedural/apt_0000.glb", relative to scenes_dir "scenes", the way
// Matterport ids are relative to data/scene_datasets/. val_unseen takes the last scenes,
// which train and val_seen never use; val_seen takes a share of each seen scene's episodes.
// Same options, same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/mesh.h"
#include "sim/path_finder.h"
#include "sim/procedural_scene.h"

namespace svln::sim {

struct GenDataOptions {
  std::string out_dir;
  int num_scenes = 10;
  int episodes_per_scene = 20;
  uint64_t seed = 0;
  float val_unseen_fraction = 0.2f;  // of the scenes; at least one scene when >= 2 scenes
  float val_seen_fraction = 0.1f;    // of each seen scene's episodes; at least one when > 0
  float min_geodesic_m = 3.f;
  float max_geodesic_m = 12.f;
  // Start yaw: uniformly random (false, the R2R-like default), or facing along the
  // reference path's first metre with up to +-start_heading_jitter_deg of noise (true: an
  // easy curriculum where the first move is forward; the CPU demo's setting).
  bool start_facing_path = false;
  float start_heading_jitter_deg = 30.f;
  int max_rooms_on_path = 4;
  float max_waypoint_spacing_m = 1.0f;  // reference_path points are at most this far apart
  ActionSpace actions;                  // for the ground-truth replay and config.yaml
  int max_episode_steps = 500;          // the replay must reach the goal within this
  int sensor_width = 224;
  int sensor_height = 224;
  ApartmentSpec apartment;
};

struct GenDataSummary {
  std::vector<std::string> scene_ids;                            // all scenes, in order
  std::map<std::string, std::vector<std::string>> split_scenes;  // split -> its scene ids
  std::map<std::string, int> split_episodes;                     // split -> number of episodes
  std::string config_path;                                       // DIR/config.yaml
};

// "procedural/apt_0003.glb" for index 3.
std::string proceduralSceneId(int index);
// The seed of scene `index` under the dataset seed (SplitMix64 of both).
uint64_t proceduralSceneSeed(uint64_t dataset_seed, int index);

// Samples up to `count` episodes in one scene: start anywhere on the main island, goal in
// front of a piece of furniture, geodesic distance in [min, max], at most max_rooms rooms
// on the way, instruction generated from the path, ground truth (gt_actions, and
// gt_locations = the position before each action) from a greedy shortest-path follower
// stepping with applyAction. `pf` is the scene's navmesh.
std::vector<Episode> sampleEpisodes(const Mesh& mesh, const PathFinder& pf,
                                    const std::string& scene_id, int count,
                                    const GenDataOptions& opt, std::mt19937_64& rng);

// The navmesh island that joins all the apartment's doors (the walkable apartment);
// throws when the doors are not all on one island.
int mainIsland(const Mesh& mesh, const PathFinder& pf);

// Writes the whole dataset. Everything is built in DIR.partial and moved into DIR at the
// end, so a failure leaves no half-written dataset behind. Throws "<path>: <problem>".
GenDataSummary generateDataset(const GenDataOptions& opt);

}  // namespace svln::sim
