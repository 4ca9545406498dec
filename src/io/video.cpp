#include "io/video.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "sim/agent.h"
#include "sim/gzip_io.h"

namespace svln::io {
namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Palette index in the 6 (r) x 7 (g) x 6 (b) cube: level = round(v * (n-1) / 255).
uint8_t cubeIndex(const uint8_t* p) {
  const int r = (p[0] * 5 + 127) / 255, g = (p[1] * 6 + 127) / 255, b = (p[2] * 5 + 127) / 255;
  return static_cast<uint8_t>((r * 7 + g) * 6 + b);
}

// LZW as GIF uses it: variable code width from min_code_size+1 up to 12 bits, LSB first,
// a clear code at the start and whenever the table fills.
void lzwEncode(const std::vector<uint8_t>& idx, std::string& out) {
  constexpr int kMinCodeSize = 8;
  const int clear = 1 << kMinCodeSize, eoi = clear + 1;
  std::string data;
  uint32_t bit_buf = 0;
  int bit_count = 0, code_size = kMinCodeSize + 1, next_code = eoi + 1;
  auto emit = [&](int code) {
    bit_buf |= static_cast<uint32_t>(code) << bit_count;
    bit_count += code_size;
    while (bit_count >= 8) {
      data += static_cast<char>(bit_buf & 0xff);
      bit_buf >>= 8;
      bit_count -= 8;
    }
  };
  std::unordered_map<uint32_t, int> table;  // (prefix code << 8 | byte) -> code
  emit(clear);
  int prefix = idx.empty() ? -1 : idx[0];
  for (size_t i = 1; i < idx.size(); ++i) {
    const uint32_t key = (static_cast<uint32_t>(prefix) << 8) | idx[i];
    auto it = table.find(key);
    if (it != table.end()) {
      prefix = it->second;
      continue;
    }
    emit(prefix);
    if (next_code < 4096) {
      table[key] = next_code++;
      // The decoder widens one code later than the encoder adds it, hence ">" not ">=".
      if (next_code > (1 << code_size) && code_size < 12) ++code_size;
    } else {
      emit(clear);
      table.clear();
      code_size = kMinCodeSize + 1;
      next_code = eoi + 1;
    }
    prefix = idx[i];
  }
  if (prefix >= 0) emit(prefix);
  emit(eoi);
  if (bit_count > 0) data += static_cast<char>(bit_buf & 0xff);
  out += static_cast<char>(kMinCodeSize);
  for (size_t i = 0; i < data.size(); i += 255) {  // sub-blocks of at most 255 bytes
    const size_t n = std::min<size_t>(255, data.size() - i);
    out += static_cast<char>(n);
    out.append(data, i, n);
  }
  out += '\0';
}

void put16(std::string& s, int v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}

// Writes to ffmpeg's stdin with SIGPIPE blocked in this thread, so an ffmpeg that died is a
// thrown error rather than the end of a training run; a SIGPIPE this write raised is consumed.
bool writeToPipe(std::FILE* f, const void* data, size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  const bool ok = (n == 0 || std::fwrite(data, 1, n, f) == n) && std::fflush(f) == 0;
  if (!ok) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

}  // namespace

std::string encodeGif(const std::vector<Image>& frames, int delay_cs) {
  if (frames.empty()) throw std::runtime_error("gif: no frames");
  const int w = frames[0].width, h = frames[0].height;
  std::string g = "GIF89a";
  put16(g, w);
  put16(g, h);
  g += static_cast<char>(0xF7);  // global colour table, 8 bits, 256 entries
  g += '\0';
  g += '\0';
  for (int i = 0; i < 256; ++i) {
    const int r = i / 42, gr = (i / 6) % 7, b = i % 6;
    const bool used = i < 252;
    g += static_cast<char>(used ? r * 255 / 5 : 0);
    g += static_cast<char>(used ? gr * 255 / 6 : 0);
    g += static_cast<char>(used ? b * 255 / 5 : 0);
  }
  // NETSCAPE2.0 extension: loop forever.
  g += "\x21\xFF\x0BNETSCAPE2.0\x03\x01";
  put16(g, 0);
  g += '\0';
  std::vector<uint8_t> idx(static_cast<size_t>(w) * h);
  for (const Image& f : frames) {
    if (f.width != w || f.height != h) throw std::runtime_error("gif: frames differ in size");
    g += "\x21\xF9\x04";
    g += '\0';
    put16(g, delay_cs);
    g += '\0';
    g += '\0';
    g += '\x2C';
    put16(g, 0);
    put16(g, 0);
    put16(g, w);
    put16(g, h);
    g += '\0';
    for (size_t p = 0; p < idx.size(); ++p) idx[p] = cubeIndex(f.rgb.data() + 3 * p);
    lzwEncode(idx, g);
  }
  g += '\x3B';
  return g;
}

bool ffmpegAvailable() { return std::system("ffmpeg -version > /dev/null 2>&1") == 0; }

VideoWriter::VideoWriter(const std::string& path, int width, int height, int fps)
    : path_(path), width_(width), height_(height), fps_(fps) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  tmp_ =
      (p.parent_path() / ("." + p.filename().string() + ".tmp" + p.extension().string())).string();
  if (endsWith(path, ".gif")) {
    gif_ = true;
    return;
  }
  if (!endsWith(path, ".mp4")) throw std::runtime_error(path + ": video must end in .mp4 or .gif");
  if (path.find('\'') != std::string::npos)  // the path is single-quoted in ffmpeg's command
    throw std::runtime_error(path + ": mp4 paths may not contain a single quote");
  if (width % 2 || height % 2) throw std::runtime_error(path + ": mp4 frames need even sizes");
  if (!ffmpegAvailable())
    throw std::runtime_error(path + ": ffmpeg not found (scripts/setup.sh installs it)");
  std::ostringstream cmd;
  cmd << "ffmpeg -y -loglevel error -f rawvideo -pix_fmt rgb24 -s " << width << "x" << height
      << " -r " << fps << " -i - -c:v libx264 -pix_fmt yuv420p -movflags +faststart -f mp4 '"
      << tmp_ << "'";
  pipe_ = popen(cmd.str().c_str(), "w");
  if (pipe_ == nullptr) throw std::runtime_error(path + ": cannot start ffmpeg");
}

VideoWriter::~VideoWriter() {
  if (pipe_ != nullptr) {
    pclose(pipe_);
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void VideoWriter::addFrame(const Image& frame) {
  if (frame.width != width_ || frame.height != height_)
    throw std::runtime_error(path_ + ": frame size differs from the video's");
  ++frames_;
  if (gif_) {
    gif_frames_.push_back(frame);
    return;
  }
  if (!writeToPipe(pipe_, frame.rgb.data(), frame.rgb.size()))
    throw std::runtime_error(path_ + ": writing to ffmpeg failed");
}

void VideoWriter::close() {
  if (gif_) {
    if (gif_frames_.empty()) throw std::runtime_error(path_ + ": no frames");
    sim::writeFileAtomic(path_, encodeGif(gif_frames_, std::max(1, 100 / std::max(1, fps_))));
    gif_frames_.clear();
    gif_ = false;
    return;
  }
  if (pipe_ == nullptr) return;
  const bool flushed = writeToPipe(pipe_, nullptr, 0);
  const int rc = pclose(pipe_);
  pipe_ = nullptr;
  if (!flushed || rc != 0 || frames_ == 0) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
    throw std::runtime_error(path_ + ": ffmpeg failed (exit " + std::to_string(rc) + ")");
  }
  std::filesystem::rename(tmp_, path_);
}

std::vector<std::string> wrapText(const std::string& text, size_t max_chars) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > max_chars) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

Image composeEpisodeFrame(const Image& observation, const Image& map,
                          const std::string& instruction, const std::string& caption,
                          int panel_height) {
  const auto scaled = [&](const Image& img) {
    if (img.width == 0 || img.height == 0)
      return Image(panel_height, panel_height, Color{0, 0, 0, 255});
    const int w = std::max(2, img.width * panel_height / img.height);
    return resizeNearest(img, w, panel_height);
  };
  const Image obs = scaled(observation), mp = scaled(map);
  int width = obs.width + mp.width + 4;
  width += width % 2;
  const std::vector<std::string> lines =
      wrapText(instruction, static_cast<size_t>(std::max(20, (width - 16) / 6)));
  const int text_rows = static_cast<int>(std::min<size_t>(lines.size(), 4)) + 1;
  int height = panel_height + 8 + text_rows * 14;
  height += height % 2;
  Image frame(width, height, Color{30, 30, 30, 255});
  blit(frame, obs, 0, 0);
  blit(frame, mp, obs.width + 4, 0);
  int y = panel_height + 6;
  for (size_t i = 0; i < lines.size() && i < 4; ++i, y += 14)
    drawText(frame, 8.f, static_cast<float>(y),
             i == 3 && lines.size() > 4 ? lines[i] + " ..." : lines[i], Color{235, 235, 235, 255});
  drawText(frame, 8.f, static_cast<float>(y), caption, Color{255, 200, 80, 255});
  return frame;
}

void writeEpisodeVideo(const std::string& path, const MapGeometry& geo, const EpisodeTrace& trace,
                       const std::vector<Image>& observations, const VideoOptions& opt) {
  if (observations.empty()) throw std::runtime_error(path + ": no observations to make a video of");
  const size_t steps = trace.positions.empty() ? 0 : trace.positions.size() - 1;
  std::unique_ptr<VideoWriter> writer;
  for (size_t i = 0; i < observations.size(); ++i) {
    // The map as it was when frame i was seen: positions 0..i, triggers so far.
    EpisodeTrace partial = trace;
    partial.positions.resize(std::min(trace.positions.size(), i + 1));
    partial.stopped = trace.stopped && i >= steps;
    partial.finished = i >= steps;
    if (!partial.finished) partial.distance_to_goal = -1.f;
    partial.triggers.clear();
    for (const sim::Vec3& t : trace.triggers)
      for (const sim::Vec3& p : partial.positions)
        if (t == p) {
          partial.triggers.push_back(t);
          break;
        }
    std::string caption = "step " + std::to_string(i) + "/" + std::to_string(steps);
    if (i < trace.actions.size()) {
      caption += "  ";
      caption += sim::actionName(static_cast<sim::Action>(trace.actions[i]));
      caption +=
          (i < trace.expert_steps.size() && trace.expert_steps[i]) ? "  (expert)" : "  (policy)";
    }
    MapOptions mo;
    mo.legend = false;
    const Image frame = composeEpisodeFrame(observations[i], renderTopDownMap(geo, partial, mo),
                                            trace.instruction, caption, opt.panel_height);
    if (!writer) writer = std::make_unique<VideoWriter>(path, frame.width, frame.height, opt.fps);
    writer->addFrame(frame);
  }
  writer->close();
  spdlog::debug("video: {} ({} frames)", path, observations.size());
}

}  // namespace svln::io
