#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/tensorboard_writer.h"

namespace svln::io {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 / iSCSI test vector: "123456789" -> 0xE3069283.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
}

// Reads records back, checking both CRCs, and finds the scalar's tag and value bytes.
TEST(TensorBoardWriter, RecordsAreFramedAndCarryTheScalar) {
  const auto dir = std::filesystem::temp_directory_path() / "svln_tb_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path;
  {
    TensorBoardWriter w(dir.string());
    w.addScalar("train/success_rate", 0.625f, 7, 1000.0);
    path = w.path();
  }
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  size_t pos = 0;
  int records = 0;
  std::string last;
  while (pos < bytes.size()) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, bytes.data() + pos, 8);
    std::memcpy(&len_crc, bytes.data() + pos + 8, 4);
    ASSERT_EQ(len_crc, maskedCrc32c(&len, 8));
    last = bytes.substr(pos + 12, len);
    std::memcpy(&data_crc, bytes.data() + pos + 12 + len, 4);
    ASSERT_EQ(data_crc, maskedCrc32c(last.data(), last.size()));
    pos += 12 + len + 4;
    ++records;
  }
  EXPECT_EQ(records, 2);  // file version + one scalar
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
  EXPECT_NE(last.find("train/success_rate"), std::string::npos);
  float v = 0.625f;
  EXPECT_NE(last.find(std::string(reinterpret_cast<const char*>(&v), 4)), std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(last[9]), 0x10);  // step field after 8-byte wall time
  EXPECT_EQ(static_cast<uint8_t>(last[10]), 7);
  std::filesystem::remove_all(dir);
}

TEST(TensorBoardWriter, UnwritableDirectoryNamesThePath) {
  try {
    TensorBoardWriter w("/nonexistent/dir");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/events.out.tfevents"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace svln::io
