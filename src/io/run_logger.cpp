#include "io/run_logger.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "io/tensorboard_writer.h"
#include "sim/gzip_io.h"

namespace svln::io {
namespace {

std::FILE* openAppend(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw std::runtime_error(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  return f;
}

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

void writeOrThrow(std::FILE* f, const std::string& s, const std::string& what) {
  if (std::fwrite(s.data(), 1, s.size(), f) != s.size()) {
    throw std::runtime_error(what + ": write failed (" + std::strerror(errno) + ")");
  }
}

}  // namespace

std::string formatUpdateLine(int64_t update, const std::map<std::string, double>& m) {
  // Label and key of the figures people read first, in reading order.
  static const std::pair<const char*, const char*> kShown[] = {
      {"SR", "success_rate"},    {"SPL", "spl"},          {"OR", "oracle_rate"},
      {"len", "avg_episode_length"}, {"R", "mean_return"}, {"grpo", "grpo_loss"},
      {"sft", "sft_loss"},       {"w", "sft_weight"},     {"|g|", "grad_norm"},
      {"steps/s", "steps_per_second"}};
  char buf[64];
  std::string line = "update " + std::to_string(update);
  const char* sep = " | ";
  for (const auto& [label, key] : kShown) {
    const auto it = m.find(key);
    if (it == m.end()) continue;
    std::snprintf(buf, sizeof(buf), "%s%s %.4g", sep, label, it->second);
    line += buf;
    sep = " ";
  }
  return line;
}

RunLogger::RunLogger(const std::string& dir, bool tensorboard) : dir_(dir) {
  std::filesystem::create_directories(dir);
  log_ = openAppend(dir + "/training.log");
  jsonl_ = openAppend(dir + "/metrics.jsonl");
  if (tensorboard) {
    std::filesystem::create_directories(dir + "/tensorboard");
    tb_ = std::make_unique<TensorBoardWriter>(dir + "/tensorboard");
  }
}

void RunLogger::resumeAt(int64_t update) {
  namespace fs = std::filesystem;
  const std::string path = dir_ + "/metrics.jsonl";
  std::ifstream in(path);
  std::string kept, line;
  int dropped = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    const bool later = !j.is_discarded() && j.is_object() && j.contains("update") &&
                       j["update"].is_number() && j["update"].get<int64_t>() > update;
    if (later) {
      ++dropped;
    } else {
      kept += line + "\n";
    }
  }
  in.close();
  if (dropped > 0) {
    std::fclose(jsonl_);
    jsonl_ = nullptr;
    sim::writeFileAtomic(path, kept);
    jsonl_ = openAppend(path);
  }
  int stale = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find(".tmp.") != std::string::npos) {
      std::error_code ec;
      if (fs::remove(e.path(), ec)) ++stale;
    }
  }
  logLine("resuming after update " + std::to_string(update) + ": " + std::to_string(dropped) +
          " metrics.jsonl rows of later updates removed (they are redone), " +
          std::to_string(stale) + " stale temp files deleted");
}

RunLogger::~RunLogger() {
  if (log_) std::fclose(log_);
  if (jsonl_) std::fclose(jsonl_);
}

void RunLogger::logLine(const std::string& line) {
  writeOrThrow(log_, "[" + timestamp() + "] " + line + "\n", dir_ + "/training.log");
  std::fflush(log_);
}

void RunLogger::logUpdate(int64_t update, const std::map<std::string, double>& metrics) {
  nlohmann::json j;
  j["update"] = update;
  for (const auto& [k, v] : metrics) {
    j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);  // JSON has no NaN
  }
  writeOrThrow(jsonl_, j.dump() + "\n", dir_ + "/metrics.jsonl");
  logLine(formatUpdateLine(update, metrics));
  if (tb_) {
    for (const auto& [k, v] : metrics) tb_->addScalar("train/" + k, static_cast<float>(v), update);
  }
  flush();
}

void RunLogger::flush() {
  std::fflush(jsonl_);
  std::fflush(log_);
  if (tb_) tb_->flush();
}

}  // namespace svln::io
