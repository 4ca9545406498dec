// Opens report.html in headless Chromium (Debian's `chromium`; scripts/setup.sh installs it)
// and checks that the inline script drew every learning curve, then takes a screenshot.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "io/report.h"

namespace svln::io {
namespace {

namespace fs = std::filesystem;

std::string findChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return "";
}

std::string readAll(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string chromiumCommand(const std::string& exe, const fs::path& profile) {
  return exe +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --disable-dev-shm-usage --user-data-dir=" +
         profile.string();
}

TEST(ReportBrowser, ChromiumRendersEveryChartAndTakesAScreenshot) {
  const std::string exe = findChromium();
  if (exe.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const fs::path dir = fs::temp_directory_path() / "svln_report_browser";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream m(dir / "metrics.jsonl");
    for (int u = 1; u <= 20; ++u)
      m << "{\"update\":" << u << ",\"success_rate\":" << 0.02 * u << ",\"spl\":" << 0.015 * u
        << ",\"oracle_rate\":" << 0.5 - 0.02 * u << ",\"grpo_loss\":" << 1.0 / u
        << ",\"sft_loss\":" << 2.0 / u << ",\"sft_weight\":" << 1.0 - 0.04 * u
        << ",\"mean_return\":" << 0.1 * u << "}\n";
  }
  const std::string html = writeRunReport(dir.string());
  // success/SPL, oracle rate, losses, SFT weight, return: 5 groups with data.
  const int expected_charts = 5;

  const fs::path profile = dir / "profile";
  const fs::path dom = dir / "dom.html";
  const std::string url = "file://" + fs::absolute(html).string();
  const std::string dump = chromiumCommand(exe, profile) + " --dump-dom " + url + " > " +
                           dom.string() + " 2>" + (dir / "chromium.log").string();
  ASSERT_EQ(std::system(dump.c_str()), 0) << readAll(dir / "chromium.log");
  const std::string out = readAll(dom);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("<body[^>]*data-rendered=\"(\\d+)\"")))
      << out.substr(0, 400);
  EXPECT_EQ(std::stoi(m[1].str()), expected_charts);
  // Every canvas reports ink (non-white pixels) counted by the page itself.
  const std::regex ink("data-ink=\"(\\d+)\"");
  int canvases = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), ink); it != std::sregex_iterator();
       ++it) {
    ++canvases;
    EXPECT_GT(std::stoi((*it)[1].str()), 500);
  }
  EXPECT_EQ(canvases, expected_charts);

  const fs::path shot = dir / "screenshot.png";
  const std::string snap = chromiumCommand(exe, profile) +
                           " --hide-scrollbars --window-size=1280,1000" +
                           " --screenshot=" + shot.string() + " " + url + " >>" +
                           (dir / "chromium.log").string() + " 2>&1";
  ASSERT_EQ(std::system(snap.c_str()), 0) << readAll(dir / "chromium.log");
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 10000u);  // a blank 1280x1000 PNG is a few KB
}

}  // namespace
}  // namespace svln::io
