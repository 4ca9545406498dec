// Maps and videos for a report from `streamvln eval --out` files: each per-episode entry
// keeps its executed actions, so the episode is replayed in its scene (replayEpisode) and
// drawn into <run_dir>/maps/<eval stem>_ep<id>.png and <run_dir>/videos/...mp4 (.gif when
// ffmpeg is missing).
#pragma once

#include <string>

#include "sim/habitat_config.h"

namespace svln::io {

struct GalleryOptions {
  int max_maps = 4;    // per eval file
  int max_videos = 1;  // per eval file
};

// Returns how many maps and videos were written. Throws "<file>: <problem>" for an eval file
// that is not JSON or an episode id missing from the config's split.
int renderEvalGallery(const std::string& run_dir, const sim::HabitatConfig& cfg,
                      const GalleryOptions& opt);

}  // namespace svln::io
