#include "io/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace svln::io {
namespace {

std::array<uint32_t, 256> makeCrc32cTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli
    t[i] = c;
  }
  return t;
}

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putFixed(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);  // little-endian hosts only (x86_64, aarch64)
}

void putBytesField(std::string& out, int field, const std::string& bytes) {
  putVarint(out, (static_cast<uint64_t>(field) << 3) | 2);
  putVarint(out, bytes.size());
  out += bytes;
}

std::string eventHeader(double wall_time, int64_t step) {
  std::string e;
  e.push_back(0x09);  // field 1, fixed64
  putFixed(e, &wall_time, 8);
  e.push_back(0x10);  // field 2, varint
  putVarint(e, static_cast<uint64_t>(step));
  return e;
}

double nowSeconds() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const std::array<uint32_t, 256> table = makeCrc32cTable();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t maskedCrc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  const double now = nowSeconds();
  // Like TensorFlow's writer: time, host, pid, and a counter so that two writers started in
  // the same second (a quick resume) never truncate each other's file.
  const std::string stem = dir + "/events.out.tfevents." +
                           std::to_string(static_cast<int64_t>(now)) + "." + host + "." +
                           std::to_string(getpid());
  for (int i = 0;; ++i) {
    path_ = stem + "." + std::to_string(i);
    if (!std::filesystem::exists(path_)) break;
  }
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw std::runtime_error(path_ + ": cannot create (" + std::strerror(errno) + ")");
  std::string e = eventHeader(now, 0);
  putBytesField(e, 3, "brain.Event:2");
  writeRecord(e);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::addScalar(const std::string& tag, float value, int64_t step,
                                  double wall_time) {
  std::string v;
  putBytesField(v, 1, tag);
  v.push_back(0x15);  // field 2, fixed32
  putFixed(v, &value, 4);
  std::string summary;
  putBytesField(summary, 1, v);
  std::string e = eventHeader(wall_time < 0 ? nowSeconds() : wall_time, step);
  putBytesField(e, 5, summary);
  writeRecord(e);
}

void TensorBoardWriter::writeRecord(const std::string& data) {
  const uint64_t len = data.size();
  const uint32_t len_crc = maskedCrc32c(&len, 8);
  const uint32_t data_crc = maskedCrc32c(data.data(), data.size());
  std::string rec;
  putFixed(rec, &len, 8);
  putFixed(rec, &len_crc, 4);
  rec += data;
  putFixed(rec, &data_crc, 4);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size()) {
    throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
  }
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0) {
    throw std::runtime_error(path_ + ": flush failed (" + std::strerror(errno) + ")");
  }
}

}  // namespace svln::io
