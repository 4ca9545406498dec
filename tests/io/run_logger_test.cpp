#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/run_logger.h"

namespace svln::io {
namespace {

std::string readAll(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(RunLogger, WritesJsonlLogAndEventsAndAppendsOnResume) {
  const auto dir = std::filesystem::temp_directory_path() / "svln_runlogger_test";
  std::filesystem::remove_all(dir);
  {
    RunLogger log(dir.string());
    log.logLine("config: phase1_stop");
    log.logUpdate(0, {{"success_rate", 0.5}, {"spl", 0.25}, {"grpo_loss", std::nan("")}});
  }
  {
    RunLogger log(dir.string());  // a resumed run appends
    log.logUpdate(1, {{"success_rate", 0.75}});
  }
  std::istringstream lines(readAll(dir / "metrics.jsonl"));
  std::string l0, l1;
  std::getline(lines, l0);
  std::getline(lines, l1);
  const auto j0 = nlohmann::json::parse(l0);
  EXPECT_EQ(j0["update"], 0);
  EXPECT_DOUBLE_EQ(j0["success_rate"].get<double>(), 0.5);
  EXPECT_TRUE(j0["grpo_loss"].is_null());
  EXPECT_EQ(nlohmann::json::parse(l1)["update"], 1);
  const std::string log = readAll(dir / "training.log");
  EXPECT_NE(log.find("config: phase1_stop"), std::string::npos);
  EXPECT_NE(log.find("update 0 | SR 0.5 SPL 0.25"), std::string::npos);
  EXPECT_NE(log.find("update 1 | SR 0.75"), std::string::npos);
  int event_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "tensorboard")) {
    event_files += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_EQ(event_files, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace svln::io
