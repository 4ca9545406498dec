#include "io/episode_replay.h"

#include <gtest/gtest.h>

#include "../sim/test_scenes.h"

namespace svln::io {
namespace {

TEST(EpisodeReplay, RebuildsThePathTriggersAndOutcomeFromActions) {
  auto scene = sim::makeScene(sim::test::openRoom(), "open_room");
  sim::Episode ep;
  ep.episode_id = "3";
  ep.start_position = {5, 0, 8};
  ep.start_rotation = sim::quatFromHeading(0.f);  // looking north (-Z)
  ep.goals = {{sim::Vec3(5, 0, 6), 0.5f}};
  ep.instruction.instruction_text = "walk north";
  // 4 x forward 0.25 m by the policy, then the expert: 4 more forward, STOP; 1 ignored.
  const std::vector<int> actions = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
  const std::vector<bool> expert = {false, false, false, false, true, true, true, true, true, true};
  ReplayOptions opt;
  opt.success_distance_m = 0.5f;
  opt.render = true;
  opt.camera.width = 16;
  opt.camera.height = 12;
  const Replay r = replayEpisode(*scene, ep, actions, expert, opt);
  const EpisodeTrace& t = r.trace;
  ASSERT_EQ(t.positions.size(), 9u);  // start + 8 moves; STOP adds no position
  EXPECT_NEAR(t.positions[4].z, 7.f, 1e-3);
  EXPECT_NEAR(t.positions[8].z, 6.f, 1e-3);
  EXPECT_NEAR(t.positions[8].x, 5.f, 1e-3);
  ASSERT_EQ(t.triggers.size(), 1u);  // policy -> expert at step 4, at (5, 0, 7)
  EXPECT_NEAR(t.triggers[0].z, 7.f, 1e-3);
  EXPECT_TRUE(t.stopped);
  EXPECT_TRUE(t.success);
  EXPECT_NEAR(t.distance_to_goal, 0.f, 1e-2);
  ASSERT_EQ(r.observations.size(), 9u);
  EXPECT_EQ(r.observations[0].width, 16);

  EXPECT_THROW(replayEpisode(*scene, ep, {1, 7}, {}, ReplayOptions{}), std::runtime_error);
}

}  // namespace
}  // namespace svln::io
