// Live upload of a W&B run over the HTTP API the client uses, with libcurl:
//
//   POST <base>/graphql        mutation UpsertBucket (run id, project, entity, display
//                              name, config) -> the bucket's entity and project names
//   POST <base>/files/<entity>/<project>/<run>/file_stream
//        {"files": {"wandb-history.jsonl": {"offset": n, "content": [row, ...]}}}  per update
//        {"files": {"wandb-summary.json": {"offset": 0, "content": [summary]}}}
//        {"complete": true, "exitcode": c}                                         at the end
//
// HTTP basic auth "api:<WANDB_API_KEY>", as the client sends it. Built only when CMake finds
// libcurl (SVLN_WITH_CURL); WandbRun falls back to its offline directory otherwise, and on
// any failure.
#pragma once

#include <string>
#include <vector>

namespace svln::io {

// True when this build can upload (libcurl found at configure time).
bool wandbUploadAvailable();

class WandbUploader {
 public:
  // Throws std::runtime_error("W&B <url>: <problem>") when the build has no libcurl.
  WandbUploader(std::string base_url, std::string api_key, long timeout_s = 20);

  // Creates (or updates) the run; returns the entity the server filed it under (the
  // account's default when `entity` is empty). config_json: {"key": {"value": v}, ...}.
  std::string upsertRun(const std::string& entity, const std::string& project,
                        const std::string& run_id, const std::string& display_name,
                        const std::string& config_json);
  // One history row (a JSON object) per call; offsets count the rows sent so far.
  void appendHistory(const std::string& row_json);
  void finish(const std::string& summary_json, int exit_code);

 private:
  std::string post(const std::string& url, const std::string& body) const;
  std::string base_url_, api_key_;
  long timeout_s_;
  std::string stream_url_;
  long history_offset_ = 0;
};

}  // namespace svln::io
