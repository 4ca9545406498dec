// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]},
// "__metadata__": {...}}, then the raw little-endian tensor bytes.
//
//   [u64 N][JSON header, space-padded to 8-byte alignment][data .................]
//                                                          ^ offsets are relative here
//
// Reading memory-maps the file and copies one tensor at a time to the target
// dtype/device, so a 15 GB checkpoint never sits in host memory twice.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace svln::model {

struct TensorInfo {
  std::string dtype;  // safetensors code: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path` (header length, JSON, dtypes, shapes vs byte sizes, offsets
  // inside the file and not overlapping). Errors name the file and the tensor.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A fresh tensor (owning its memory) converted to `dtype` on `device`.
  at::Tensor load(const std::string& name, c10::ScalarType dtype,
                  c10::Device device = c10::Device(c10::kCPU)) const;
  // The same in the stored dtype.
  at::Tensor load(const std::string& name) const;

 private:
  void parseHeader();
  std::string path_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint directory: model.safetensors, or model.safetensors.index.json naming the
// shards. Maps each tensor name to its shard.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& dir);
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  at::Tensor load(const std::string& name, c10::ScalarType dtype,
                  c10::Device device = c10::Device(c10::kCPU)) const;

 private:
  const SafetensorsFile& shard(const std::string& name) const;
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, size_t> shard_of_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

c10::ScalarType scalarTypeFromSafetensors(const std::string& code, const std::string& context);
std::string safetensorsDtype(c10::ScalarType type);
// "float32"/"bfloat16"/"float16" (config.json torch_dtype spelling) -> ScalarType.
c10::ScalarType scalarTypeFromName(const std::string& name, const std::string& context);
std::string scalarTypeName(c10::ScalarType type);

// Writes tensors (any device; copied to CPU, contiguous) atomically. The header is padded
// with spaces to a multiple of 8 bytes like the reference writer; __metadata__ defaults
// to {"format": "pt"}.
void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// Writes `dir`/model.safetensors, or, when the total exceeds max_shard_bytes,
// model-0000i-of-0000n.safetensors shards plus model.safetensors.index.json.
void saveSafetensorsCheckpoint(const std::string& dir, const NamedTensors& tensors,
                               uint64_t max_shard_bytes = 5ull << 30);

}  // namespace svln::model
