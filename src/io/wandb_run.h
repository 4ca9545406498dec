// Weights & Biases logging without the Python client: a run directory laid out as the
// client lays out a run, so `wandb sync` uploads it later (and a live upload when it can).
//
//   <WANDB_DIR>/wandb/offline-run-YYYYMMDD_HHMMSS-<id>/
//     run-<id>.wandb          transaction log (io/wandb_log.h) of Record messages:
//                             header, run (+ config), files, per update history
//                             (+ output_raw line), summary, exit, final
//     files/config.yaml       key: {value: v} per config entry (the client's layout)
//     files/wandb-summary.json  last value of every metric + _step, _runtime, _timestamp
//     files/wandb-metadata.json host, os, program, args, startedAt, cpu_count
//     files/output.log        the console lines (one per update)
//
// The environment is read the way the client reads it (resolveWandbSettings):
//   WANDB_MODE   online (default) | offline | dryrun (= offline) | disabled
//   WANDB_DIR    where wandb/ goes (default here: the run's --output_path)
//   WANDB_API_KEY, WANDB_BASE_URL (default https://api.wandb.ai), WANDB_RUN_ID,
//   WANDB_ENTITY (when --wandb_entity is not given)
// Online mode (an API key and a build with libcurl) also uploads live (io/wandb_uploader.h)
// and names the directory run-<stamp>-<id> as the client does; without a key or libcurl,
// or when the server fails, the directory is the offline one and one line names the
// `wandb sync` command that uploads it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/wandb_log.h"

namespace svln::io {

class ProtoMessage;
class WandbUploader;

enum class WandbMode { kOnline, kOffline, kDisabled };

struct WandbSettings {
  WandbMode mode = WandbMode::kOnline;
  std::string root_dir;  // WANDB_DIR: the run directory goes under <root_dir>/wandb/
  std::string api_key;
  std::string base_url = "https://api.wandb.ai";
  std::string run_id;  // 8 characters [a-z0-9] generated when empty
  std::string project;
  std::string entity;
  std::string run_name;  // display name; "<project>-<YYYYMMDD_HHMMSS>" when empty
};

// The flags' values (project, entity, run name) and the WANDB_* variables in `env`; the
// CLI passes the process environment as a map. Throws "environment WANDB_MODE: ..." for a
// mode the client does not know, and "environment WANDB_BASE_URL: ..." for a URL that is
// not http(s)://host.
WandbSettings resolveWandbSettings(const std::map<std::string, std::string>& env,
                                   const std::string& default_dir, const std::string& project,
                                   const std::string& entity, const std::string& run_name);

// A value for config.yaml / ConfigItem.value_json: numbers and true/false as themselves,
// anything else as a JSON string ("0.5" -> 0.5, "cosine" -> "cosine").
std::string configValueJson(const std::string& text);

class WandbRun {
 public:
  // nullptr when the mode is disabled. `config` is written to the run record and
  // files/config.yaml; `args` goes to wandb-metadata.json. Throws "<path>: <problem>".
  static std::unique_ptr<WandbRun> start(
      const WandbSettings& settings, const std::vector<std::pair<std::string, std::string>>& config,
      const std::vector<std::string>& args);
  ~WandbRun();  // finish(1) when finish() was not called (the run died)
  WandbRun(const WandbRun&) = delete;
  WandbRun& operator=(const WandbRun&) = delete;

  // One history row at `step` (the update number); the summary keeps the last values.
  void log(int64_t step, const std::map<std::string, double>& metrics);
  // A console line: output.log and an output_raw record.
  void logLine(const std::string& line);
  // Summary, exit (code), final; writes files/wandb-summary.json. Idempotent.
  void finish(int exit_code);

  const std::string& runDir() const { return run_dir_; }
  const std::string& runId() const { return settings_.run_id; }
  const std::string& logPath() const { return log_path_; }
  // Whether the run is being uploaded live (false after an upload failure).
  bool uploading() const { return uploader_ != nullptr; }
  // The shell command that uploads this run.
  std::string syncCommand() const;

 private:
  explicit WandbRun(const WandbSettings& settings);
  void writeRecord(const ProtoMessage& body, int field);

  WandbSettings settings_;
  std::string run_dir_, log_path_;
  void uploadFailed(const std::string& what);
  std::unique_ptr<WandbLogWriter> log_;
  std::unique_ptr<WandbUploader> uploader_;  // null: offline
  std::FILE* output_ = nullptr;
  int64_t record_num_ = 0;
  double start_time_ = 0;
  int64_t last_step_ = 0;
  std::map<std::string, std::string> summary_;  // key -> value_json
  bool finished_ = false;
};

}  // namespace svln::io
