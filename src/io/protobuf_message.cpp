#include "io/protobuf_message.h"

#include <stdexcept>

namespace svln::io {
namespace {

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t getVarint(const std::string& in, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) throw std::runtime_error("protobuf: truncated varint");
    const auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw std::runtime_error("protobuf: varint longer than 10 bytes");
}

uint64_t getFixed(const std::string& in, size_t& pos, size_t n) {
  if (pos + n > in.size()) throw std::runtime_error("protobuf: truncated fixed field");
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  pos += n;
  return v;
}

}  // namespace

ProtoMessage& ProtoMessage::varint(int field, uint64_t value) {
  putVarint(bytes_, static_cast<uint64_t>(field) << 3 | 0);
  putVarint(bytes_, value);
  return *this;
}

ProtoMessage& ProtoMessage::string(int field, const std::string& bytes) {
  putVarint(bytes_, static_cast<uint64_t>(field) << 3 | 2);
  putVarint(bytes_, bytes.size());
  bytes_ += bytes;
  return *this;
}

std::vector<ProtoField> parseProtoFields(const std::string& bytes) {
  std::vector<ProtoField> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const uint64_t key = getVarint(bytes, pos);
    ProtoField f;
    f.number = static_cast<int>(key >> 3);
    f.wire_type = static_cast<int>(key & 7);
    if (f.number == 0) throw std::runtime_error("protobuf: field number 0");
    switch (f.wire_type) {
      case 0:
        f.varint = getVarint(bytes, pos);
        break;
      case 1:
        f.varint = getFixed(bytes, pos, 8);
        break;
      case 5:
        f.varint = getFixed(bytes, pos, 4);
        break;
      case 2: {
        const uint64_t n = getVarint(bytes, pos);
        if (n > bytes.size() - pos)
          throw std::runtime_error("protobuf: truncated length-delimited field");
        f.bytes = bytes.substr(pos, n);
        pos += n;
        break;
      }
      default:
        throw std::runtime_error("protobuf: unsupported wire type " + std::to_string(f.wire_type));
    }
    out.push_back(std::move(f));
  }
  return out;
}

const ProtoField* findProtoField(const std::vector<ProtoField>& fields, int number) {
  for (const ProtoField& f : fields)
    if (f.number == number) return &f;
  return nullptr;
}

std::vector<const ProtoField*> findProtoFields(const std::vector<ProtoField>& fields, int number) {
  std::vector<const ProtoField*> out;
  for (const ProtoField& f : fields)
    if (f.number == number) out.push_back(&f);
  return out;
}

}  // namespace svln::io
