#include "io/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/eval_gallery.h"
#include "sim/episode.h"
#include "sim/habitat_config.h"

namespace svln::io {
namespace {

namespace fs = std::filesystem;

std::string readAll(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void writeText(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

// A run directory as the trainer and `streamvln eval --out` leave it.
fs::path makeRunDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  writeText(dir / "training.log",
            "[2026-11-25 10:00:00] config:\n  phase: phase1_stop\n  group_size: 8\n"
            "  model_path: <ckpt>\n[2026-11-25 10:00:01] trainable parameters: 1234\n");
  writeText(
      dir / "metrics.jsonl",
      "{\"update\":1,\"success_rate\":0.25,\"spl\":0.2,\"grpo_loss\":0.5,\"sft_weight\":1}\n"
      "{\"update\":2,\"success_rate\":0.5,\"spl\":0.4,\"grpo_loss\":0.3,\"sft_weight\":0.5}\n");
  writeText(dir / "eval_val_unseen.json",
            R"({"split":"val_unseen","success_rate":0.4,"spl":0.3125,"navigation_error":4.5,)"
            R"("per_episode":[{"episode_id":"1"},{"episode_id":"2"}]})");
  writeText(dir / "maps" / "ep_1.png", "png");
  writeText(dir / "videos" / "ep_1.mp4", "mp4");
  return dir;
}

TEST(Report, ParsesTheConfigBlockOfTrainingLog) {
  const auto kv =
      parseTrainingLogConfig("[t] config:\n  a: 1\n  b: x: y\n[t] update 1\n  c: not config\n");
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(kv[1], (std::pair<std::string, std::string>{"b", "x: y"}));
  EXPECT_EQ(htmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

TEST(Report, CollectsEverySectionOfARunDirectory) {
  const fs::path dir = makeRunDir("svln_report_test");
  const ReportInputs in = collectReportInputs(dir.string());
  EXPECT_EQ(in.title, "svln_report_test");
  ASSERT_EQ(in.config.size(), 3u);
  EXPECT_EQ(in.config[1].second, "8");
  EXPECT_EQ(in.metrics.at("spl").y, (std::vector<double>{0.2, 0.4}));
  ASSERT_EQ(in.evals.size(), 1u);
  EXPECT_EQ(in.evals[0].episodes, 2);
  EXPECT_DOUBLE_EQ(in.evals[0].summary.at("spl"), 0.3125);
  EXPECT_EQ(in.maps, (std::vector<std::string>{"maps/ep_1.png"}));
  EXPECT_EQ(in.videos, (std::vector<std::string>{"videos/ep_1.mp4"}));

  const std::string path = writeRunReport(dir.string());
  EXPECT_EQ(path, (dir / "report.html").string());
  const std::string html = readAll(path);
  EXPECT_NE(html.find("<td>0.312</td>"), std::string::npos);  // SPL, 3 decimals
  EXPECT_NE(html.find("<td>4.50</td>"), std::string::npos);   // NE, 2 decimals
  // Latest values: sft_weight was 0.5 at update 2.
  EXPECT_NE(html.find("sft_weight</td><td>2</td><td>0.5000</td>"), std::string::npos);
  EXPECT_NE(html.find("&lt;ckpt&gt;"), std::string::npos);  // escaped config value
  EXPECT_EQ(html.find("<ckpt>"), std::string::npos);
  EXPECT_NE(html.find("src=\"maps/ep_1.png\""), std::string::npos);
  EXPECT_NE(html.find("<video src=\"videos/ep_1.mp4\""), std::string::npos);
  EXPECT_NE(html.find("\"success_rate\":[[1.0,0.25],[2.0,0.5]]"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // nothing fetched from the network
  EXPECT_TRUE(fs::exists(dir / "curves" / "success___SPL___nDTW.png"));
  EXPECT_TRUE(fs::exists(dir / "curves" / "losses.png"));
}

TEST(Report, CorruptEvalFileIsNamedInTheError) {
  const fs::path dir = makeRunDir("svln_report_corrupt");
  writeText(dir / "eval" / "val_seen.json", "{not json");
  try {
    writeRunReport(dir.string());
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("val_seen.json: not valid JSON"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(collectReportInputs((dir / "nope").string()), std::runtime_error);
}

TEST(Report, CommandWritesTheReportOrOneErrorLine) {
  const fs::path dir = makeRunDir("svln_report_cli");
  const fs::path out = dir / "stdout.txt";
  const std::string cmd =
      std::string(SVLN_BINARY) + " report --run " + dir.string() + " > " + out.string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readAll(out);
  EXPECT_TRUE(fs::exists(dir / "report.html"));
  const std::string bad = std::string(SVLN_BINARY) + " report --run " + (dir / "nope").string() +
                          " > " + out.string() + " 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_NE(readAll(out).find("error: "), std::string::npos) << readAll(out);
}

TEST(Report, EvalEpisodesAreReplayedIntoMapsAndVideos) {
  const fs::path world = fs::temp_directory_path() / "svln_report_world";
  fs::remove_all(world);
  const std::string gen =
      std::string(SVLN_BINARY) + " gen-data --out " + world.string() +
      " --scenes 2 --episodes-per-scene 3 --seed 5 --max-rooms 3 > /dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  const sim::HabitatConfig cfg = sim::loadHabitatConfig((world / "config.yaml").string());
  const sim::EpisodeDataset ds = sim::loadEpisodes(cfg.episodesPath("val_unseen"));
  ASSERT_GE(ds.episodes.size(), 2u);
  // The ground-truth (expert) actions of two episodes, as `streamvln eval --out` writes them.
  nlohmann::json eval = {
      {"split", "val_unseen"}, {"success_rate", 1.0}, {"per_episode", nlohmann::json::array()}};
  for (int i = 0; i < 2; ++i)
    eval["per_episode"].push_back(
        {{"episode_id", ds.episodes[i].episode_id}, {"actions", ds.episodes[i].gt_actions}});
  const fs::path run = fs::temp_directory_path() / "svln_report_gallery";
  fs::remove_all(run);
  writeText(run / "eval_val_unseen.json", eval.dump());
  EXPECT_EQ(renderEvalGallery(run.string(), cfg, GalleryOptions{2, 1}), 3);
  const std::string id0 = ds.episodes[0].episode_id;
  EXPECT_TRUE(fs::exists(run / "maps" / ("eval_val_unseen_ep" + id0 + ".png")));
  EXPECT_TRUE(
      fs::exists(run / "maps" / ("eval_val_unseen_ep" + ds.episodes[1].episode_id + ".png")));
  EXPECT_EQ(collectReportInputs(run.string()).videos.size(), 1u);

  eval["per_episode"][0]["episode_id"] = "no-such-episode";
  writeText(run / "eval_val_unseen.json", eval.dump());
  EXPECT_THROW(renderEvalGallery(run.string(), cfg, GalleryOptions{}), std::runtime_error);
}

}  // namespace
}  // namespace svln::io

namespace svln::io {
namespace {

// The trainer's visuals/update-<u>/ folders: numeric order (2 before 10), other folders
// ignored, each a gallery of its own in the page.
TEST(Report, ListsTrainingVisualsByUpdate) {
  const fs::path dir = std::filesystem::temp_directory_path() / "svln_report_visuals";
  fs::remove_all(dir);
  for (const char* f : {"visuals/update-10/ep1_member0.png", "visuals/update-10/ep1_member0.mp4",
                        "visuals/update-2/ep3_member0.png", "visuals/update-x/skip.png",
                        "visuals/notes/skip.png"}) {
    fs::create_directories((dir / f).parent_path());
    std::ofstream(dir / f) << "x";
  }
  const ReportInputs in = collectReportInputs(dir.string());
  ASSERT_EQ(in.training_visuals.size(), 2u);
  EXPECT_EQ(in.training_visuals[0].update, 2);
  EXPECT_EQ(in.training_visuals[0].maps, std::vector<std::string>{"visuals/update-2/ep3_member0.png"});
  EXPECT_EQ(in.training_visuals[1].update, 10);
  EXPECT_EQ(in.training_visuals[1].videos,
            std::vector<std::string>{"visuals/update-10/ep1_member0.mp4"});
  const std::string html = renderReportHtml(in);
  const size_t u2 = html.find("id=\"visuals-update-2\""), u10 = html.find("id=\"visuals-update-10\"");
  ASSERT_NE(u2, std::string::npos);
  ASSERT_NE(u10, std::string::npos);
  EXPECT_LT(u2, u10);
  EXPECT_NE(html.find("<video src=\"visuals/update-10/ep1_member0.mp4\""), std::string::npos);
  EXPECT_EQ(html.find("skip.png"), std::string::npos);
}

}  // namespace
}  // namespace svln::io
