// The W&B transaction log (`run-<id>.wandb`): the stream of protobuf `Record` messages the
// W&B client writes and `wandb sync` uploads. LevelDB's log format with W&B's file header
// and zlib's CRC-32 (wandb/sdk/internal/datastore.py):
//
//   file   = ":W&B" | uint16 0xBEE1 | uint8 version 0 | block*      (all little-endian)
//   block  = 32768 bytes of chunks; a tail shorter than a chunk header is zero padding
//   chunk  = uint32 crc32(type byte, data) | uint16 length | uint8 type | data[length]
//   type   = FULL 1 | FIRST 2 | MIDDLE 3 | LAST 4   (a record split across blocks)
//
// The 7-byte file header counts toward the first block.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace svln::io {

constexpr size_t kWandbBlockBytes = 32768;
constexpr size_t kWandbChunkHeaderBytes = 7;
constexpr uint16_t kWandbMagic = 0xBEE1;
constexpr uint8_t kWandbStoreVersion = 0;

class WandbLogWriter {
 public:
  // Creates `path` (it must not exist, as the client opens it "xb") and writes the header.
  // Throws "<path>: <problem>".
  explicit WandbLogWriter(const std::string& path);
  ~WandbLogWriter();
  WandbLogWriter(const WandbLogWriter&) = delete;
  WandbLogWriter& operator=(const WandbLogWriter&) = delete;

  // One serialized Record, split into chunks at block boundaries.
  void append(const std::string& record);
  void flush();
  void close();
  uint64_t size() const { return index_; }

 private:
  void writeChunk(const char* data, size_t n, uint8_t type);
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t index_ = 0;  // bytes written so far
};

// Reads every record back, checking the header, each chunk's CRC, the FULL / FIRST MIDDLE*
// LAST sequence and the zero padding. Throws "<path>: <problem> at byte N".
std::vector<std::string> readWandbLog(const std::string& path);

// crc32 (zlib / IEEE) of the chunk type followed by the data, as the chunk header holds it.
uint32_t wandbChunkCrc(uint8_t type, const char* data, size_t n);

}  // namespace svln::io
