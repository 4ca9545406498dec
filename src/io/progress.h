// Progress of a long loop on stderr: a redrawn bar with rate and ETA on a terminal, a plain
// line every `plain_every` items otherwise (logs and CI stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace svln::io {

class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t plain_every = 0);
  // Sets the count done (and an optional status such as "SR 0.42 OR 0.18") and redraws.
  void update(int64_t done, const std::string& status = "");
  // Ends the bar's line.
  void finish();
  // "1h02m", "3m07s", "12s".
  static std::string formatDuration(double seconds);
  // The text of the bar for a given state (exposed for tests).
  static std::string render(const std::string& label, int64_t done, int64_t total,
                            double elapsed_s, const std::string& status, int width);

 private:
  std::string label_;
  int64_t total_;
  int64_t plain_every_;
  int64_t last_plain_ = -1;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace svln::io
