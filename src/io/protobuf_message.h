// The few pieces of the protobuf wire format a hand-written message needs (the W&B
// transaction log's Record messages): varints, length-delimited fields, nested messages,
// and a flat parser that splits a message back into its fields.
//
//   field = varint(field_number << 3 | wire_type) payload
//   wire 0: varint   wire 1: 8 bytes LE   wire 2: varint(length) bytes   wire 5: 4 bytes LE
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace svln::io {

// Builds one message, fields in the order they are added (proto3 parsers accept any order).
class ProtoMessage {
 public:
  ProtoMessage& varint(int field, uint64_t value);
  ProtoMessage& int64(int field, int64_t value) {
    return varint(field, static_cast<uint64_t>(value));
  }
  ProtoMessage& boolean(int field, bool value) { return varint(field, value ? 1 : 0); }
  ProtoMessage& string(int field, const std::string& bytes);
  // A nested message; written even when empty, so a oneof member is present.
  ProtoMessage& message(int field, const ProtoMessage& m) { return string(field, m.bytes_); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// One field of a parsed message: `varint` for wire types 0, 1, 5 (the raw bits), `bytes`
// for wire type 2.
struct ProtoField {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;
  std::string bytes;
};

// Splits a serialized message into its top-level fields. Throws std::runtime_error
// ("protobuf: ...") on a truncated or malformed message.
std::vector<ProtoField> parseProtoFields(const std::string& bytes);

// The first field with this number (nullptr when absent) and all of them (repeated).
const ProtoField* findProtoField(const std::vector<ProtoField>& fields, int number);
std::vector<const ProtoField*> findProtoFields(const std::vector<ProtoField>& fields, int number);

}  // namespace svln::io
