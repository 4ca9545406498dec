#include "io/wandb_uploader.h"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#if defined(SVLN_WITH_CURL)
#include <curl/curl.h>
#endif

namespace svln::io {
namespace {

// The mutation of the client's public API (wandb/apis/public Run.create), with the run's
// display name and config.
constexpr const char* kUpsertBucket =
    "mutation UpsertBucket($project: String, $entity: String, $name: String!, "
    "$displayName: String, $config: JSONString) {\n"
    "  upsertBucket(input: {modelName: $project, entityName: $entity, name: $name, "
    "displayName: $displayName, config: $config}) {\n"
    "    bucket { id name project { name entity { name } } }\n"
    "    inserted\n"
    "  }\n"
    "}";

#if defined(SVLN_WITH_CURL)
size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string escapePath(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
#endif

}  // namespace

bool wandbUploadAvailable() {
#if defined(SVLN_WITH_CURL)
  return true;
#else
  return false;
#endif
}

WandbUploader::WandbUploader(std::string base_url, std::string api_key, long timeout_s)
    : base_url_(std::move(base_url)), api_key_(std::move(api_key)), timeout_s_(timeout_s) {
  if (!wandbUploadAvailable())
    throw std::runtime_error("W&B " + base_url_ + ": this build has no libcurl to upload with");
}

std::string WandbUploader::post(const std::string& url, const std::string& body) const {
#if defined(SVLN_WITH_CURL)
  CURL* curl = curl_easy_init();
  if (!curl) throw std::runtime_error("W&B " + url + ": curl_easy_init failed");
  std::string response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string userpwd = "api:" + api_key_;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s_);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "streamvln");
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error("W&B " + url + ": " + curl_easy_strerror(rc));
  if (status < 200 || status >= 300)
    throw std::runtime_error("W&B " + url + ": HTTP " + std::to_string(status) + " " +
                             response.substr(0, 200));
  return response;
#else
  (void)body;
  throw std::runtime_error("W&B " + url + ": this build has no libcurl to upload with");
#endif
}

std::string WandbUploader::upsertRun(const std::string& entity, const std::string& project,
                                     const std::string& run_id, const std::string& display_name,
                                     const std::string& config_json) {
  nlohmann::json vars = {{"project", project},
                         {"name", run_id},
                         {"displayName", display_name},
                         {"config", config_json}};
  vars["entity"] = entity.empty() ? nlohmann::json(nullptr) : nlohmann::json(entity);
  const std::string url = base_url_ + "/graphql";
  const std::string text =
      post(url, nlohmann::json{{"query", kUpsertBucket}, {"variables", vars}}.dump());
  std::string resolved, resolved_project;
  try {
    const nlohmann::json r = nlohmann::json::parse(text);
    if (r.contains("errors") && !r["errors"].empty())
      throw std::runtime_error(r["errors"][0].value("message", std::string("GraphQL error")));
    const nlohmann::json& bucket = r.at("data").at("upsertBucket").at("bucket");
    resolved = bucket.at("project").at("entity").at("name").get<std::string>();
    resolved_project = bucket.at("project").at("name").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("W&B " + url + ": unexpected upsertBucket answer (" + e.what() + ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("W&B " + url + ": " + e.what());
  }
#if defined(SVLN_WITH_CURL)
  stream_url_ = base_url_ + "/files/" + escapePath(resolved) + "/" + escapePath(resolved_project) +
                "/" + escapePath(run_id) + "/file_stream";
#endif
  return resolved;
}

void WandbUploader::appendHistory(const std::string& row_json) {
  if (stream_url_.empty()) throw std::logic_error("WandbUploader: upsertRun first");
  nlohmann::json body;
  body["files"]["wandb-history.jsonl"] = {{"offset", history_offset_}, {"content", {row_json}}};
  post(stream_url_, body.dump());
  ++history_offset_;
}

void WandbUploader::finish(const std::string& summary_json, int exit_code) {
  if (stream_url_.empty()) throw std::logic_error("WandbUploader: upsertRun first");
  nlohmann::json body;
  body["files"]["wandb-summary.json"] = {{"offset", 0}, {"content", {summary_json}}};
  post(stream_url_, body.dump());
  post(stream_url_, nlohmann::json{{"complete", true}, {"exitcode", exit_code}}.dump());
}

}  // namespace svln::io
