#include "io/wandb_run.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "io/protobuf_message.h"
#include "io/wandb_uploader.h"
#include "sim/gzip_io.h"

namespace svln::io {
namespace fs = std::filesystem;
namespace {

// Record field numbers (wandb/proto/wandb_internal.proto).
constexpr int kRecordNum = 1, kRecordHistory = 2, kRecordSummary = 3, kRecordConfig = 5,
              kRecordFiles = 6, kRecordOutputRaw = 13, kRecordRun = 17, kRecordExit = 18,
              kRecordFinal = 20, kRecordHeader = 21;
// RunRecord
constexpr int kRunId = 1, kRunEntity = 2, kRunProject = 3, kRunConfig = 4, kRunDisplayName = 8,
              kRunHost = 13, kRunStartTime = 17;
// ConfigRecord / SummaryRecord .update = 1; HistoryRecord .item = 1, .step = 2;
// ConfigItem / SummaryItem / HistoryItem: key = 1, value_json = 16; HistoryStep.num = 1.
constexpr int kItems = 1, kHistoryStep = 2, kItemKey = 1, kItemValueJson = 16;
// OutputRawRecord: output_type = 1 (STDOUT = 1), timestamp = 2, line = 3.
// FilesRecord: files = 1; FilesItem: path = 1, policy = 2 (NOW = 0, END = 1).
// RunExitRecord: exit_code = 1, runtime = 2. Timestamp: seconds = 1, nanos = 2.

double nowSeconds() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

ProtoMessage timestamp(double t) {
  const double secs = std::floor(t);
  return ProtoMessage()
      .int64(1, static_cast<int64_t>(secs))
      .int64(2, static_cast<int64_t>((t - secs) * 1e9));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string get(const std::map<std::string, std::string>& env, const std::string& key) {
  const auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

// wandb.util.generate_id: 8 characters of [a-z0-9]. An identifier, not a training choice,
// so it mixes the clock and the process id rather than the run seed (two runs of one seed
// must not share an id, or `wandb sync` would merge them).
std::string generateRunId() {
  uint64_t z = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
               (static_cast<uint64_t>(getpid()) << 32) ^
               static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    z += 0x9E3779B97F4A7C15ull;  // SplitMix64
    uint64_t x = z;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    id += kAlphabet[x % 36];
  }
  return id;
}

std::string localStamp(std::time_t t) {
  char buf[32];
  std::tm tm{};
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

std::string isoUtc(double t) {
  const auto secs = static_cast<std::time_t>(std::floor(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06dZ", static_cast<int>((t - std::floor(t)) * 1e6));
  return std::string(buf) + frac;
}

// Python's json.dumps for a float, which the client uses: NaN / Infinity are bare tokens.
std::string numberJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return nlohmann::json(v).dump();
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

ProtoMessage items(const std::map<std::string, std::string>& kv) {
  ProtoMessage m;
  for (const auto& [k, v] : kv)
    m.message(kItems, ProtoMessage().string(kItemKey, k).string(kItemValueJson, v));
  return m;
}

void emitYamlValue(YAML::Emitter& y, const nlohmann::json& v) {
  if (v.is_boolean()) {
    y << v.get<bool>();
  } else if (v.is_number_integer()) {
    y << v.get<int64_t>();
  } else if (v.is_number()) {
    y << v.get<double>();
  } else {
    y << YAML::DoubleQuoted << v.get<std::string>();
  }
}

std::string metadataJson(double start, const std::vector<std::string>& args) {
  utsname u{};
  uname(&u);
  nlohmann::json j;
  j["os"] = std::string(u.sysname) + "-" + u.release + "-" + u.machine;
  j["program"] = "streamvln";
  j["args"] = args;
  j["host"] = hostName();
  if (const passwd* pw = getpwuid(getuid())) j["username"] = pw->pw_name;
  std::error_code ec;
  j["executable"] = fs::read_symlink("/proc/self/exe", ec).string();
  j["cpu_count"] = std::thread::hardware_concurrency();
  j["startedAt"] = isoUtc(start);
  return j.dump(4) + "\n";
}

// {"k": v, ...} from already-encoded JSON values (keeps Python's NaN / Infinity tokens).
std::string jsonObject(const std::map<std::string, std::string>& kv) {
  std::string j = "{";
  for (const auto& [k, v] : kv)
    j += (j.size() > 1 ? ", " : "") + nlohmann::json(k).dump() + ": " + v;
  return j + "}";
}

}  // namespace

std::string configValueJson(const std::string& text) {
  if (text == "true" || text == "false") return text;
  if (!text.empty()) {
    try {
      size_t used = 0;
      const double v = std::stod(text, &used);
      if (used == text.size() && std::isfinite(v)) {
        const bool integral = text.find_first_of(".eE") == std::string::npos;
        return integral ? std::to_string(static_cast<long long>(v)) : numberJson(v);
      }
    } catch (const std::exception&) {
    }
  }
  return nlohmann::json(text).dump();
}

WandbSettings resolveWandbSettings(const std::map<std::string, std::string>& env,
                                   const std::string& default_dir, const std::string& project,
                                   const std::string& entity, const std::string& run_name) {
  WandbSettings s;
  const std::string mode = lower(get(env, "WANDB_MODE"));
  if (mode.empty() || mode == "online" || mode == "run") {
    s.mode = WandbMode::kOnline;
  } else if (mode == "offline" || mode == "dryrun") {
    s.mode = WandbMode::kOffline;
  } else if (mode == "disabled") {
    s.mode = WandbMode::kDisabled;
  } else {
    throw std::runtime_error("environment WANDB_MODE: '" + get(env, "WANDB_MODE") +
                             "' is not one of online, offline, disabled");
  }
  s.root_dir = get(env, "WANDB_DIR").empty() ? default_dir : get(env, "WANDB_DIR");
  s.api_key = get(env, "WANDB_API_KEY");
  if (!get(env, "WANDB_BASE_URL").empty()) {
    std::string url = get(env, "WANDB_BASE_URL");
    const size_t scheme = url.find("://");
    const std::string proto = scheme == std::string::npos ? "" : lower(url.substr(0, scheme));
    if ((proto != "http" && proto != "https") || url.size() <= scheme + 3 || url[scheme + 3] == '/')
      throw std::runtime_error("environment WANDB_BASE_URL: '" + url +
                               "' is not an http(s)://host URL");
    while (url.back() == '/') url.pop_back();
    s.base_url = url;
  }
  s.run_id = get(env, "WANDB_RUN_ID");
  for (char c : s.run_id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      throw std::runtime_error("environment WANDB_RUN_ID: '" + s.run_id +
                               "' may hold only letters, digits, '_' and '-'");
  s.project = project;
  s.entity = entity.empty() ? get(env, "WANDB_ENTITY") : entity;
  s.run_name = run_name;
  if (s.project.empty()) throw std::runtime_error("--wandb_project: must not be empty");
  return s;
}

WandbRun::WandbRun(const WandbSettings& settings) : settings_(settings) {}

std::unique_ptr<WandbRun> WandbRun::start(
    const WandbSettings& settings, const std::vector<std::pair<std::string, std::string>>& config,
    const std::vector<std::string>& args) {
  if (settings.mode == WandbMode::kDisabled) {
    spdlog::info("W&B: WANDB_MODE=disabled, nothing is logged to W&B");
    return nullptr;
  }
  std::unique_ptr<WandbRun> run(new WandbRun(settings));
  WandbSettings& s = run->settings_;
  if (s.run_id.empty()) s.run_id = generateRunId();
  run->start_time_ = nowSeconds();
  const std::string stamp = localStamp(static_cast<std::time_t>(run->start_time_));
  if (s.run_name.empty()) s.run_name = s.project + "-" + stamp;
  std::map<std::string, std::string> cfg;
  for (const auto& [k, v] : config) cfg[k] = configValueJson(v);

  std::string upload_problem;
  if (s.mode == WandbMode::kOnline && !s.api_key.empty() && wandbUploadAvailable()) {
    try {
      nlohmann::json config_json = nlohmann::json::object();  // the client's {"k": {"value": v}}
      for (const auto& [k, v] : cfg) config_json[k] = {{"value", nlohmann::json::parse(v)}};
      auto up = std::make_unique<WandbUploader>(s.base_url, s.api_key);
      s.entity = up->upsertRun(s.entity, s.project, s.run_id, s.run_name, config_json.dump());
      run->uploader_ = std::move(up);
    } catch (const std::exception& e) {
      upload_problem = e.what();
    }
  }
  // The client's names: run-* for a run it uploads, offline-run-* for one `wandb sync` must.
  const std::string prefix = run->uploader_ ? "run-" : "offline-run-";
  const fs::path dir = fs::path(s.root_dir) / "wandb" / (prefix + stamp + "-" + s.run_id);
  std::error_code ec;
  fs::create_directories(dir / "files", ec);
  if (ec) throw std::runtime_error(dir.string() + ": cannot create (" + ec.message() + ")");
  run->run_dir_ = dir.string();
  run->log_path_ = (dir / ("run-" + s.run_id + ".wandb")).string();
  run->log_ = std::make_unique<WandbLogWriter>(run->log_path_);
  const std::string out_path = (dir / "files" / "output.log").string();
  run->output_ = std::fopen(out_path.c_str(), "w");
  if (!run->output_)
    throw std::runtime_error(out_path + ": cannot create (" + std::strerror(errno) + ")");

  YAML::Emitter y;
  y << YAML::BeginMap;
  for (const auto& [k, v] : config) {
    y << YAML::Key << k << YAML::Value << YAML::BeginMap << YAML::Key << "value" << YAML::Value;
    emitYamlValue(y, nlohmann::json::parse(cfg[k]));
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  sim::writeFileAtomic((dir / "files" / "config.yaml").string(), std::string(y.c_str()) + "\n");
  sim::writeFileAtomic((dir / "files" / "wandb-metadata.json").string(),
                       metadataJson(run->start_time_, args));

  run->writeRecord(ProtoMessage(), kRecordHeader);
  ProtoMessage rr;
  rr.string(kRunId, s.run_id).string(kRunProject, s.project);
  if (!s.entity.empty()) rr.string(kRunEntity, s.entity);
  rr.message(kRunConfig, items(cfg))
      .string(kRunDisplayName, s.run_name)
      .string(kRunHost, hostName())
      .message(kRunStartTime, timestamp(run->start_time_));
  run->writeRecord(rr, kRecordRun);
  ProtoMessage files;
  files.message(1, ProtoMessage().string(1, "wandb-metadata.json").varint(2, 0));  // NOW
  files.message(1, ProtoMessage().string(1, "output.log").varint(2, 1));           // END
  run->writeRecord(files, kRecordFiles);
  run->log_->flush();

  if (run->uploader_) {
    spdlog::info("W&B: uploading run {} to {} (entity {}, project {}); local copy in {}", s.run_id,
                 s.base_url, s.entity, s.project, run->run_dir_);
  } else if (s.mode == WandbMode::kOffline) {
    spdlog::info("W&B: offline run {}; upload it later with `{}`", run->run_dir_,
                 run->syncCommand());
  } else {
    const std::string why = !upload_problem.empty() ? "the upload failed (" + upload_problem + ")"
                            : s.api_key.empty()
                                ? std::string("WANDB_API_KEY is not set")
                                : std::string("this build has no libcurl to upload with");
    spdlog::warn("W&B: {}, so the run was written offline to {}; upload it with `{}`", why,
                 run->run_dir_, run->syncCommand());
  }
  return run;
}

WandbRun::~WandbRun() {
  try {
    finish(1);
  } catch (const std::exception& e) {
    spdlog::error("W&B: {}", e.what());
  }
  if (output_) std::fclose(output_);
}

std::string WandbRun::syncCommand() const {
  std::string cmd;
  if (settings_.base_url != "https://api.wandb.ai")
    cmd += "WANDB_BASE_URL=" + settings_.base_url + " ";
  cmd += "wandb sync";
  if (!settings_.entity.empty()) cmd += " --entity " + settings_.entity;
  return cmd + " " + run_dir_;
}

void WandbRun::writeRecord(const ProtoMessage& body, int field) {
  log_->append(ProtoMessage().int64(kRecordNum, ++record_num_).message(field, body).bytes());
}

void WandbRun::log(int64_t step, const std::map<std::string, double>& metrics) {
  if (finished_) throw std::logic_error("WandbRun::log after finish");
  const double now = nowSeconds();
  std::map<std::string, std::string> row;
  for (const auto& [k, v] : metrics) row[k] = numberJson(v);
  row["_step"] = std::to_string(step);
  row["_runtime"] = numberJson(now - start_time_);
  row["_timestamp"] = numberJson(now);
  ProtoMessage h = items(row);
  h.message(kHistoryStep, ProtoMessage().int64(1, step));
  writeRecord(h, kRecordHistory);
  for (const auto& [k, v] : row) summary_[k] = v;
  last_step_ = step;
  log_->flush();
  if (uploader_) {
    try {
      uploader_->appendHistory(jsonObject(row));
    } catch (const std::exception& e) {
      uploadFailed(e.what());
    }
  }
}

void WandbRun::uploadFailed(const std::string& what) {
  uploader_.reset();
  spdlog::warn("W&B: upload stopped ({}); every record is in {}; upload it with `{}`", what,
               run_dir_, syncCommand());
}

void WandbRun::logLine(const std::string& line) {
  if (finished_) throw std::logic_error("WandbRun::logLine after finish");
  const std::string text = line + "\n";
  if (std::fwrite(text.data(), 1, text.size(), output_) != text.size())
    throw std::runtime_error(run_dir_ + "/files/output.log: write failed");
  std::fflush(output_);
  writeRecord(ProtoMessage().varint(1, 1).message(2, timestamp(nowSeconds())).string(3, text),
              kRecordOutputRaw);
}

void WandbRun::finish(int exit_code) {
  if (finished_) return;
  finished_ = true;
  const double runtime = nowSeconds() - start_time_;
  std::map<std::string, std::string> summary = summary_;
  summary["_wandb"] = nlohmann::json{{"runtime", static_cast<int64_t>(runtime)}}.dump();
  writeRecord(items(summary), kRecordSummary);
  ProtoMessage exit;  // proto3 leaves zero-valued scalars out, as the client's encoder does
  if (exit_code != 0) exit.int64(1, exit_code);
  if (runtime >= 1) exit.int64(2, static_cast<int64_t>(runtime));
  writeRecord(exit, kRecordExit);
  writeRecord(ProtoMessage(), kRecordFinal);
  log_->close();
  std::fclose(output_);
  output_ = nullptr;
  // wandb-summary.json: the same values as one JSON object (NaN / Infinity as Python writes).
  sim::writeFileAtomic(run_dir_ + "/files/wandb-summary.json", jsonObject(summary) + "\n");
  if (uploader_) {
    try {
      uploader_->finish(jsonObject(summary), exit_code);
    } catch (const std::exception& e) {
      uploadFailed(e.what());
    }
  }
  if (uploader_)
    spdlog::info("W&B: run {} finished and uploaded (exit code {})", settings_.run_id, exit_code);
  else
    spdlog::info("W&B: run {} finished (exit code {}); `{}` uploads it", settings_.run_id,
                 exit_code, syncCommand());
}

}  // namespace svln::io
