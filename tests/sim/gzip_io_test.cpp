#include "sim/gzip_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "test_util.h"

namespace svln::sim {
namespace {
using svln::test::tempDir;
using svln::test::errorOf;

namespace fs = std::filesystem;

TEST(GzipIo, RoundTripAndDeterministicHeader) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  const std::string a = gzipCompress(text);
  const std::string b = gzipCompress(text);
  EXPECT_EQ(a, b);
  ASSERT_GE(a.size(), 10u);
  // RFC 1952 header: magic 1f 8b, method 8, flags 0 (no name), mtime 0, OS 255.
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x8b);
  EXPECT_EQ(a[2], 8);
  EXPECT_EQ(a[3], 0);
  EXPECT_EQ(a.substr(4, 4), std::string(4, '\0'));
  EXPECT_EQ(static_cast<unsigned char>(a[9]), 255);
  EXPECT_LT(a.size(), text.size() / 3);
  EXPECT_EQ(gzipDecompress(a, "mem"), text);
}

TEST(GzipIo, ConcatenatedMembersAreOneStream) {
  EXPECT_EQ(gzipDecompress(gzipCompress("abc") + gzipCompress("def"), "mem"), "abcdef");
}

TEST(GzipIo, TruncatedAndCorruptStreamsNameTheSource) {
  const std::string z = gzipCompress(std::string(1000, 'x') + "tail");
  EXPECT_NE(
      errorOf([&] { gzipDecompress(z.substr(0, z.size() - 6), "f.gz"); }).find("f.gz: truncated"),
      std::string::npos);
  std::string bad = z;
  bad[12] ^= 0x55;
  bad[13] ^= 0x55;
  const std::string msg = errorOf([&] { gzipDecompress(bad, "f.gz"); });
  EXPECT_EQ(msg.rfind("f.gz: ", 0), 0u) << msg;
  EXPECT_NE(errorOf([&] { gzipDecompress("plain", "f.gz"); }).find("not a gzip stream"),
            std::string::npos);
}

TEST(GzipIo, AtomicWriteCompressesByNameAndLeavesNoTempFiles) {
  const fs::path d = tempDir("atomic");
  writeFileAtomic((d / "sub" / "a.json.gz").string(), "{\"k\": 1}");
  writeFileAtomic((d / "b.txt").string(), "plain text");
  EXPECT_EQ(readFileMaybeGzip((d / "sub" / "a.json.gz").string()), "{\"k\": 1}");
  EXPECT_EQ(readFileMaybeGzip((d / "b.txt").string()), "plain text");
  std::ifstream raw(d / "sub" / "a.json.gz", std::ios::binary);
  EXPECT_EQ(raw.get(), 0x1f);
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(d)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2);
  EXPECT_NE(errorOf([&] {
              readFileMaybeGzip((d / "missing.json.gz").string());
            }).find("missing.json.gz: file not found"),
            std::string::npos);
  fs::remove_all(d);
}

TEST(GzipIo, AStreamThatInflatesPastTheLimitIsRefusedAsABomb) {
  const std::string zeros(8 << 20, '\0');  // 8 MiB of zeros compress to ~8 KiB
  const std::string z = gzipCompress(zeros);
  EXPECT_LT(z.size(), 64u << 10);
  EXPECT_EQ(gzipDecompress(z, "mem", 8 << 20).size(), zeros.size()) << "at the limit: fine";
  try {
    gzipDecompress(z, "bomb.json.gz", 1 << 20);
    ADD_FAILURE() << "inflating 8 MiB under a 1 MiB limit must fail";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bomb.json.gz: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("gzip bomb"), std::string::npos) << msg;
  }
}

// removeTree deletes a nested tree and a symbolic link in it, never the link's target, and
// does nothing for a path that does not exist; publishDirectory replaces an older target.
TEST(DirectoryTree, RemoveTreeAndPublishDirectory) {
  const fs::path d = tempDir("tree");
  const fs::path outside = d / "outside.txt";
  writeFileAtomic(outside.string(), "keep");
  const fs::path tree = d / "tree";
  writeFileAtomic((tree / "a" / "b" / "c.txt").string(), "x");
  writeFileAtomic((tree / "top.txt").string(), "y");
  fs::create_directory_symlink(d, tree / "a" / "loop");  // followed, it would delete d
  fs::create_symlink(outside, tree / "link.txt");
  removeTree(tree.string());
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(outside));
  EXPECT_NO_THROW(removeTree((d / "never-there").string()));

  const fs::path target = d / "published", staged = d / "staged";
  writeFileAtomic((target / "old.txt").string(), "old");
  freshDirectory(staged.string());
  writeFileAtomic((staged / "new.txt").string(), "new");
  publishDirectory(staged.string(), target.string());
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_FALSE(fs::exists(target / "old.txt"));
  EXPECT_EQ(readFileMaybeGzip((target / "new.txt").string()), "new");
  fs::remove_all(d);
}

}  // namespace
}  // namespace svln::sim
