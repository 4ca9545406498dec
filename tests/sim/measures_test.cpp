#include "sim/measures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "sim/path_finder.h"
#include "test_scenes.h"

namespace svln::sim {
namespace {

using V = std::vector<Vec3>;

TEST(Measures, DtwOfHandWorkedLists) {
  // a = 0,1,2 on x; b = 0,2. D = [[0,2],[1,1],[3,1]] -> DTW 1.
  EXPECT_FLOAT_EQ(dtw(V{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}}, V{{0, 0, 0}, {2, 0, 0}}), 1.f);
  EXPECT_FLOAT_EQ(ndtw(V{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}}, V{{0, 0, 0}, {2, 0, 0}}),
                  std::exp(-1.f / 6.f));
  // a = z 0,3; b = z 0,1,2,3. Row 0: 0,1,3,6. Row 1: 3,2,2,2 -> DTW 2, nDTW exp(-2/12).
  const V a{{0, 0, 0}, {0, 0, 3}}, b{{0, 0, 0}, {0, 0, 1}, {0, 0, 2}, {0, 0, 3}};
  EXPECT_FLOAT_EQ(dtw(a, b), 2.f);
  EXPECT_FLOAT_EQ(dtw(b, a), 2.f);  // symmetric
  EXPECT_FLOAT_EQ(ndtw(a, b, 3.f), std::exp(-2.f / 12.f));
  EXPECT_FLOAT_EQ(ndtw(b, b), 1.f);
  // Single points: the distance itself (3-4-5 triangle).
  EXPECT_FLOAT_EQ(dtw(V{{0, 0, 0}}, V{{3, 4, 0}}), 5.f);
  EXPECT_TRUE(std::isinf(dtw(V{}, b)));
}

TEST(Measures, SplFormula) {
  EXPECT_FLOAT_EQ(spl(true, 4.f, 5.5f), 4.f / 5.5f);
  EXPECT_FLOAT_EQ(spl(true, 4.f, 3.f), 1.f);  // a path shorter than the geodesic counts as 1
  EXPECT_FLOAT_EQ(spl(false, 4.f, 4.f), 0.f);
}

class MeasuresScene : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    room_ = new PathFinder();
    room_->build(test::openRoom());
    door_ = new PathFinder();
    door_->build(test::wallWithDoor());
  }
  static void TearDownTestSuite() {
    delete room_;
    delete door_;
  }
  static Episode episode(const Vec3& start, const Vec3& goal, V reference) {
    Episode e;
    e.episode_id = "9";
    e.start_position = start;
    e.goals.push_back({goal, 3.f});
    e.reference_path = std::move(reference);
    e.gt_locations = e.reference_path;  // nDTW's reference
    return e;
  }
  static PathFinder* room_;
  static PathFinder* door_;
};
PathFinder* MeasuresScene::room_ = nullptr;
PathFinder* MeasuresScene::door_ = nullptr;

TEST_F(MeasuresScene, DetourPathGivesHandWorkedSplAndNdtw) {
  // Open room: start (2,5), goal (8,5), shortest 6 m. The agent turns, detours 2 m to z=3,
  // walks 6 m along x and stops 2 m from the goal: success, path 8 m, SPL 6/8.
  const Episode ep = episode({2, 0, 5}, {8, 0, 5}, V{{2, 0, 5}, {5, 0, 5}, {8, 0, 5}});
  EpisodeMeasures m(3.f);
  m.reset(ep, *room_, {{2, 0, 5}, 0.f});
  EXPECT_NEAR(m.metrics().shortest_path_length, 6.f, 0.05f);
  EXPECT_NEAR(m.metrics().distance_to_goal, 6.f, 0.05f);
  m.update({{2, 0, 5}, 1.57f}, Action::TurnLeft, false);  // same spot: not a new DTW point
  m.update({{2, 0, 3}, 1.57f}, Action::MoveForward, false);
  m.update({{8, 0, 3}, 1.57f}, Action::MoveForward, true);
  EXPECT_EQ(m.metrics().success, 0.f);  // within 3 m but STOP not called yet
  EXPECT_EQ(m.metrics().oracle_success, 1.f);
  m.update({{8, 0, 3}, 1.57f}, Action::Stop, false);
  const EpisodeMetrics& r = m.metrics();
  EXPECT_TRUE(m.stopCalled());
  EXPECT_EQ(r.steps, 4);
  EXPECT_EQ(r.collisions, 1);
  EXPECT_FLOAT_EQ(r.path_length, 8.f);
  EXPECT_NEAR(r.distance_to_goal, 2.f, 0.05f);
  EXPECT_NEAR(r.navigation_error, 2.f, 0.05f);
  EXPECT_NEAR(r.oracle_navigation_error, 2.f, 0.05f);
  EXPECT_EQ(r.success, 1.f);
  EXPECT_NEAR(r.spl, 6.f / 8.f, 0.01f);
  // Agent points (2,5),(2,3),(8,3) against the reference: DTW = 2 + sqrt(13) (worked in
  // docs/world.md), nDTW = exp(-DTW / (3 * 3)).
  const float expected_ndtw = std::exp(-(2.f + std::sqrt(13.f)) / 9.f);
  EXPECT_NEAR(r.ndtw, expected_ndtw, 1e-5f);
  EXPECT_NEAR(r.ndtw, 0.53643f, 1e-4f);
  EXPECT_NEAR(r.sdtw, expected_ndtw, 1e-5f);
  EXPECT_NEAR(r.ndtw, ndtw(V{{2, 0, 5}, {2, 0, 3}, {8, 0, 3}}, ep.reference_path), 1e-6f);
}

TEST_F(MeasuresScene, SuccessUsesGeodesicNotStraightLine) {
  // Two rooms split by a wall at x=5 with a door at z in [4.5, 5.5]. Stopping at (4.7, 2) is
  // 2.8 m from the goal (7.5, 2) in a straight line but ~6.3 m around through the door.
  const Episode ep = episode({2.5f, 0, 2}, {7.5f, 0, 2}, V{{2.5f, 0, 2}, {5, 0, 5}, {7.5f, 0, 2}});
  EpisodeMeasures m(3.f);
  m.reset(ep, *door_, {{2.5f, 0, 2}, 0.f});
  const float shortest = m.metrics().shortest_path_length;
  // Through the door corner (5, ~4.6): 2 * hypot(2.5, 2.6) ~= 7.21 m.
  EXPECT_GT(shortest, 7.0f);
  EXPECT_LT(shortest, 7.4f);
  m.update({{4.7f, 0, 2}, 0.f}, Action::MoveForward, false);
  m.update({{4.7f, 0, 2}, 0.f}, Action::Stop, false);
  EXPECT_GT(m.metrics().distance_to_goal, 6.f);
  EXPECT_EQ(m.metrics().success, 0.f);
  EXPECT_EQ(m.metrics().oracle_success, 0.f);
  EXPECT_EQ(m.metrics().spl, 0.f);
  EXPECT_EQ(m.metrics().sdtw, 0.f);
  EXPECT_GT(m.metrics().ndtw, 0.f);
}

TEST_F(MeasuresScene, GroundTruthLocationsAreTheNdtwReference) {
  Episode ep = episode({2, 0, 5}, {4, 0, 5}, V{{2, 0, 5}, {9, 0, 9}});
  ep.gt_locations = V{{2, 0, 5}, {3, 0, 5}, {4, 0, 5}};
  EpisodeMeasures m(3.f);
  m.reset(ep, *room_, {{2, 0, 5}, 0.f});
  m.update({{3, 0, 5}, 0.f}, Action::MoveForward, false);
  m.update({{4, 0, 5}, 0.f}, Action::MoveForward, false);
  m.update({{4, 0, 5}, 0.f}, Action::Stop, false);
  EXPECT_FLOAT_EQ(m.metrics().ndtw, 1.f);  // exactly the dense ground truth
  EXPECT_EQ(m.metrics().success, 1.f);
  EXPECT_NEAR(m.metrics().spl, 1.f, 0.01f);

  // reference_path, asked for by name, measures against the sparse waypoints instead.
  EpisodeMeasures r(3.f, NdtwReference::kReferencePath);
  r.reset(ep, *room_, {{2, 0, 5}, 0.f});
  r.update({{3, 0, 5}, 0.f}, Action::MoveForward, false);
  r.update({{4, 0, 5}, 0.f}, Action::MoveForward, false);
  r.update({{4, 0, 5}, 0.f}, Action::Stop, false);
  EXPECT_NEAR(r.metrics().ndtw, ndtw(V{{2, 0, 5}, {3, 0, 5}, {4, 0, 5}}, ep.reference_path), 1e-6f);
  EXPECT_LT(r.metrics().ndtw, 0.9f);

  // Without gt locations the default is an error naming the flag, never a silent fallback.
  ep.gt_locations.clear();
  try {
    m.reset(ep, *room_, {{2, 0, 5}, 0.f});
    ADD_FAILURE() << "no gt locations must be an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--ndtw_reference reference_path"), std::string::npos);
  }
  EXPECT_EQ(parseNdtwReference("reference_path"), NdtwReference::kReferencePath);
  EXPECT_STREQ(ndtwReferenceName(parseNdtwReference("gt")), "gt");
  EXPECT_THROW(parseNdtwReference("path"), std::runtime_error);
}

TEST_F(MeasuresScene, EpisodeWithoutGoalsIsRejected) {
  Episode ep = episode({2, 0, 5}, {4, 0, 5}, {});
  ep.goals.clear();
  EpisodeMeasures m;
  EXPECT_THROW(m.reset(ep, *room_, {{2, 0, 5}, 0.f}), std::runtime_error);
}

TEST_F(MeasuresScene, UnreachableGoalGivesHabitatsInfAndNaN) {
  // The goal stands on the separate platform: no path. Habitat: DistanceToGoal = inf, so
  // NE = inf, no success, SPL = 0 * inf / inf = NaN; np.mean carries both into the summary.
  const Episode ep = episode({2, 0, 3}, {13.5f, 0, 1.5f}, {{2, 0, 3}, {13.5f, 0, 1.5f}});
  EpisodeMeasures m;
  m.reset(ep, *door_, {door_->snapPoint({2, 0, 3}), 0.f});
  EXPECT_TRUE(std::isinf(m.metrics().distance_to_goal));
  m.update({door_->snapPoint({2.25f, 0, 3}), 0.f}, Action::MoveForward, false);
  m.update({door_->snapPoint({2.25f, 0, 3}), 0.f}, Action::Stop, false);
  const EpisodeMetrics& u = m.metrics();
  EXPECT_TRUE(std::isinf(u.navigation_error));
  EXPECT_TRUE(std::isinf(u.oracle_navigation_error));
  EXPECT_EQ(u.success, 0.f);
  EXPECT_EQ(u.oracle_success, 0.f);
  EXPECT_TRUE(std::isnan(u.spl));
  EXPECT_GT(u.ndtw, 0.f);  // nDTW is euclidean: defined
  EpisodeMetrics fine;
  fine.spl = 1.f, fine.navigation_error = 1.f, fine.success = 1.f;
  const MetricsSummary s = summarize({u, fine});
  EXPECT_EQ(s.unreachable, 1);
  EXPECT_TRUE(std::isinf(s.navigation_error));
  EXPECT_TRUE(std::isnan(s.spl));
  EXPECT_DOUBLE_EQ(s.success, 0.5);
}

TEST(Measures, SummaryIsTheMeanOverEpisodes) {
  EpisodeMetrics a, b;
  a.success = 1.f;
  a.spl = 0.75f;
  a.steps = 10;
  a.path_length = 8.f;
  a.ndtw = 0.5f;
  b.success = 0.f;
  b.spl = 0.f;
  b.steps = 31;
  b.path_length = 2.f;
  b.ndtw = 0.25f;
  b.collisions = 3;
  const MetricsSummary s = summarize({a, b});
  EXPECT_EQ(s.episodes, 2);
  EXPECT_DOUBLE_EQ(s.success, 0.5);
  EXPECT_DOUBLE_EQ(s.spl, 0.375);
  EXPECT_DOUBLE_EQ(s.steps, 20.5);
  EXPECT_DOUBLE_EQ(s.path_length, 5.0);
  EXPECT_DOUBLE_EQ(s.ndtw, 0.375);
  EXPECT_DOUBLE_EQ(s.collisions, 1.5);
  EXPECT_EQ(s.namedValues().size(), 13u);
  EXPECT_EQ(s.unreachable, 0);
  EXPECT_EQ(summarize({}).episodes, 0);
}

}  // namespace
}  // namespace svln::sim
