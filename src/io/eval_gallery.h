// Maps and videos for a report from `streamvln eval --out` files: each per-episode entry
// keeps its executed actions, so the episode is replayed in its scene (replayEpisode) and
// drawn into <run_dir>/maps/<eval stem>_ep<id>.png and <run_dir>/videos/...mp4 (.gif when
// ffmpeg is missing). The same drawing serves the trainer's periodic visuals.
#pragma once

#include <string>
#include <vector>

#include "sim/episode.h"

#include "sim/habitat_config.h"

namespace svln::io {

struct GalleryOptions {
  int max_maps = 4;    // per eval file
  int max_videos = 1;  // per eval file
};

// One episode to draw: the executed actions (sim::Action values) and who acted.
struct EpisodeVisual {
  sim::Episode episode;
  std::vector<int> actions;
  std::vector<bool> expert_steps;  // per action, true when the expert acted (empty: policy)
  std::string stem;                // file name without extension
};

// Replays each episode in its scene into <dir>/<stem>.png and, for the first max_videos,
// <dir>/<stem>.mp4 (.gif when ffmpeg is missing); the trainer's --visuals_every. Returns
// how many files were written.
int renderEpisodeVisuals(const std::string& dir, const sim::HabitatConfig& cfg,
                         const std::vector<EpisodeVisual>& episodes, int max_videos);

// Returns how many maps and videos were written. Throws "<file>: <problem>" for an eval file
// that is not JSON or an episode id missing from the config's split.
int renderEvalGallery(const std::string& run_dir, const sim::HabitatConfig& cfg,
                      const GalleryOptions& opt);

}  // namespace svln::io
