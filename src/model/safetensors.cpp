#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace svln::model {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference reader's limit

struct DtypeEntry {
  const char* code;
  c10::ScalarType type;
};
constexpr DtypeEntry kDtypes[] = {
    {"F32", c10::kFloat}, {"F16", c10::kHalf},  {"BF16", c10::kBFloat16}, {"F64", c10::kDouble},
    {"I64", c10::kLong},  {"I32", c10::kInt},   {"I16", c10::kShort},     {"I8", c10::kChar},
    {"U8", c10::kByte},   {"BOOL", c10::kBool},
};

bool fileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

void atomicWrite(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot open for writing");
    out << text;
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename temp file into place");
}

}  // namespace

c10::ScalarType scalarTypeFromSafetensors(const std::string& code, const std::string& context) {
  for (const auto& e : kDtypes)
    if (code == e.code) return e.type;
  throw std::runtime_error(context + ": unsupported dtype '" + code + "'");
}

std::string safetensorsDtype(c10::ScalarType type) {
  for (const auto& e : kDtypes)
    if (type == e.type) return e.code;
  throw std::runtime_error(std::string("safetensors: cannot store dtype ") + c10::toString(type));
}

c10::ScalarType scalarTypeFromName(const std::string& name, const std::string& context) {
  if (name == "float32" || name == "fp32" || name == "float") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return c10::kHalf;
  throw std::runtime_error(context + ": unsupported dtype '" + name +
                           "' (float32, bfloat16, float16)");
}

std::string scalarTypeName(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat: return "float32";
    case c10::kBFloat16: return "bfloat16";
    case c10::kHalf: return "float16";
    default: return c10::toString(type);
  }
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot open safetensors file");
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw std::runtime_error(path + ": cannot stat");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  try {
    parseHeader();
  } catch (...) {
    if (map_) munmap(const_cast<uint8_t*>(map_), size_);
    ::close(fd_);
    throw;
  }
}

void SafetensorsFile::parseHeader() {
  const std::string& path = path_;
  auto fail = [&](const std::string& msg) { throw std::runtime_error(path + ": " + msg); };
  if (size_ < 8) fail("truncated (" + std::to_string(size_) + " bytes, no header length)");
  void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (m == MAP_FAILED) fail("mmap failed");
  map_ = static_cast<const uint8_t*>(m);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | map_[i];  // little-endian u64
  if (n > kMaxHeaderBytes || 8 + n > size_)
    fail("header length " + std::to_string(n) + " exceeds the file size " +
         std::to_string(size_) + " (truncated or not a safetensors file)");
  data_start_ = 8 + n;
  json header;
  try {
    header = json::parse(map_ + 8, map_ + 8 + n);
  } catch (const json::exception& e) {
    fail("header is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!header.is_object()) fail("header is not a JSON object");
  const uint64_t data_size = size_ - data_start_;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) fail("__metadata__ is not an object");
      for (auto m2 = it->begin(); m2 != it->end(); ++m2)
        if (m2->is_string()) metadata_[m2.key()] = m2->get<std::string>();
      continue;
    }
    const json& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
        !e.contains("data_offsets"))
      fail("tensor '" + name + "': entry needs dtype, shape and data_offsets");
    TensorInfo info;
    try {
      info.dtype = e["dtype"].get<std::string>();
      info.shape = e["shape"].get<std::vector<int64_t>>();
      auto off = e["data_offsets"].get<std::vector<uint64_t>>();
      if (off.size() != 2) fail("tensor '" + name + "': data_offsets must have 2 entries");
      info.begin = off[0];
      info.end = off[1];
    } catch (const json::exception&) {
      fail("tensor '" + name + "': malformed entry");
    }
    c10::ScalarType type = scalarTypeFromSafetensors(info.dtype, path + ": tensor '" + name + "'");
    uint64_t numel = 1;
    for (int64_t d : info.shape) {
      if (d < 0) fail("tensor '" + name + "': negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    uint64_t bytes = numel * c10::elementSize(type);
    if (info.end < info.begin || info.end > data_size)
      fail("tensor '" + name + "': data_offsets [" + std::to_string(info.begin) + ", " +
           std::to_string(info.end) + "] outside the data section (" +
           std::to_string(data_size) + " bytes; file truncated?)");
    if (info.end - info.begin != bytes)
      fail("tensor '" + name + "': shape needs " + std::to_string(bytes) + " bytes but offsets span " +
           std::to_string(info.end - info.begin));
    ranges.emplace_back(info.begin, info.end);
    infos_.emplace(name, std::move(info));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("tensor data ranges overlap");
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(const_cast<uint8_t*>(map_), size_);
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& kv : infos_) out.push_back(kv.first);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) throw std::runtime_error(path_ + ": no tensor '" + name + "'");
  return it->second;
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const TensorInfo& i = info(name);
  c10::ScalarType type = scalarTypeFromSafetensors(i.dtype, path_ + ": tensor '" + name + "'");
  // Copy out of the map (offsets need not be aligned to the element size).
  at::Tensor t = at::empty(i.shape, at::TensorOptions().dtype(type));
  if (i.end > i.begin) std::memcpy(t.data_ptr(), map_ + data_start_ + i.begin, i.end - i.begin);
  // A NaN or infinite weight makes every output NaN; say where it is instead.
  if (at::isFloatingType(type) && t.numel() > 0 && !at::isfinite(t).all().item<bool>())
    throw std::runtime_error(path_ + ": tensor '" + name + "' holds NaN or infinite values");
  return t;
}

at::Tensor SafetensorsFile::load(const std::string& name, c10::ScalarType dtype,
                                 c10::Device device) const {
  at::Tensor t = load(name);
  if (t.scalar_type() == dtype && device.is_cpu()) return t;
  return t.to(device, dtype);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir) : dir_(dir) {
  std::string single = dir + "/model.safetensors";
  std::string index = dir + "/model.safetensors.index.json";
  if (fileExists(single)) {
    shards_.push_back(std::make_unique<SafetensorsFile>(single));
    for (const auto& n : shards_[0]->names()) shard_of_[n] = 0;
    return;
  }
  if (!fileExists(index))
    throw std::runtime_error(dir + ": no model.safetensors or model.safetensors.index.json");
  std::ifstream in(index);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(index + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    throw std::runtime_error(index + ": weight_map: missing or not an object");
  std::map<std::string, size_t> shard_index;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it->is_string())
      throw std::runtime_error(index + ": weight_map: '" + it.key() + "' is not a file name");
    std::string file = it->get<std::string>();
    if (file.find('/') != std::string::npos || file.find("..") != std::string::npos)
      throw std::runtime_error(index + ": weight_map: '" + file + "' is not a plain file name");
    if (!shard_index.count(file)) {
      shard_index[file] = shards_.size();
      shards_.push_back(std::make_unique<SafetensorsFile>(dir + "/" + file));
    }
    size_t s = shard_index[file];
    if (!shards_[s]->contains(it.key()))
      throw std::runtime_error(index + ": tensor '" + it.key() + "' is not in " + file);
    shard_of_[it.key()] = s;
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& kv : shard_of_) out.push_back(kv.first);
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::shard(const std::string& name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw std::runtime_error(dir_ + ": no tensor '" + name + "'");
  return *shards_[it->second];
}

const TensorInfo& SafetensorsCheckpoint::info(const std::string& name) const {
  return shard(name).info(name);
}

at::Tensor SafetensorsCheckpoint::load(const std::string& name, c10::ScalarType dtype,
                                       c10::Device device) const {
  return shard(name).load(name, dtype, device);
}

void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> cpu;
  cpu.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.contains(name)) throw std::runtime_error(path + ": duplicate tensor '" + name + "'");
    at::Tensor c = t.detach().to(c10::kCPU).contiguous();
    uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", safetensorsDtype(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(std::move(c));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section starts 8-byte aligned
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot open for writing");
    uint64_t n = text.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& c : cpu)
      out.write(static_cast<const char*>(c.data_ptr()),
                static_cast<std::streamsize>(c.numel() * c.element_size()));
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename temp file into place");
}

void saveSafetensorsCheckpoint(const std::string& dir, const NamedTensors& tensors,
                               uint64_t max_shard_bytes) {
  std::vector<NamedTensors> shards(1);
  uint64_t total = 0, current = 0;
  for (const auto& nt : tensors) {
    uint64_t bytes = nt.second.numel() * nt.second.element_size();
    if (current > 0 && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(nt);
    current += bytes;
    total += bytes;
  }
  std::string single = dir + "/model.safetensors";
  std::string index = dir + "/model.safetensors.index.json";
  if (shards.size() == 1) {
    saveSafetensors(single, shards[0]);
    std::remove(index.c_str());  // a stale index would describe other weights
    return;
  }
  json weight_map = json::object();
  char file[64];
  for (size_t s = 0; s < shards.size(); ++s) {
    std::snprintf(file, sizeof(file), "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    saveSafetensors(dir + "/" + file, shards[s]);
    for (const auto& nt : shards[s]) weight_map[nt.first] = file;
  }
  json j = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  atomicWrite(index, j.dump(2) + "\n");
  std::remove(single.c_str());  // the loader prefers model.safetensors when present
  spdlog::debug("{}: wrote {} shards, {} bytes", dir, shards.size(), total);
}

}  // namespace svln::model
