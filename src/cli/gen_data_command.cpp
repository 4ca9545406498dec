// `streamvln gen-data`: writes the procedural world (apartments, navmeshes, VLN-CE episodes
// and a Habitat-style config.yaml pointing at them). See docs/procedural.md.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "expert/shortest_path_follower.h"
#include "io/train_flags.h"
#include "rl/train_setup.h"
#include "sim/procedural_dataset.h"

namespace svln::cli {
namespace {

int runGenData(const sim::GenDataOptions& opt) {
  const sim::GenDataSummary s = sim::generateDataset(opt);
  std::cout << "wrote " << s.scene_ids.size() << " scenes to " << opt.out_dir << "\n";
  for (const char* split : {"train", "val_seen", "val_unseen"}) {
    const auto scenes = s.split_scenes.find(split);
    const auto episodes = s.split_episodes.find(split);
    std::cout << "  " << split << ": "
              << (episodes == s.split_episodes.end() ? 0 : episodes->second) << " episodes in "
              << (scenes == s.split_scenes.end() ? 0 : scenes->second.size()) << " scenes\n";
  }
  std::cout << "config: " << s.config_path << " (use --habitat_config_path " << s.config_path
            << ")\n";
  return 0;
}

const RegisterCommand kRegister(
    "gen-data", "write the procedural world: apartments (GLB), navmeshes, episodes, config.yaml",
    [](CLI::App& app) {
      auto opt = std::make_shared<sim::GenDataOptions>();
      auto task = std::make_shared<std::string>("route");
      auto follower = std::make_shared<io::FollowerRule>(io::FollowerRule::Heading);
      app.add_option("--out", opt->out_dir, "output folder")->required();
      app.add_option("--task", *task,
                     "route: R2R-like routes through furnished apartments; choice: walk to the "
                     "column of the colour named in the instruction, in an empty room (only "
                     "the images tell where it is)")
          ->check(CLI::IsMember({"route", "choice"}))
          ->capture_default_str();
      app.add_option("--columns", opt->choice.columns, "choice task: columns per room")
          ->check(CLI::Range(2, 4))
          ->capture_default_str();
      app.add_option("--scenes", opt->num_scenes, "number of apartments")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
      app.add_option("--episodes-per-scene", opt->episodes_per_scene, "episodes per apartment")
          ->check(CLI::Range(1, 1000000))
          ->capture_default_str();
      app.add_option("--seed", opt->seed, "dataset seed (same seed, same bytes)")
          ->capture_default_str();
      app.add_option("--val-unseen-fraction", opt->val_unseen_fraction,
                     "share of the scenes held out for val_unseen")
          ->check(CLI::Range(0.0, 0.99))
          ->capture_default_str();
      app.add_option("--val-seen-fraction", opt->val_seen_fraction,
                     "share of each seen scene's episodes given to val_seen")
          ->check(CLI::Range(0.0, 0.99))
          ->capture_default_str();
      app.add_option("--min-rooms", opt->apartment.min_rooms, "fewest rooms per apartment")
          ->check(CLI::Range(1, 16))
          ->capture_default_str();
      app.add_option("--max-rooms", opt->apartment.max_rooms, "most rooms per apartment")
          ->check(CLI::Range(1, 16))
          ->capture_default_str();
      app.add_option("--min-geodesic", opt->min_geodesic_m, "shortest start-goal geodesic distance (m)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      app.add_option("--max-geodesic", opt->max_geodesic_m, "longest start-goal geodesic distance (m)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      app.add_option("--max-rooms-on-path", opt->max_rooms_on_path, "most rooms a reference path crosses")
          ->check(CLI::Range(1, 16))
          ->capture_default_str();
      app.add_flag("--start-facing-path", opt->start_facing_path,
                   "start facing along the path (+-30 deg) instead of a random yaw: an easy curriculum");
      app.add_option("--sensor-size", opt->sensor_width,
                     "RGB and depth width = height written to config.yaml")
          ->check(CLI::Range(8, 4096))
          ->capture_default_str();
      CLI::Option* follower_opt = io::addFollowerFlag(app, *follower);
      follower_opt->description(
          follower_opt->get_description() +
          ". The ground truth's follower, stopping within 0.5 m (VLN-CE's GOAL_RADIUS); without "
          "the flag the world's own replay (STOP under one forward step), as before");
      follower_opt->default_str("");
      return [opt, task, follower, follower_opt] {
        if (follower_opt->count() > 0) {
          const expert::FollowerRule rule = rl::expertFollowerRule(*follower);
          opt->ground_truth = [rule](const sim::PathFinder& pf, const sim::AgentState& start,
                                     const sim::Vec3& goal, const sim::ActionSpace& space,
                                     int max_steps, std::vector<int>& actions,
                                     std::vector<sim::Vec3>& locations) {
            return expert::followToGoal(pf, start, goal, space, rule, sim::kGtFinalRadiusM,
                                        max_steps, actions, locations);
          };
        }
        opt->sensor_height = opt->sensor_width;
        opt->task = sim::parseDatasetTask(*task);
        return runGenData(*opt);
      };
    });

}  // namespace
}  // namespace svln::cli
