#include "sim/vec_env.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sim/episode_iterator.h"
#include "sim/gltf_io.h"
#include "sim/habitat_config.h"
#include "sim/thread_pool.h"
#include "test_scenes.h"
#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::errorOf;

namespace fs = std::filesystem;

TEST(ThreadPool, RunsEveryIndexOnceAndRethrows) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::atomic<int>> hits(97);
      pool.parallelFor(97, [&](int i) { hits[i]++; });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.parallelFor(10,
                                  [&](int i) {
                                    ran++;
                                    if (i == 3) throw std::runtime_error("boom");
                                  }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 10);  // the other indices still ran
    pool.parallelFor(0, [](int) { FAIL(); });
  }
}

HabitatConfig smallConfig() {
  HabitatConfig cfg;
  cfg.rgb = {16, 12, 79.f, 1.25f, 0.f, 10.f, false};
  cfg.depth = {16, 12, 79.f, 1.25f, 0.f, 10.f, false};
  cfg.max_episode_steps = 40;
  return cfg;
}

Episode roomEpisode(const std::string& id, const Vec3& start, float heading, const Vec3& goal) {
  Episode e;
  e.episode_id = id;
  e.scene_id = "mem/room";
  e.start_position = start;
  e.start_rotation = quatFromHeading(heading);
  e.goals.push_back({goal, 3.f});
  e.reference_path = {start, goal};
  e.gt_locations = e.reference_path;  // nDTW's reference
  return e;
}

class VecEnvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    room_ = new std::shared_ptr<const Scene>(makeScene(test::openRoom(), "mem/room"));
  }
  static void TearDownTestSuite() { delete room_; }
  static std::shared_ptr<const Scene>* room_;
};
std::shared_ptr<const Scene>* VecEnvTest::room_ = nullptr;

TEST_F(VecEnvTest, ParallelStepsEqualOneByOne) {
  const HabitatConfig cfg = smallConfig();
  const std::vector<Episode> eps = {
      roomEpisode("a", {2, 0, 2}, 0.f, {8, 0, 8}), roomEpisode("b", {5, 0, 5}, 1.2f, {1, 0, 9}),
      roomEpisode("c", {8, 0, 3}, -2.f, {2, 0, 2}), roomEpisode("d", {3, 0, 8}, 3.f, {9, 0, 9})};
  const int n = static_cast<int>(eps.size());
  auto cache = std::make_shared<SceneCache>();
  cache->insert("mem/room", *room_);
  VecEnv env(cfg, n, 3, cache);
  for (int i = 0; i < n; ++i) env.reset(i, eps[i]);  // scene found in the cache by scene_id

  // Reference: the same actions applied env by env with the building blocks.
  const Scene& scene = **room_;
  std::vector<AgentState> ref(n);
  std::vector<EpisodeMeasures> meas(n, EpisodeMeasures(cfg.success_distance));
  std::vector<bool> done(n, false);
  for (int i = 0; i < n; ++i) {
    ref[i] = {eps[i].start_position, headingFromQuat(eps[i].start_rotation)};
    meas[i].reset(eps[i], scene.pathfinder, ref[i]);
  }
  std::vector<uint8_t> rgb(env.rgbSize());
  std::vector<float> depth(env.depthSize());
  std::mt19937 rng(5);
  bool any_collision = false;
  for (int t = 0; t < 60; ++t) {
    std::vector<Action> acts(n);
    for (int i = 0; i < n; ++i) {
      const int r = static_cast<int>(rng() % 10);  // mostly forward, rare STOP
      acts[i] = r < 6   ? Action::MoveForward
                : r < 8 ? Action::TurnLeft
                : r < 9 ? Action::TurnRight
                        : (t > 20 ? Action::Stop : Action::MoveForward);
    }
    env.step(acts);
    for (int i = 0; i < n; ++i) {
      if (!done[i]) {
        const StepOutcome out = applyAction(scene.pathfinder, ref[i], acts[i], cfg.actions);
        ref[i] = out.state;
        meas[i].update(out.state, acts[i], out.collided);
        any_collision |= out.collided;
        done[i] = acts[i] == Action::Stop || meas[i].metrics().steps >= cfg.max_episode_steps;
      }
      const EnvInfo& info = env.info(i);
      ASSERT_EQ(info.state.position, ref[i].position) << "env " << i << " step " << t;
      ASSERT_EQ(info.state.heading_rad, ref[i].heading_rad);
      ASSERT_EQ(info.done, done[i]);
      ASSERT_EQ(info.active, !done[i]);
      ASSERT_EQ(info.steps, meas[i].metrics().steps);
      ASSERT_EQ(info.metrics.path_length, meas[i].metrics().path_length);
      ASSERT_EQ(info.metrics.ndtw, meas[i].metrics().ndtw);
      ASSERT_EQ(info.metrics.success, meas[i].metrics().success);
      ASSERT_EQ(info.metrics.collisions, meas[i].metrics().collisions);
      scene.renderer->render(cfg.depth, ref[i].position, ref[i].heading_rad, rgb.data(),
                             depth.data());
      ASSERT_EQ(std::memcmp(env.rgb(i), rgb.data(), rgb.size()), 0) << "env " << i << " step " << t;
      ASSERT_EQ(std::memcmp(env.depth(i), depth.data(), depth.size() * sizeof(float)), 0);
      // The batch buffer is [N, H, W, 3]: env i starts i * H * W * 3 bytes in.
      ASSERT_EQ(env.rgb(i), env.rgb() + i * 16 * 12 * 3);
    }
  }
  EXPECT_TRUE(any_collision);     // 60 mostly-forward steps in a 10 m room hit walls
  EXPECT_FALSE(env.anyActive());  // every env stopped or ran out of its 40 steps
}

// Stepping disjoint subsets (what the rollout engine does to overlap rendering with the
// model) equals stepping every env at once, and envs outside the subset stay untouched.
TEST_F(VecEnvTest, SubsetStepsEqualOneStep) {
  const HabitatConfig cfg = smallConfig();
  const std::vector<Episode> eps = {
      roomEpisode("a", {2, 0, 2}, 0.f, {8, 0, 8}), roomEpisode("b", {5, 0, 5}, 1.2f, {1, 0, 9}),
      roomEpisode("c", {8, 0, 3}, -2.f, {2, 0, 2})};
  const int n = static_cast<int>(eps.size());
  auto cache = std::make_shared<SceneCache>();
  cache->insert("mem/room", *room_);
  VecEnv whole(cfg, n, 2, cache), parts(cfg, n, 2, cache);
  for (int i = 0; i < n; ++i) {
    whole.reset(i, eps[i]);
    parts.reset(i, eps[i]);
  }
  std::mt19937 rng(9);
  for (int t = 0; t < 30; ++t) {
    std::vector<Action> acts(n);
    for (int i = 0; i < n; ++i) acts[i] = static_cast<Action>(1 + rng() % 3);
    whole.step(acts);
    const std::vector<int> first = {t % n}, rest = {(t + 1) % n, (t + 2) % n};
    const AgentState untouched = parts.info(rest[0]).state;
    parts.step(acts, first);
    ASSERT_EQ(parts.info(rest[0]).state.position, untouched.position);
    parts.step(acts, rest);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(parts.info(i).state.position, whole.info(i).state.position) << "step " << t;
      ASSERT_EQ(parts.info(i).steps, whole.info(i).steps);
      ASSERT_EQ(std::memcmp(parts.rgb(i), whole.rgb(i), whole.rgbSize()), 0);
    }
  }
  EXPECT_THROW(parts.step(std::vector<Action>(n, Action::MoveForward), {n}), std::invalid_argument);
}

TEST_F(VecEnvTest, EpisodeEndsAtStepLimitAndIgnoresLaterActions) {
  HabitatConfig cfg = smallConfig();
  cfg.max_episode_steps = 3;
  VecEnv env(cfg, 2, 2);
  env.reset(0, roomEpisode("x", {5, 0, 5}, 0.f, {5, 0, 2}), *room_);
  env.reset(1, roomEpisode("y", {5, 0, 5}, 0.f, {5, 0, 2}), *room_);
  const std::vector<Action> fwd(2, Action::MoveForward);
  env.step({Action::Stop, Action::MoveForward});
  EXPECT_TRUE(env.info(0).done);
  EXPECT_EQ(env.info(0).metrics.success, 0.f);  // 3 m away, not < 3 m
  env.step(fwd);
  env.step(fwd);
  EXPECT_TRUE(env.info(1).done);
  EXPECT_EQ(env.info(1).steps, 3);
  // Heading 0 looks along -z: three 0.25 m steps from z = 5.
  EXPECT_NEAR(env.info(1).state.position.z, 4.25f, 1e-3f);
  EXPECT_EQ(env.info(1).metrics.oracle_success, 1.f);
  const Vec3 before = env.info(1).state.position;
  env.step(fwd);
  EXPECT_EQ(env.info(1).state.position, before);
  EXPECT_EQ(env.info(1).steps, 3);
  EXPECT_EQ(env.info(0).steps, 1);
  EXPECT_EQ(errorOf([&] { env.step({Action::Stop}); }), "VecEnv::step: got 1 actions for 2 envs");
}

TEST_F(VecEnvTest, StartOffTheNavmeshIsPlacedAsGivenWithAWarningNamingTheEpisode) {
  VecEnv env(smallConfig(), 1, 1);
  std::ostringstream log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  const std::string msg = errorOf([&] {
    env.reset(0, roomEpisode("42", {30, 0, 30}, 0.f, {5, 0, 5}), *room_);
  });
  spdlog::set_default_logger(previous);
  EXPECT_EQ(msg, "");  // Habitat sets the agent state without a check
  EXPECT_NE(log.str().find("[warning] episode 42: start position (30.000, 0.000, 30.000) is off "
                           "the navmesh of mem/room"),
            std::string::npos)
      << log.str();
  EXPECT_EQ(env.info(0).state.position, (Vec3{30, 0, 30}));
  EXPECT_TRUE(env.info(0).active);
  // Nothing to project onto: tryStep keeps the agent where it is, and the episode runs on.
  env.step({Action::MoveForward});
  EXPECT_EQ(env.info(0).state.position, (Vec3{30, 0, 30}));
  env.step({Action::Stop});
  EXPECT_TRUE(env.info(0).done);
}

// VLN-CE's RxR task (config/vln_rxr.yaml): the config's agent size gets its own navmesh,
// built in memory (the scene's .navmesh stays as it is), and forward steps do not slide.
TEST(VecEnvRxR, ConfigsAgentSizeAndNoSlidingReachTheWorld) {
  const fs::path dir = fs::temp_directory_path() / ("svln_rxr_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "room");
  const std::string glb = (dir / "room" / "room.glb").string();
  saveGlb(test::openRoom(), glb);
  SceneCache{}.get(glb);  // Habitat's default agent: the navmesh is cached beside the scene
  const std::string navmesh = (dir / "room" / "room.navmesh").string();
  ASSERT_TRUE(fs::exists(navmesh));
  const auto stamp = fs::last_write_time(navmesh);
  const auto size = fs::file_size(navmesh);

  HabitatConfig cfg = loadHabitatConfig(std::string(SVLN_TEST_DATA) + "/../../config/vln_rxr.yaml");
  cfg.rgb = smallConfig().rgb;
  cfg.depth = {16, 12, 79.f, 0.88f, 0.5f, 5.f, true};
  cfg.scenes_dir = dir.string();
  VecEnv env(cfg, 1, 1);
  Episode ep = roomEpisode("rxr", {1, 0, 5}, 3.14159265f / 4, {5, 0, 5});  // facing (-1, -1)
  ep.scene_id = "room/room.glb";
  env.reset(0, ep);
  EXPECT_FLOAT_EQ(env.scene(0).pathfinder.settings().agent_radius, 0.18f);
  EXPECT_FLOAT_EQ(env.scene(0).pathfinder.settings().agent_height, 0.88f);
  EXPECT_EQ(fs::last_write_time(navmesh), stamp);
  EXPECT_EQ(fs::file_size(navmesh), size);
  // Walk diagonally into the x = 0 wall, whose eroded face is at x = 0.05 + 0.2: without
  // sliding the agent stops on its line of travel (x - 1 = z - 5) instead of running on
  // along the wall.
  for (int i = 0; i < 8; ++i) env.step({Action::MoveForward});
  const Vec3 p = env.info(0).state.position;
  EXPECT_NEAR(p.x, 0.25f, 0.06f);
  EXPECT_NEAR(p.x - 1.f, p.z - 5.f, 1e-3f);
  EXPECT_TRUE(env.info(0).collided);
  // A 30 degree turn.
  env.step({Action::TurnLeft});
  EXPECT_NEAR(env.info(0).state.heading_rad, 3.14159265f * (0.25f + 1.f / 6), 1e-5f);
  fs::remove_all(dir);
}

TEST(SceneCache, LoadsEachSceneOnceAcrossThreads) {
  const fs::path dir = fs::temp_directory_path() / ("svln_cache_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "mp3d" / "room");
  const std::string glb = (dir / "mp3d" / "room" / "room.glb").string();
  saveGlb(test::openRoom(), glb);
  SceneCache cache;
  std::vector<std::shared_ptr<const Scene>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { got[i] = cache.get(glb); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.loads(), 1);
  for (const auto& s : got) EXPECT_EQ(s.get(), got[0].get());
  EXPECT_TRUE(fs::exists(dir / "mp3d" / "room" / "room.navmesh"));  // Habitat's place for it
  EXPECT_NEAR(got[0]->pathfinder.geodesicDistance({2, 0, 5}, {8, 0, 5}), 6.f, 0.05f);

  // Through a config: scenes_dir + scene_id, as VLN-CE episodes name them.
  HabitatConfig cfg = smallConfig();
  cfg.scenes_dir = dir.string();
  EXPECT_EQ(cfg.scenePath("mp3d/room/room.glb"), glb);

  const std::string missing = (dir / "none.glb").string();
  EXPECT_EQ(errorOf([&] { cache.get(missing); }), missing + ": scene file not found");
  EXPECT_EQ(cache.size(), 1u);  // failures are not cached
  fs::remove_all(dir);
}

TEST(SceneCache, BoundedCacheDropsLeastRecentlyUsed) {
  SceneCache cache({}, 2);
  auto a = std::make_shared<Scene>();
  cache.insert("a", a);
  cache.insert("b", std::make_shared<Scene>());
  EXPECT_EQ(cache.get("a").get(), a.get());  // a is now the most recent
  cache.insert("c", std::make_shared<Scene>());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get("a").get(), a.get());
  EXPECT_NE(errorOf([&] { cache.get("b"); }).find("b: scene file not found"), std::string::npos);
}

TEST(EpisodeIterator, GroupsBySceneShufflesDeterministicallyAndCycles) {
  std::vector<Episode> eps;
  for (int i = 0; i < 9; ++i) {
    Episode e;
    e.episode_id = std::to_string(i);
    e.scene_id = "s" + std::to_string(i % 3);
    eps.push_back(e);
  }
  EpisodeIterator plain(eps, false, 1, false);
  std::vector<std::string> ids;
  while (const Episode* e = plain.next()) ids.push_back(e->episode_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"0", "3", "6", "1", "4", "7", "2", "5", "8"}));

  const auto run = [&](uint64_t seed) {
    EpisodeIterator it(eps, true, seed, true);
    std::vector<std::string> out;
    for (int k = 0; k < 18; ++k) out.push_back(it.next()->scene_id + ":" + it.next()->episode_id);
    EXPECT_EQ(it.epoch(), 3);  // 36 draws of 9 episodes: epochs 0..3
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EpisodeIterator it(eps, true, 7, false);
  std::vector<std::string> scenes;
  std::multiset<std::string> seen;
  while (const Episode* e = it.next()) {
    if (scenes.empty() || scenes.back() != e->scene_id) scenes.push_back(e->scene_id);
    seen.insert(e->episode_id);
  }
  EXPECT_EQ(scenes.size(), 3u);  // each scene visited in one run
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 9u);
}

TEST(EpisodeIterator, FromConfigFiltersLanguages) {
  HabitatConfig cfg;
  cfg.data_path = std::string(SVLN_TEST_DATA) + "/episodes/{split}_{role}.json.gz";
  cfg.roles = {"guide"};
  cfg.languages = {"hi-IN"};
  // These fixtures have no _gt file: nDTW's reference must be asked for by name.
  try {
    EpisodeIterator::fromConfig(cfg, "val_unseen", false, false);
    ADD_FAILURE() << "episodes without ground truth must not silently change nDTW's reference";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("val_unseen_guide_gt.json.gz"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--ndtw_reference reference_path"), std::string::npos) << msg;
  }
  cfg.ndtw_reference = NdtwReference::kReferencePath;
  EpisodeIterator it = EpisodeIterator::fromConfig(cfg, "val_unseen", false, false);
  ASSERT_EQ(it.size(), 1u);
  EXPECT_EQ(it.next()->episode_id, "8");
  cfg.languages.clear();
  EXPECT_EQ(EpisodeIterator::fromConfig(cfg, "val_unseen", false, false).size(), 2u);
  cfg.content_scenes = {"7y3sRwLe3Va"};  // not a scene of this split
  EXPECT_EQ(EpisodeIterator::fromConfig(cfg, "val_unseen", false, false).size(), 0u);
  cfg.content_scenes = {"7y3sRwLe3Va", "zsNo4HB9uLZ"};
  EXPECT_EQ(EpisodeIterator::fromConfig(cfg, "val_unseen", false, false).size(), 2u);
  // R2R + RxR mixed: the R2R fixture's episodes have no language and pass the filter.
  cfg.content_scenes.clear();
  cfg.languages = {"hi-IN"};
  cfg.extra_data_paths = {std::string(SVLN_TEST_DATA) + "/episodes/val_seen.json.gz"};
  EpisodeIterator mixed = EpisodeIterator::fromConfig(cfg, "val_unseen", false, false);
  ASSERT_EQ(mixed.size(), 3u);
  std::vector<std::string> ids;
  while (const Episode* e = mixed.next()) ids.push_back(e->scene_id + ":" + e->episode_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb:8",
                                           "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb:1",
                                           "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb:2"}));
}

}  // namespace
}  // namespace svln::sim
