#include "io/video.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace svln::io {
namespace {

namespace fs = std::filesystem;

std::string runOutput(const std::string& cmd) {
  std::string out;
  std::FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(Video, WrapsWordsGreedily) {
  EXPECT_EQ(wrapText("walk past the sofa and stop", 10),
            (std::vector<std::string>{"walk past", "the sofa", "and stop"}));
  EXPECT_TRUE(wrapText("   ", 10).empty());
}

TEST(Video, FrameHasEvenSizeWithViewLeftOfMap) {
  Image obs(64, 48, Color{255, 0, 0, 255});
  Image map(30, 30, Color{0, 0, 255, 255});
  const Image f = composeEpisodeFrame(obs, map, "go to the kitchen", "step 0/3", 96);
  // View scaled to 128 x 96, map to 96 x 96, 4 px gap: 228 wide.
  EXPECT_EQ(f.width, 228);
  EXPECT_EQ(f.height % 2, 0);
  EXPECT_EQ(f.at(10, 10)[0], 255);
  EXPECT_EQ(f.at(128 + 4 + 10, 10)[2], 255);
}

TEST(Video, GifDecodesBackToThePaletteColours) {
  if (!ffmpegAvailable()) GTEST_SKIP() << "ffmpeg is not installed (needed to decode the GIF)";
  // Noise of cube colours so the LZW table fills up and is cleared several times.
  std::mt19937 rng(3);
  std::vector<Image> frames(2, Image(160, 120));
  for (Image& f : frames)
    for (size_t i = 0; i < f.rgb.size(); i += 3) {
      f.rgb[i] = static_cast<uint8_t>(rng() % 6 * 51);       // r level * 255/5
      f.rgb[i + 1] = static_cast<uint8_t>(rng() % 2 * 255);  // g level 0 or 6
      f.rgb[i + 2] = static_cast<uint8_t>(rng() % 6 * 51);
    }
  const std::string gif = encodeGif(frames, 25);
  EXPECT_EQ(gif.substr(0, 6), "GIF89a");
  const fs::path path = fs::temp_directory_path() / "svln_video_test.gif";
  std::ofstream(path, std::ios::binary) << gif;
  const std::string raw = runOutput("ffmpeg -loglevel error -i " + path.string() +
                                    " -vsync passthrough -f rawvideo -pix_fmt rgb24 -");
  ASSERT_EQ(raw.size(), 2 * frames[0].rgb.size());
  EXPECT_EQ(raw.substr(0, frames[0].rgb.size()),
            std::string(frames[0].rgb.begin(), frames[0].rgb.end()));
  EXPECT_EQ(raw.substr(frames[0].rgb.size()),
            std::string(frames[1].rgb.begin(), frames[1].rgb.end()));
}

TEST(Video, EpisodeMp4HasOneFramePerObservation) {
  if (!ffmpegAvailable()) GTEST_SKIP() << "ffmpeg is not installed (scripts/setup.sh installs it)";
  MapGeometry geo;
  geo.navmesh_triangles = {{0, 0, 0}, {4, 0, 0}, {0, 0, 4}, {4, 0, 0}, {4, 0, 4}, {0, 0, 4}};
  EpisodeTrace t;
  t.instruction = "walk forward two steps and stop";
  t.positions = {{1, 0, 3}, {1, 0, 2.75f}, {1, 0, 2.5f}, {1, 0, 2.5f}};
  t.actions = {1, 1, 0};
  t.expert_steps = {false, true, true};
  t.stopped = true;
  std::vector<Image> obs(4, Image(32, 32, Color{90, 120, 200, 255}));
  const fs::path path = fs::temp_directory_path() / "svln_video_test.mp4";
  fs::remove(path);
  writeEpisodeVideo(path.string(), geo, t, obs, VideoOptions{4, 64});
  ASSERT_TRUE(fs::exists(path));
  const std::string n = runOutput(
      "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
      "stream=nb_read_frames -of csv=p=0 " +
      path.string());
  EXPECT_EQ(std::stoi(n), 4);
  EXPECT_THROW(VideoWriter((fs::temp_directory_path() / "x.avi").string(), 8, 8, 4),
               std::runtime_error);
}

TEST(Video, FfmpegFailureIsAnErrorNotAKilledProcess) {
  if (!ffmpegAvailable()) GTEST_SKIP() << "ffmpeg is not installed (scripts/setup.sh installs it)";
  // ffmpeg cannot create its output, exits, and the writes after that hit a closed pipe.
  const std::string path = "/nonexistent_svln_dir/x.mp4";
  bool threw = false;
  try {
    VideoWriter w(path, 64, 64, 4);
    const Image frame(64, 64);
    for (int i = 0; i < 400; ++i) w.addFrame(frame);
    w.close();
  } catch (const std::runtime_error& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_TRUE(threw);
}

}  // namespace
}  // namespace svln::io
