// Where a run's figures go: one readable line per update in training.log, one JSON object
// per update in metrics.jsonl, scalars in TensorBoard event files (<dir>/tensorboard).
// Keys are the spec's names in snake_case (success_rate, spl, oracle_rate, ...).
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace svln::io {

class TensorBoardWriter;

class RunLogger {
 public:
  // Opens (appending, so a resumed run continues its files) <dir>/training.log and
  // <dir>/metrics.jsonl, and starts an event file in <dir>/tensorboard.
  explicit RunLogger(const std::string& dir, bool tensorboard = true);
  ~RunLogger();

  // A free-form line in training.log, prefixed with the local time.
  void logLine(const std::string& line);
  // One update's figures: a JSON line {"update": u, ...}, a training.log line, TB scalars.
  void logUpdate(int64_t update, const std::map<std::string, double>& metrics);
  void flush();
  // A resume from the checkpoint of update `update`: the metrics.jsonl rows of later updates
  // (about to be redone) are removed (rewritten atomically), training.log says so, and temp
  // files a killed save left in the run folder are deleted.
  void resumeAt(int64_t update);

 private:
  std::FILE* log_ = nullptr;
  std::FILE* jsonl_ = nullptr;
  std::string dir_;
  std::unique_ptr<TensorBoardWriter> tb_;
};

// One compact line of the most-read figures, e.g. "update 12 | SR 0.40 SPL 0.31 ...".
std::string formatUpdateLine(int64_t update, const std::map<std::string, double>& m);

}  // namespace svln::io
