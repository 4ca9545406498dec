// What the test programs share: the message of an expected error, and scratch folders.
// (Each test process has its own TMPDIR: tests/run_isolated.sh.)
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

namespace svln::test {

// The message `fn` throws, "" when it throws nothing.
inline std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// An empty folder TMPDIR/svln_<name>_<pid>, whatever was there removed.
inline std::filesystem::path tempDir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path d = fs::temp_directory_path() / ("svln_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A new folder of its own under TMPDIR (mkdtemp), for tests that make several.
inline std::string uniqueTempDir() {
  std::string path = (std::filesystem::temp_directory_path() / "svln_XXXXXX").string();
  if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error(path + ": mkdtemp failed");
  return path;
}

}  // namespace svln::test
