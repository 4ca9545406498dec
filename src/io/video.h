// Episode videos: each frame is the agent's RGB view beside the top-down map drawn up to
// that step, with the instruction and the current action underneath.
//
//   +--------------+----------------+
//   |  RGB frame   |  map so far    |
//   +--------------+----------------+
//   | walk past the sofa and stop... |
//   | step 12/40  MOVE_FORWARD  expert|
//   +--------------------------------+
//
// `.mp4` goes through Debian's ffmpeg (raw RGB frames piped to libx264); `.gif` uses the
// built-in encoder (6x7x6 colour cube, LZW), so GIFs need no external program.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "io/raster.h"
#include "io/top_down_map.h"

namespace svln::io {

// Streams frames to a file; the file appears (atomically, by rename) on close().
class VideoWriter {
 public:
  // Throws "<path>: <problem>" for an unknown extension or when ffmpeg cannot start.
  VideoWriter(const std::string& path, int width, int height, int fps);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  void addFrame(const Image& frame);  // must be width x height
  void close();
  int frames() const { return frames_; }

 private:
  std::string path_, tmp_;
  int width_, height_, fps_;
  int frames_ = 0;
  bool gif_ = false;
  std::FILE* pipe_ = nullptr;      // ffmpeg's stdin
  std::vector<Image> gif_frames_;  // GIF frames are encoded together on close()
};

// True when `ffmpeg` is on PATH.
bool ffmpegAvailable();

// GIF89a bytes of frames (all the same size), looping, `delay_cs` hundredths of a second each.
std::string encodeGif(const std::vector<Image>& frames, int delay_cs);

struct VideoOptions {
  int fps = 4;
  int panel_height = 256;  // RGB and map are scaled to this height
};

// One video frame (width and height even, as yuv420p needs).
Image composeEpisodeFrame(const Image& observation, const Image& map,
                          const std::string& instruction, const std::string& caption,
                          int panel_height = 256);

// observations[i] is the view before step i (a last one after the final step is optional).
// Writes path (.mp4 or .gif). Throws "<path>: <problem>".
void writeEpisodeVideo(const std::string& path, const MapGeometry& geo, const EpisodeTrace& trace,
                       const std::vector<Image>& observations, const VideoOptions& opt = {});

// Greedy word wrap at `max_chars` per line.
std::vector<std::string> wrapText(const std::string& text, size_t max_chars);

}  // namespace svln::io
