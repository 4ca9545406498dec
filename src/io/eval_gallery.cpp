#include "io/eval_gallery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "io/episode_replay.h"
#include "io/png_writer.h"
#include "io/video.h"
#include "sim/episode.h"
#include "sim/gzip_io.h"
#include "sim/scene_cache.h"

namespace svln::io {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> evalFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const fs::path& d : {dir, dir / "eval"}) {
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && e.path().extension() == ".json" &&
          (d != dir || name.rfind("eval", 0) == 0))
        out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string safeName(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

ReplayOptions replayOptions(const sim::HabitatConfig& cfg, bool render) {
  ReplayOptions ro;
  ro.actions = cfg.actions;
  ro.success_distance_m = cfg.success_distance;
  ro.render = render;
  ro.camera.width = 256;
  ro.camera.height = 192;
  ro.camera.hfov_deg = cfg.rgb.hfov_deg;
  ro.camera.sensor_height_m = cfg.rgb.sensor_height_m;
  return ro;
}

// Replays one episode; writes the map when map_path is set and the video when video_path is.
int drawEpisode(const sim::Scene& scene, const sim::Episode& ep, const std::vector<int>& actions,
                const std::vector<bool>& expert, const sim::HabitatConfig& cfg,
                const std::string& map_path, const std::string& video_path) {
  const Replay r = replayEpisode(scene, ep, actions, expert, replayOptions(cfg, !video_path.empty()));
  const float floor_y = r.trace.positions.empty() ? 0.f : r.trace.positions.front().y;
  const MapGeometry geo = makeMapGeometry(scene.pathfinder, &scene.mesh, floor_y);
  int written = 0;
  if (!map_path.empty()) {
    writeTopDownMap(map_path, geo, r.trace);
    ++written;
  }
  if (!video_path.empty()) {
    writeEpisodeVideo(video_path, geo, r.trace, r.observations);
    ++written;
  }
  return written;
}

}  // namespace

int renderEpisodeVisuals(const std::string& dir, const sim::HabitatConfig& cfg,
                         const std::vector<EpisodeVisual>& episodes, int max_videos) {
  fs::create_directories(dir);
  sim::SceneCache scenes;
  const std::string video_ext = ffmpegAvailable() ? ".mp4" : ".gif";
  int written = 0;
  for (size_t i = 0; i < episodes.size(); ++i) {
    const EpisodeVisual& v = episodes[i];
    const auto scene = scenes.get(cfg.scenePath(v.episode.scene_id));
    const std::string base = (fs::path(dir) / safeName(v.stem)).string();
    written += drawEpisode(*scene, v.episode, v.actions, v.expert_steps, cfg, base + ".png",
                           static_cast<int>(i) < max_videos ? base + video_ext : "");
  }
  return written;
}

int renderEvalGallery(const std::string& run_dir, const sim::HabitatConfig& cfg,
                      const GalleryOptions& opt) {
  const fs::path dir(run_dir);
  sim::SceneCache scenes;
  std::map<std::string, std::map<std::string, sim::Episode>> splits;  // split -> id -> episode
  const bool mp4 = ffmpegAvailable();
  int written = 0;
  for (const fs::path& file : evalFiles(dir)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(sim::readFileMaybeGzip(file.string()));
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(file.string() + ": not valid JSON");
    }
    if (!j.is_object() || !j.contains("per_episode")) continue;
    const std::string split = j.value("split", cfg.split);
    auto& episodes = splits[split];
    if (episodes.empty())
      for (const std::string& p : cfg.episodesPaths(split))
        for (sim::Episode& e : sim::loadEpisodes(p).episodes) episodes[e.episode_id] = std::move(e);
    int n = 0;
    for (const auto& entry : j["per_episode"]) {
      if (n >= std::max(opt.max_maps, opt.max_videos)) break;
      const std::string id = entry.value("episode_id", std::string());
      auto it = episodes.find(id);
      if (it == episodes.end())
        throw std::runtime_error(file.string() + ": episode " + id + " is not in split " + split);
      const std::vector<int> actions = entry.value("actions", std::vector<int>());
      const auto scene = scenes.get(cfg.scenePath(it->second.scene_id));
      const std::string stem = safeName(file.stem().string()) + "_ep" + safeName(id);
      std::string map_path, video_path;
      if (n < opt.max_maps) {
        fs::create_directories(dir / "maps");
        map_path = (dir / "maps" / (stem + ".png")).string();
      }
      if (n < opt.max_videos) {
        fs::create_directories(dir / "videos");
        video_path = (dir / "videos" / (stem + (mp4 ? ".mp4" : ".gif"))).string();
      }
      written += drawEpisode(*scene, it->second, actions, {}, cfg, map_path, video_path);
      ++n;
    }
  }
  spdlog::info("report: {} maps/videos from evaluation files in {}", written, run_dir);
  return written;
}

}  // namespace svln::io
