// The expert on the procedural world: it must solve the held-out (val_unseen) apartments
// on its own, efficiently, and its actions must replay to the same positions.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "expert/stand_in_episode.h"
#include "sim/agent.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"
#include "sim/path_finder.h"
#include "sim/procedural_dataset.h"

namespace svln::expert {
namespace {

namespace fs = std::filesystem;

class ProceduralExpertTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((fs::path(::testing::TempDir()) / "svln_expert_procedural").string());
    fs::remove_all(*dir_);
    sim::GenDataOptions opt;
    opt.out_dir = *dir_;
    opt.num_scenes = 6;
    opt.episodes_per_scene = 25;
    opt.seed = 20261125;
    opt.val_unseen_fraction = 0.5f;  // 3 held-out apartments, 75 episodes
    const sim::GenDataSummary summary = sim::generateDataset(opt);
    cfg_ = new sim::HabitatConfig(sim::loadHabitatConfig(summary.config_path));
    episodes_ =
        new std::vector<sim::Episode>(sim::loadEpisodes(cfg_->episodesPath("val_unseen")).episodes);
    nav_ = new std::map<std::string, std::unique_ptr<sim::PathFinder>>();
    for (const sim::Episode& ep : *episodes_) {
      auto& pf = (*nav_)[ep.scene_id];
      if (pf) continue;
      pf = std::make_unique<sim::PathFinder>();
      pf->loadNavMesh(fs::path(cfg_->scenePath(ep.scene_id)).replace_extension(".navmesh"));
    }
  }
  static void TearDownTestSuite() {
    delete nav_;
    delete episodes_;
    delete cfg_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string* dir_;
  static sim::HabitatConfig* cfg_;
  static std::vector<sim::Episode>* episodes_;
  static std::map<std::string, std::unique_ptr<sim::PathFinder>>* nav_;
};
std::string* ProceduralExpertTest::dir_ = nullptr;
sim::HabitatConfig* ProceduralExpertTest::cfg_ = nullptr;
std::vector<sim::Episode>* ProceduralExpertTest::episodes_ = nullptr;
std::map<std::string, std::unique_ptr<sim::PathFinder>>* ProceduralExpertTest::nav_ = nullptr;

TEST_F(ProceduralExpertTest, ExpertAloneSolvesValUnseenEfficientlyAndReplays) {
  ASSERT_GE(episodes_->size(), 50u);
  InterventionConfig alone;
  alone.enable_recovery = false;  // the expert alone: no forced STOP either
  const StandInPolicy expert = parseStandInPolicy("expert");
  double successes = 0, spl = 0;
  for (size_t i = 0; i < episodes_->size(); ++i) {
    const sim::Episode& ep = (*episodes_)[i];
    const sim::PathFinder& pf = *nav_->at(ep.scene_id);
    const StandInRun run = runStandInEpisode(pf, ep, alone, cfg_->actions, expert, i,
                                             cfg_->max_episode_steps, cfg_->success_distance);
    successes += run.metrics.success;
    spl += run.metrics.spl;
    EXPECT_EQ(run.end, EpisodeEnd::PolicyStop) << "episode " << ep.episode_id;
    // Replaying the actions from the start pose visits exactly the recorded positions.
    sim::AgentState s{ep.start_position, sim::headingFromQuat(ep.start_rotation)};
    for (size_t k = 0; k + 1 < run.actions.size(); ++k) {
      s = sim::applyAction(pf, s, run.actions[k], cfg_->actions).state;
      ASSERT_EQ(s.position, run.positions[k + 1]) << "episode " << ep.episode_id << " step " << k;
    }
  }
  const double n = static_cast<double>(episodes_->size());
  EXPECT_GE(successes / n, 0.99) << successes << " of " << n;
  EXPECT_GE(spl / n, 0.9);
}

TEST_F(ProceduralExpertTest, InterventionLiftsTheRandomPolicy) {
  InterventionConfig off;
  off.enable_recovery = false;
  const StandInPolicy random = parseStandInPolicy("random");
  double sr_on = 0, sr_off = 0;
  int triggers = 0;
  for (size_t i = 0; i < episodes_->size(); ++i) {
    const sim::Episode& ep = (*episodes_)[i];
    const sim::PathFinder& pf = *nav_->at(ep.scene_id);
    const StandInRun on = runStandInEpisode(pf, ep, {}, cfg_->actions, random, i,
                                            cfg_->max_episode_steps, cfg_->success_distance);
    const StandInRun no = runStandInEpisode(pf, ep, off, cfg_->actions, random, i,
                                            cfg_->max_episode_steps, cfg_->success_distance);
    sr_on += on.metrics.success;
    sr_off += no.metrics.success;
    triggers += on.counters.recoveries_triggered;
    int expert_steps = 0;
    for (Source src : on.sources) expert_steps += src == Source::Expert;
    EXPECT_EQ(on.counters.expert_steps, expert_steps);
    EXPECT_EQ(on.counters.steps(), static_cast<int>(on.actions.size()));
  }
  const double n = static_cast<double>(episodes_->size());
  EXPECT_EQ(sr_off, 0.0);  // a random walk that never stops never succeeds
  EXPECT_GE(sr_on / n, 0.25) << "triggers " << triggers;
}

}  // namespace
}  // namespace svln::expert
