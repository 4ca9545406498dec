#include "io/wandb_log.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace svln::io {
namespace {

constexpr uint8_t kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4;

void putLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t getLe(const std::string& in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  return v;
}

}  // namespace

uint32_t wandbChunkCrc(uint8_t type, const char* data, size_t n) {
  uLong c = crc32(0L, &type, 1);
  c = crc32(c, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n));
  return static_cast<uint32_t>(c);
}

WandbLogWriter::WandbLogWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wbx");
  if (!file_) throw std::runtime_error(path + ": cannot create (" + std::strerror(errno) + ")");
  std::string header = ":W&B";
  putLe(header, kWandbMagic, 2);
  header.push_back(static_cast<char>(kWandbStoreVersion));
  if (std::fwrite(header.data(), 1, header.size(), file_) != header.size())
    throw std::runtime_error(path + ": write failed (" + std::strerror(errno) + ")");
  index_ = header.size();
}

WandbLogWriter::~WandbLogWriter() {
  if (file_) std::fclose(file_);
}

void WandbLogWriter::writeChunk(const char* data, size_t n, uint8_t type) {
  std::string chunk;
  putLe(chunk, wandbChunkCrc(type, data, n), 4);
  putLe(chunk, n, 2);
  chunk.push_back(static_cast<char>(type));
  chunk.append(data, n);
  if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size())
    throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
  index_ += chunk.size();
}

void WandbLogWriter::append(const std::string& record) {
  if (!file_) throw std::runtime_error(path_ + ": append after close");
  size_t left = kWandbBlockBytes - index_ % kWandbBlockBytes;
  if (left < kWandbChunkHeaderBytes) {  // no room for a header: pad the block with zeros
    const std::string pad(left, '\0');
    if (std::fwrite(pad.data(), 1, pad.size(), file_) != pad.size())
      throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
    index_ += left;
    left = kWandbBlockBytes;
  }
  if (record.size() + kWandbChunkHeaderBytes <= left) {
    writeChunk(record.data(), record.size(), kFull);
    return;
  }
  // FIRST fills this block; MIDDLEs fill whole blocks; LAST takes the rest.
  size_t used = left - kWandbChunkHeaderBytes;
  writeChunk(record.data(), used, kFirst);
  const size_t data_per_block = kWandbBlockBytes - kWandbChunkHeaderBytes;
  while (record.size() - used > data_per_block) {
    writeChunk(record.data() + used, data_per_block, kMiddle);
    used += data_per_block;
  }
  writeChunk(record.data() + used, record.size() - used, kLast);
}

void WandbLogWriter::flush() {
  if (file_) std::fflush(file_);
}

void WandbLogWriter::close() {
  if (!file_) return;
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok) throw std::runtime_error(path_ + ": close failed (" + std::strerror(errno) + ")");
}

std::vector<std::string> readWandbLog(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  const std::string in((std::istreambuf_iterator<char>(f)), {});
  auto fail = [&](const std::string& what, size_t at) {
    throw std::runtime_error(path + ": " + what + " at byte " + std::to_string(at));
  };
  if (in.size() < 7 || in.compare(0, 4, ":W&B") != 0 || getLe(in, 4, 2) != kWandbMagic)
    fail("not a W&B transaction log (bad header)", 0);
  if (static_cast<uint8_t>(in[6]) != kWandbStoreVersion)
    fail("unsupported store version " + std::to_string(static_cast<uint8_t>(in[6])), 6);
  std::vector<std::string> records;
  std::string pending;
  bool in_record = false;
  size_t pos = 7;
  while (pos < in.size()) {
    const size_t left = kWandbBlockBytes - pos % kWandbBlockBytes;
    if (left < kWandbChunkHeaderBytes) {
      for (size_t i = 0; i < left && pos + i < in.size(); ++i)
        if (in[pos + i] != '\0') fail("non-zero block padding", pos + i);
      pos += left;
      continue;
    }
    if (pos + kWandbChunkHeaderBytes > in.size()) fail("truncated chunk header", pos);
    const auto crc = static_cast<uint32_t>(getLe(in, pos, 4));
    const auto len = static_cast<size_t>(getLe(in, pos + 4, 2));
    const auto type = static_cast<uint8_t>(in[pos + 6]);
    const size_t data = pos + kWandbChunkHeaderBytes;
    if (len > left - kWandbChunkHeaderBytes) fail("chunk crosses a block boundary", pos);
    if (data + len > in.size()) fail("truncated chunk", pos);
    if (wandbChunkCrc(type, in.data() + data, len) != crc) fail("CRC mismatch", pos);
    const bool starts = type == kFull || type == kFirst;
    if (type < kFull || type > kLast) fail("unknown chunk type " + std::to_string(type), pos);
    if (starts == in_record)
      fail(in_record ? "record interrupted by a new one" : "continuation without FIRST", pos);
    if (starts) pending.clear();
    pending.append(in, data, len);
    in_record = type == kFirst || type == kMiddle;
    if (!in_record) {
      records.push_back(std::move(pending));
      pending.clear();
    }
    pos = data + len;
  }
  if (in_record) fail("file ends inside a record", pos);
  return records;
}

}  // namespace svln::io
