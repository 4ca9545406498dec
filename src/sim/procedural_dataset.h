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
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/mesh.h"
#include "sim/path_finder.h"
#include "sim/procedural_scene.h"

namespace svln::sim {

// What the episodes ask for.
//   route:  R2R-like routes through a furnished apartment, instructions generated from the
//           path (rooms walked through, landmarks passed, the object to stop by).
//   choice: one empty room with a column of a distinct colour in each quadrant; the agent
//           starts near the centre facing a random way and is told only the colour
//           ("Walk to the red column and stop."). Where that column stands is visible only
//           in the images, so a policy that cannot see cannot beat chance
//           (blindSuccessBound measures the best any blind policy can do).
enum class DatasetTask { kRoute, kChoice };
DatasetTask parseDatasetTask(const std::string& name);  // "route" | "choice"; throws
const char* datasetTaskName(DatasetTask task);

// A follower that drives the agent from `start` to a STOP near `goal`: it fills `actions`
// (VLN-CE's codes, ending with STOP = 0) and `locations` (the position before each action,
// the last one where STOP was called); false when it does not get there within max_steps.
using GroundTruthReplay =
    std::function<bool(const PathFinder& pf, const AgentState& start, const Vec3& goal,
                       const ActionSpace& space, int max_steps, std::vector<int>& actions,
                       std::vector<Vec3>& locations)>;

// VLN-CE's `_gt` locations from the positions before each action: consecutive repeats (turns,
// a step that did not move) dropped, so a replay whose forward steps all move gives
// forward_steps + 1 points, the start first.
std::vector<Vec3> dedupLocations(const std::vector<Vec3>& before_each_action);

// VLN-CE's gt data ends within this of the goal (its follower's GOAL_RADIUS); a replay that
// stops farther away drops the episode.
constexpr float kGtFinalRadiusM = 0.5f;

struct GenDataOptions {
  std::string out_dir;
  DatasetTask task = DatasetTask::kRoute;
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
  // The ground truth's follower (gen-data --follower); empty: the world's own replay (face the
  // next corner within half a turn step, STOP under one forward step from the goal).
  GroundTruthReplay ground_truth;
  int sensor_width = 224;
  int sensor_height = 224;
  ApartmentSpec apartment;
  ChoiceRoomSpec choice;  // the room of the choice task
  float choice_start_jitter_m = 0.5f;  // start within this of the room's centre (per axis)
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
// gt_locations as VLN-CE's: the de-duplicated positions, start first, final within
// kGtFinalRadiusM of the goal) from opt.ground_truth or the world's own shortest-path replay,
// stepping with applyAction. `pf` is the scene's navmesh.
std::vector<Episode> sampleEpisodes(const Mesh& mesh, const PathFinder& pf,
                                    const std::string& scene_id, int count,
                                    const GenDataOptions& opt, std::mt19937_64& rng);

// The choice task's episodes in one generateChoiceRoom scene: start near the centre,
// uniformly random heading, goal 0.8 m in front of one column (towards the centre).
std::vector<Episode> sampleChoiceEpisodes(const Mesh& mesh, const PathFinder& pf,
                                          const std::string& scene_id, int count,
                                          const GenDataOptions& opt, std::mt19937_64& rng);

// The best a policy that does not see can do. Such a policy's end point, in the frame of
// its start pose, depends only on the instruction (and on its own randomness, which cannot
// help on average). For each distinct instruction text this takes the best single end
// point for `fit`'s episodes with that text (searched on a 10 cm grid in the start frame;
// texts `fit` lacks get the best point over all of `fit`) and returns the fraction of
// `eval`'s episodes whose goal lies within success_distance of their text's point.
// Collisions and the navmesh are ignored, which only make a blind policy's chances worse.
// With fit = eval it is an upper bound on that set (optimistic on small sets, where the
// search fits the sample); with fit = train and eval = val_unseen it is the blind chance
// level a learner could reach.
double blindSuccessRate(const std::vector<Episode>& fit, const std::vector<Episode>& eval,
                        double success_distance);

// The navmesh island that joins all the apartment's doors (the walkable apartment);
// throws when the doors are not all on one island.
int mainIsland(const Mesh& mesh, const PathFinder& pf);

// Writes the whole dataset. Everything is built in DIR.partial and moved into DIR at the
// end, so a failure leaves no half-written dataset behind. Throws "<path>: <problem>".
GenDataSummary generateDataset(const GenDataOptions& opt);

}  // namespace svln::sim
