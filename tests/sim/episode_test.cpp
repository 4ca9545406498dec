#include "sim/episode.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "sim/episode_iterator.h"
#include "sim/gzip_io.h"
#include "sim/habitat_config.h"
#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::tempDir;
using svln::test::errorOf;

namespace fs = std::filesystem;
const std::string kData = std::string(SVLN_TEST_DATA) + "/episodes/";

void expectSame(const Episode& a, const Episode& b) {
  EXPECT_EQ(a.episode_id, b.episode_id);
  EXPECT_EQ(a.trajectory_id, b.trajectory_id);
  EXPECT_EQ(a.scene_id, b.scene_id);
  EXPECT_EQ(a.start_position, b.start_position);
  EXPECT_EQ(a.start_rotation.x, b.start_rotation.x);
  EXPECT_EQ(a.start_rotation.y, b.start_rotation.y);
  EXPECT_EQ(a.start_rotation.w, b.start_rotation.w);
  ASSERT_EQ(a.goals.size(), b.goals.size());
  for (size_t i = 0; i < a.goals.size(); ++i) {
    EXPECT_EQ(a.goals[i].position, b.goals[i].position);
    EXPECT_EQ(a.goals[i].radius, b.goals[i].radius);
  }
  ASSERT_EQ(a.reference_path.size(), b.reference_path.size());
  for (size_t i = 0; i < a.reference_path.size(); ++i)
    EXPECT_EQ(a.reference_path[i], b.reference_path[i]);
  EXPECT_EQ(a.instruction.instruction_text, b.instruction.instruction_text);
  EXPECT_EQ(a.instruction.language, b.instruction.language);
  EXPECT_EQ(a.instruction.instruction_tokens, b.instruction.instruction_tokens);
  EXPECT_EQ(a.instruction.extra, b.instruction.extra);
  EXPECT_EQ(a.geodesic_distance, b.geodesic_distance);
  EXPECT_EQ(a.extra, b.extra);
  ASSERT_EQ(a.gt_locations.size(), b.gt_locations.size());
  for (size_t i = 0; i < a.gt_locations.size(); ++i)
    EXPECT_EQ(a.gt_locations[i], b.gt_locations[i]);
  EXPECT_EQ(a.gt_actions, b.gt_actions);
}

TEST(Episode, ReadsR2RFileWithGroundTruth) {
  const EpisodeDataset d = loadEpisodes(kData + "val_seen.json.gz");
  ASSERT_EQ(d.episodes.size(), 2u);
  const Episode& e = d.episodes[0];
  EXPECT_EQ(e.episode_id, "1");
  EXPECT_EQ(e.trajectory_id, "4");
  EXPECT_EQ(e.scene_id, "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb");
  EXPECT_FLOAT_EQ(e.start_position.x, -16.2672f);
  EXPECT_FLOAT_EQ(e.start_rotation.y, 0.98314665f);
  EXPECT_FLOAT_EQ(e.geodesic_distance, 6.425291f);
  ASSERT_EQ(e.goals.size(), 1u);
  EXPECT_FLOAT_EQ(e.goals[0].position.z, 4.01711f);
  EXPECT_FLOAT_EQ(e.goals[0].radius, 3.f);
  EXPECT_EQ(e.reference_path.size(), 3u);
  EXPECT_EQ(e.instruction.instruction_tokens.size(), 12u);
  EXPECT_EQ(e.instruction.instruction_tokens[0], 2384);
  EXPECT_TRUE(e.instruction.language.empty());
  EXPECT_EQ(d.extra.at("instruction_vocab").at("num_vocab"), 4);
  // From val_seen_gt.json.gz.
  EXPECT_EQ(e.gt_actions, (std::vector<int>{3, 1, 1, 0}));
  ASSERT_EQ(e.gt_locations.size(), 4u);
  EXPECT_FLOAT_EQ(e.gt_locations[3].z, 1.04755f);
  EXPECT_EQ(d.episodes[1].gt_actions, (std::vector<int>{1, 0}));
}

TEST(Episode, ReadsRxRFieldsIntoExtra) {
  const EpisodeDataset d = loadEpisodes(kData + "val_unseen_guide.json.gz");
  ASSERT_EQ(d.episodes.size(), 2u);
  const Episode& e = d.episodes[1];
  EXPECT_EQ(e.episode_id, "8");
  EXPECT_EQ(e.trajectory_id, "3751");
  EXPECT_EQ(e.instruction.language, "hi-IN");
  EXPECT_EQ(e.instruction.extra.at("instruction_id"), "13");
  EXPECT_EQ(e.instruction.extra.at("annotator_id"), "61");
  EXPECT_DOUBLE_EQ(e.instruction.extra.at("edit_distance").get<double>(), 0.12);
  EXPECT_TRUE(e.instruction.instruction_tokens.empty());
  EXPECT_TRUE(e.gt_locations.empty());  // no _gt file beside the RxR fixture
  // Turned 90 degrees to the right: heading -pi/2.
  EXPECT_NEAR(headingFromQuat(e.start_rotation), -1.5707963f, 1e-5f);
}

TEST(Episode, RxRRoleFilesReadTheirOwnGroundTruth) {
  // VLN-CE's RxR layout: {split}/{split}_{role}.json.gz with {split}_{role}_gt.json.gz beside
  // each (RXR GT_PATH); every role's episodes measure nDTW against their own role's file.
  const fs::path dir = tempDir("rxr_roles");
  for (const std::string role : {"guide", "follower"}) {
    EpisodeDataset d;
    Episode e;
    e.episode_id = role + "-1";
    e.scene_id = "mp3d/x/x.glb";
    e.goals.push_back({{3, 0, 0}, 3.f});
    e.instruction.instruction_text = role == "guide" ? "\u0938\u0940\u0927\u0947 \u091a\u0932\u0947\u0902" : "walk";
    e.instruction.language = role == "guide" ? "hi-IN" : "en-US";
    const float z = role == "guide" ? 1.f : 2.f;
    e.gt_locations = {{0, 0, z}, {1, 0, z}};
    e.gt_actions = {1, 0};
    d.episodes.push_back(e);
    fs::create_directories(dir / "val_unseen");
    saveEpisodes(d, (dir / "val_unseen" / ("val_unseen_" + role + ".json.gz")).string());
    EXPECT_TRUE(fs::exists(dir / "val_unseen" / ("val_unseen_" + role + "_gt.json.gz")));
  }
  HabitatConfig cfg;
  cfg.data_path = (dir / "{split}/{split}_{role}.json.gz").string();
  cfg.roles = {"guide", "follower"};
  EpisodeIterator it = EpisodeIterator::fromConfig(cfg, "val_unseen", false, false);
  ASSERT_EQ(it.size(), 2u);
  for (const Episode* e = it.next(); e != nullptr; e = it.next()) {
    ASSERT_EQ(e->gt_locations.size(), 2u) << e->episode_id;
    EXPECT_EQ(e->gt_locations[1].z, e->episode_id == "guide-1" ? 1.f : 2.f);
  }
  // A role without its gt file is an error naming that file.
  fs::remove(dir / "val_unseen" / "val_unseen_follower_gt.json.gz");
  try {
    EpisodeIterator::fromConfig(cfg, "val_unseen", false, false);
    ADD_FAILURE() << "expected a missing-gt error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("val_unseen_follower_gt.json.gz"), std::string::npos)
        << e.what();
  }
}

TEST(Episode, SaveLoadRoundTripIsEqualAndDeterministic) {
  const fs::path dir = tempDir("roundtrip");
  for (const std::string name : {"val_seen.json.gz", "val_unseen_guide.json.gz"}) {
    const EpisodeDataset a = loadEpisodes(kData + name);
    const std::string out = (dir / name).string();
    saveEpisodes(a, out);
    const std::string bytes1 = readFileMaybeGzip(out);
    const EpisodeDataset b = loadEpisodes(out);
    ASSERT_EQ(a.episodes.size(), b.episodes.size());
    for (size_t i = 0; i < a.episodes.size(); ++i) expectSame(a.episodes[i], b.episodes[i]);
    EXPECT_EQ(a.extra, b.extra);
    saveEpisodes(b, out);
    EXPECT_EQ(readFileMaybeGzip(out), bytes1);  // same data, same bytes
  }
  // R2R ids stay integers, RxR ids stay strings of digits only when canonical.
  EXPECT_NE(readFileMaybeGzip((dir / "val_seen.json.gz").string()).find("\"episode_id\":1,"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "val_seen_gt.json.gz"));
  EXPECT_FALSE(fs::exists(dir / "val_unseen_guide_gt.json.gz"));
  const auto gt = nlohmann::json::parse(readFileMaybeGzip((dir / "val_seen_gt.json.gz").string()));
  EXPECT_EQ(gt.at("1").at("forward_steps"), 2);
  fs::remove_all(dir);
}

TEST(Episode, PlainJsonAndTextIdsRoundTrip) {
  const fs::path dir = tempDir("plain");
  EpisodeDataset d;
  Episode e;
  e.episode_id = "007";  // not a canonical integer: must stay text
  e.scene_id = "proc/s0/s0.glb";
  e.start_position = {0.1f, 0.f, -2.5f};
  e.start_rotation = quatFromHeading(0.5f);
  e.goals.push_back({{1.f, 0.f, 1.f}, 3.f});
  e.instruction.instruction_text = "Go.";
  e.geodesic_distance = 3.7f;
  d.episodes.push_back(e);
  saveEpisodes(d, (dir / "x.json").string());
  const std::string text = readFileMaybeGzip((dir / "x.json").string());
  EXPECT_NE(text.find("\"episode_id\":\"007\""), std::string::npos);
  EXPECT_NE(text.find("[0.1,0.0,-2.5]"), std::string::npos) << text;  // shortest float text
  const EpisodeDataset back = loadEpisodes((dir / "x.json").string());
  expectSame(d.episodes[0], back.episodes[0]);
  fs::remove_all(dir);
}

class EpisodeBadInput : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tempDir("bad"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& json) {
    const std::string p = (dir_ / name).string();
    writeFileAtomic(p, json);
    return p;
  }
  // One valid R2R episode with one field replaced (or removed when value is null).
  std::string withField(const std::string& key, const nlohmann::json& value) {
    nlohmann::json ep = {{"episode_id", 5},
                         {"trajectory_id", 1},
                         {"scene_id", "mp3d/a/a.glb"},
                         {"start_position", {0, 0, 0}},
                         {"start_rotation", {0, 0, 0, 1}},
                         {"goals", {{{"position", {1, 0, 1}}, {"radius", 3.0}}}},
                         {"instruction", {{"instruction_text", "go"}}},
                         {"reference_path", {{0, 0, 0}, {1, 0, 1}}}};
    nlohmann::json good = ep;
    good["episode_id"] = 4;
    if (value.is_null())
      ep.erase(key);
    else
      ep[key] = value;
    // The broken episode is the second one, so the error must carry index 1 and id 5.
    return nlohmann::json{{"episodes", {good, ep}}}.dump();
  }
  fs::path dir_;
};

TEST_F(EpisodeBadInput, MissingFile) {
  const std::string p = (dir_ / "nope.json.gz").string();
  EXPECT_EQ(errorOf([&] { loadEpisodes(p); }), p + ": file not found");
}

TEST_F(EpisodeBadInput, TruncatedGzip) {
  const std::string p = write("t.json.gz", withField("scene_id", "mp3d/a/a.glb"));
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size() / 2);
  const std::string msg = errorOf([&] { loadEpisodes(p); });
  EXPECT_EQ(msg.rfind(p + ": truncated gzip stream", 0), 0u) << msg;
}

TEST_F(EpisodeBadInput, InvalidJson) {
  const std::string p = write("j.json.gz", "{\"episodes\": [ {\"episode_id\": 1,, } ]}");
  const std::string msg = errorOf([&] { loadEpisodes(p); });
  EXPECT_EQ(msg.rfind(p + ": invalid JSON: parse error at line 1, column 33", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST_F(EpisodeBadInput, MissingEpisodesOrRequiredField) {
  const std::string p0 = write("e.json", "{\"instruction_vocab\": {}}");
  EXPECT_EQ(errorOf([&] { loadEpisodes(p0); }), p0 + ": missing \"episodes\"");
  const std::string p1 = write("m.json.gz", withField("start_position", nullptr));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p1); }),
            p1 + ": episode 1 (id 5): field 'start_position' is missing");
  const std::string p2 = write("i.json.gz", withField("instruction", {{"text", "go"}}));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p2); }),
            p2 + ": episode 1 (id 5): field 'instruction_text' is missing");
}

TEST_F(EpisodeBadInput, DuplicateIdsAreAnError) {
  const std::string p = write("d.json.gz", withField("episode_id", 4));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p); }),
            p + ": episode 1 (id 4): the same id as episode 0 (ids key the ground truth and the "
                "results)");
}

TEST_F(EpisodeBadInput, WrongTypes) {
  const std::string p1 = write("a.json.gz", withField("start_position", {0, "up", 0}));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p1); }),
            p1 + ": episode 1 (id 5): field 'start_position' must be a number, got string");
  const std::string p2 = write("b.json.gz", withField("start_rotation", {0, 0, 1}));
  EXPECT_EQ(
      errorOf([&] { loadEpisodes(p2); }),
      p2 + ": episode 1 (id 5): field 'start_rotation' must be an array of 4 numbers [x,y,z,w]");
  const std::string p3 = write("c.json.gz", withField("episode_id", 1.5));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p3); }),
            p3 + ": episode 1: field 'episode_id' must be an integer or a string, got number");
  const std::string p4 = write("d.json.gz", withField("reference_path", {{0, 0, 0}, {1, 0}}));
  EXPECT_EQ(errorOf([&] { loadEpisodes(p4); }),
            p4 + ": episode 1 (id 5): field 'reference_path[1]' must be an array of 3 numbers");
}

// VLN-CE's VLNEpisode takes trajectory_id as Union[int, str] and instruction_tokens as
// Optional[List[int]]; both load, and a text id is written back as text.
TEST_F(EpisodeBadInput, TextTrajectoryIdsAndNullTokensLoadAsInVlnCe) {
  nlohmann::json root = nlohmann::json::parse(withField("trajectory_id", "rxr-3751a"));
  root["episodes"][1]["instruction"]["instruction_tokens"] = nullptr;
  const std::string p = write("lenient.json", root.dump());
  const EpisodeDataset d = loadEpisodes(p);
  ASSERT_EQ(d.episodes.size(), 2u);
  EXPECT_EQ(d.episodes[0].trajectory_id, "1");
  EXPECT_EQ(d.episodes[1].trajectory_id, "rxr-3751a");
  EXPECT_TRUE(d.episodes[1].instruction.instruction_tokens.empty());
  EXPECT_FALSE(d.episodes[1].instruction.extra.contains("instruction_tokens"));
  const std::string out = (dir_ / "back.json").string();
  saveEpisodes(d, out);
  const std::string text = readFileMaybeGzip(out);
  EXPECT_NE(text.find("\"trajectory_id\":1}"), std::string::npos) << text;
  EXPECT_NE(text.find("\"trajectory_id\":\"rxr-3751a\""), std::string::npos) << text;
  EXPECT_EQ(loadEpisodes(out).episodes[1].trajectory_id, "rxr-3751a");
  // A missing trajectory_id reads as 0, as before.
  EXPECT_EQ(loadEpisodes(write("no_traj.json", withField("trajectory_id", nullptr)))
                .episodes[1]
                .trajectory_id,
            "0");
  // Other types are still errors naming the field.
  const std::string bad = write("t.json", withField("trajectory_id", 1.5));
  EXPECT_EQ(errorOf([&] { loadEpisodes(bad); }),
            bad +
                ": episode 1 (id 5): field 'trajectory_id' must be an integer or a string, got "
                "number");
  nlohmann::json tok = nlohmann::json::parse(withField("scene_id", "mp3d/a/a.glb"));
  tok["episodes"][1]["instruction"]["instruction_tokens"] = "3 4";
  const std::string bad_tok = write("tok.json", tok.dump());
  EXPECT_EQ(errorOf([&] { loadEpisodes(bad_tok); }),
            bad_tok +
                ": episode 1 (id 5): field 'instruction.instruction_tokens' must be an array "
                "of integers");
}

TEST_F(EpisodeBadInput, CorruptGroundTruthNamesTheGtFile) {
  write("s.json.gz", withField("scene_id", "mp3d/a/a.glb"));
  const std::string gt = write("s_gt.json.gz", "{\"5\": {\"actions\": [1, 0]}}");
  EXPECT_EQ(errorOf([&] { loadEpisodes((dir_ / "s.json.gz").string()); }),
            gt + ": episode 1 (id 5): field 'locations' is missing");
}

}  // namespace
}  // namespace svln::sim
