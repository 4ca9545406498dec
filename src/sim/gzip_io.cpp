#include "sim/gzip_io.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace svln::sim {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw std::runtime_error(what + ": " + problem);
}

bool hasGzipMagic(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 ? 0 : errno;
}

}  // namespace

void removeTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(path, std::string("cannot remove: ") + std::strerror(errno));
  }
  // Children before their directory (FTW_DEPTH), links not followed (FTW_PHYS).
  const int rc = ::nftw(path.c_str(), removeEntry, 32, FTW_DEPTH | FTW_PHYS);
  if (rc != 0) fail(path, std::string("cannot remove: ") + std::strerror(rc > 0 ? rc : errno));
}

void freshDirectory(const std::string& path) {
  removeTree(path);
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) fail(path, "cannot create directory: " + ec.message());
}

void publishDirectory(const std::string& staged, const std::string& target) {
  removeTree(target);
  const std::filesystem::path t(target);
  std::error_code ec;
  if (t.has_parent_path()) std::filesystem::create_directories(t.parent_path(), ec);
  if (!ec) std::filesystem::rename(staged, target, ec);
  if (ec) fail(target, "cannot move " + staged + " into place: " + ec.message());
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string gzipCompress(const std::string& data, int level) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper; zlib writes mtime 0 and no file name
  // unless deflateSetHeader is called, which keeps the output deterministic.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  gz_header header{};
  header.os = 255;  // "unknown": independent of the machine that wrote it
  deflateSetHeader(&zs, &header);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate failed");
  out.resize(produced);
  return out;
}

std::string gzipDecompress(const std::string& data, const std::string& what, size_t max_bytes) {
  if (!hasGzipMagic(data)) fail(what, "not a gzip stream");
  std::string out;
  size_t pos = 0;
  char buf[1 << 16];
  // Loop over members: `cat a.gz b.gz` is valid gzip and Python's gzip module reads it.
  while (pos < data.size()) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) fail(what, "inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + pos));
    zs.avail_in = static_cast<uInt>(data.size() - pos);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
        inflateEnd(&zs);
        fail(what, "truncated gzip stream (ends after " + std::to_string(data.size()) + " bytes)");
      }
      if (rc != Z_OK && rc != Z_STREAM_END) {
        const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
        inflateEnd(&zs);
        fail(what, "corrupt gzip stream: " + msg);
      }
      const size_t n = sizeof(buf) - zs.avail_out;
      if (out.size() + n > max_bytes) {
        inflateEnd(&zs);
        fail(what, "inflates to more than " + std::to_string(max_bytes >> 20) +
                       " MiB (a gzip bomb?)");
      }
      try {
        out.append(buf, n);
      } catch (const std::bad_alloc&) {
        inflateEnd(&zs);
        fail(what, "out of memory after inflating " + std::to_string(out.size() >> 20) + " MiB");
      }
    }
    pos += zs.total_in;
    inflateEnd(&zs);
    // Trailing zero padding after the last member is tolerated (as gzip(1) does).
    if (pos < data.size() && !hasGzipMagic(data.substr(pos, 2))) {
      if (data.find_first_not_of('\0', pos) == std::string::npos) break;
      fail(what, "trailing garbage after gzip stream");
    }
  }
  return out;
}

std::string readFileMaybeGzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::filesystem::exists(path) ? "cannot open file" : "file not found");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  if (endsWith(path, ".gz") || hasGzipMagic(bytes)) {
    if (bytes.empty()) fail(path, "empty file (expected gzip data)");
    return gzipDecompress(bytes, path);
  }
  return bytes;
}

void writeFileAtomic(const std::string& path, const std::string& data) {
  namespace fs = std::filesystem;
  const std::string payload = endsWith(path, ".gz") ? gzipCompress(data) : data;
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) fail(path, "cannot create directory: " + ec.message());
  }
  // pid + counter keeps concurrent writers (threads or processes) off each other's temp file.
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot write temporary file " + tmp);
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      fail(path, "write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, "cannot rename temporary file: " + ec.message());
  }
}

}  // namespace svln::sim
