// Writes TensorBoard event files (events.out.tfevents.*) with scalar summaries, without
// TensorFlow: TFRecord framing + hand-encoded Event/Summary protobufs.
//
//   record = uint64 len | uint32 masked_crc32c(len) | data[len] | uint32 masked_crc32c(data)
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace svln::io {

uint32_t crc32c(const void* data, size_t n);
// TFRecord's mask: rotate right by 15, add a constant.
uint32_t maskedCrc32c(const void* data, size_t n);

class TensorBoardWriter {
 public:
  // Creates `<dir>/events.out.tfevents.<unix_seconds>.<hostname>.<pid>.<n>` and writes the
  // file-version event. Throws "<path>: <problem>" when the file cannot be created.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void addScalar(const std::string& tag, float value, int64_t step, double wall_time = -1);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void writeRecord(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace svln::io
