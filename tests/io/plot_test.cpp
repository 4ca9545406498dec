#include "io/plot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace svln::io {
namespace {

TEST(Plot, NiceTicksUseOneTwoFiveSteps) {
  // (1 - 0)/5 = 0.2 -> step 0.2; (97 - 3)/5 = 18.8 -> step 20, from 0 to 100.
  const std::vector<double> a = niceTicks(0.0, 1.0, 5);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_NEAR(a[1], 0.2, 1e-12);
  EXPECT_NEAR(a.back(), 1.0, 1e-9);
  const std::vector<double> b = niceTicks(3.0, 97.0, 5);
  ASSERT_EQ(b.size(), 6u);
  EXPECT_DOUBLE_EQ(b.front(), 0.0);
  EXPECT_DOUBLE_EQ(b.back(), 100.0);
  // A flat series still gets a range around its value.
  const std::vector<double> c = niceTicks(0.5, 0.5, 5);
  EXPECT_LT(c.front(), 0.5);
  EXPECT_GT(c.back(), 0.5);
  EXPECT_EQ(tickLabel(0.25, 0.05), "0.25");
  EXPECT_EQ(tickLabel(100.0, 20.0), "100");
  EXPECT_EQ(tickLabel(0.4, 0.2), "0.4");
  EXPECT_EQ(tickLabel(20000000.0, 5000000.0), "2e+07");
}

TEST(Plot, ReadsMetricsJsonlAndNamesTheBadLine) {
  const auto dir = std::filesystem::temp_directory_path() / "svln_plot_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "metrics.jsonl").string();
  {
    std::ofstream f(path);
    f << R"({"update": 1, "success_rate": 0.25, "grpo_loss": null})"
      << "\n\n"
      << R"({"update": 2, "success_rate": 0.5, "grpo_loss": -0.1, "note": "x"})"
      << "\n";
  }
  const auto m = readMetricsJsonl(path);
  ASSERT_EQ(m.count("success_rate"), 1u);
  EXPECT_EQ(m.at("success_rate").x, (std::vector<double>{1, 2}));
  EXPECT_EQ(m.at("success_rate").y, (std::vector<double>{0.25, 0.5}));
  EXPECT_EQ(m.at("grpo_loss").x, (std::vector<double>{2}));  // null skipped
  EXPECT_EQ(m.count("note"), 0u);
  {
    std::ofstream f(path, std::ios::app);
    f << "{\"update\": 3, \"spl\n";
  }
  try {
    readMetricsJsonl(path);
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": line 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(readMetricsJsonl((dir / "missing.jsonl").string()), std::runtime_error);
}

TEST(Plot, RisingSeriesIsDrawnRisingInItsColour) {
  Series s{"success_rate", {0, 1, 2, 3, 4}, {0.0, 0.2, 0.4, 0.6, 0.8}};
  PlotOptions opt;
  opt.title = "SR";
  const Image img = renderLinePlot({s}, opt);
  ASSERT_EQ(img.width, 480);
  const Color c = seriesColor(0);
  // Mean row of the series' pixels in the left and right thirds of the plot area.
  double y_left = 0, y_right = 0;
  int n_left = 0, n_right = 0;
  for (int y = 20; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] != c.r || p[1] != c.g || p[2] != c.b) continue;
      if (x < img.width / 3) y_left += y, ++n_left;
      if (x > 2 * img.width / 3) y_right += y, ++n_right;
    }
  ASSERT_GT(n_left, 20);
  ASSERT_GT(n_right, 20);
  EXPECT_GT(y_left / n_left, y_right / n_right + 50.0);  // image y grows downwards
}

TEST(Plot, LearningCurvesOnlyForKeysPresent) {
  std::map<std::string, Series> m;
  m["success_rate"] = {"success_rate", {1, 2}, {0.1, 0.2}};
  m["sft_weight"] = {"sft_weight", {1, 2}, {1.0, 0.5}};
  const auto pngs = learningCurvePngs(m);
  ASSERT_EQ(pngs.size(), 2u);
  EXPECT_EQ(pngs[0].first, "success / SPL / nDTW");
  EXPECT_EQ(pngs[1].first, "SFT weight");
  EXPECT_EQ(pngs[0].second.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace svln::io
