#include "io/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace svln::io {

Progress::Progress(std::string label, int64_t total, int64_t plain_every)
    : label_(std::move(label)),
      total_(total),
      plain_every_(plain_every > 0 ? plain_every : std::max<int64_t>(1, total / 20)),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()) {}

std::string Progress::formatDuration(double s) {
  char buf[32];
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", static_cast<long>(t / 3600),
                  static_cast<long>(t % 3600 / 60));
  } else if (t >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", static_cast<long>(t / 60),
                  static_cast<long>(t % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", static_cast<long>(t));
  }
  return buf;
}

std::string Progress::render(const std::string& label, int64_t done, int64_t total,
                             double elapsed_s, const std::string& status, int width) {
  const double frac = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 0.0;
  std::string bar;
  if (width > 0) {
    const int filled = static_cast<int>(frac * width);
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  // ETA = elapsed * (remaining / done): the mean rate so far.
  const std::string eta = done > 0 ? formatDuration(elapsed_s * (total - done) / done) : "?";
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%s %s%ld/%ld (%3.0f%%) elapsed %s ETA %s", label.c_str(),
                bar.c_str(), static_cast<long>(done), static_cast<long>(total), frac * 100,
                formatDuration(elapsed_s).c_str(), eta.c_str());
  std::string out = buf;
  if (!status.empty()) out += " | " + status;
  return out;
}

void Progress::update(int64_t done, const std::string& status) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", render(label_, done, total_, elapsed, status, 30).c_str());
    std::fflush(stderr);
  } else if (done == total_ || last_plain_ < 0 || done - last_plain_ >= plain_every_) {
    last_plain_ = done;
    std::fprintf(stderr, "%s\n", render(label_, done, total_, elapsed, status, 0).c_str());
  }
}

void Progress::finish() {
  if (tty_ && !finished_) std::fprintf(stderr, "\n");
  finished_ = true;
}

}  // namespace svln::io
