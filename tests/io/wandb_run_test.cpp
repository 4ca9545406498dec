// W&B without the client: the protobuf encoder against the protobuf docs' bytes, the
// transaction log's framing (header, CRC-32 of type + data, FIRST/MIDDLE/LAST across
// 32 KiB blocks, zero padding) read back by our own reader, the WANDB_* environment, and
// an offline run directory as `wandb sync` expects it.
#include "io/wandb_run.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>

#include "io/protobuf_message.h"
#include "io/wandb_log.h"

namespace svln::io {
namespace {
namespace fs = std::filesystem;

std::string readBytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(ProtoMessage, EncodesAsTheProtobufDocs) {
  // developers.google.com/protocol-buffers/docs/encoding: field 1 = 150 -> 08 96 01;
  // field 2 = "testing" -> 12 07 74 65 73 74 69 6e 67.
  EXPECT_EQ(ProtoMessage().varint(1, 150).bytes(), std::string("\x08\x96\x01"));
  EXPECT_EQ(ProtoMessage().string(2, "testing").bytes(), std::string("\x12\x07testing"));
  // field 16 needs a two-byte key: (16 << 3 | 2) = 130 -> 82 01.
  EXPECT_EQ(ProtoMessage().string(16, "1").bytes(), std::string("\x82\x01\x01"
                                                                "1",
                                                                4));
  // An empty nested message is still present (a oneof member): key, length 0.
  EXPECT_EQ(ProtoMessage().message(20, ProtoMessage()).bytes(), std::string("\xa2\x01\x00", 3));
  const auto f = parseProtoFields(ProtoMessage().int64(1, -1).string(3, "x").bytes());
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(static_cast<int64_t>(f[0].varint), -1);  // ten-byte varint of two's complement
  EXPECT_EQ(f[1].bytes, "x");
  EXPECT_THROW(parseProtoFields(std::string("\x12\x05"
                                            "ab",
                                            4)),
               std::runtime_error);
}

TEST(WandbLog, ChunkCrcIsZlibCrc32OfTypeThenData) {
  // Python: zlib.crc32(b"hello", zlib.crc32(b"\x01")) == 0x8aac239d (datastore.py's check).
  EXPECT_EQ(wandbChunkCrc(1, "hello", 5), 0x8aac239du);
  EXPECT_EQ(wandbChunkCrc(4, "", 0), 0xd56f2b94u);  // zlib.crc32(b"\x04")
}

TEST(WandbLog, RecordsSplitAcrossBlocksReadBackWithPaddingAndCrcs) {
  const fs::path dir = freshDir("svln_wandb_log");
  const fs::path path = dir / "run-test.wandb";
  // Record 1 leaves 3 bytes in block 0 (7 header + 7 chunk + 32751 = 32765): the writer
  // pads them with zeros. Record 2 (70000 B) is FIRST + MIDDLE + LAST; record 3 is FULL.
  const std::string r1(32751, 'a');
  std::string r2(70000, '\0');
  for (size_t i = 0; i < r2.size(); ++i) r2[i] = static_cast<char>(i * 7 + 3);
  const std::string r3 = "tail";
  {
    WandbLogWriter w(path.string());
    w.append(r1);
    EXPECT_EQ(w.size(), 32765u);
    w.append(r2);
    w.append(r3);
    w.close();
  }
  const std::string bytes = readBytes(path);
  EXPECT_EQ(bytes.substr(0, 7), std::string(":W&B\xe1\xbe\x00", 7));
  EXPECT_EQ(bytes.substr(32765, 3), std::string(3, '\0'));
  EXPECT_EQ(static_cast<uint8_t>(bytes[32768 + 6]), 2);      // FIRST at block 1
  EXPECT_EQ(static_cast<uint8_t>(bytes[2 * 32768 + 6]), 3);  // MIDDLE fills block 2
  EXPECT_EQ(static_cast<uint8_t>(bytes[3 * 32768 + 6]), 4);  // LAST in block 3
  // 70000 = 32761 + 32761 + 4478; then "tail" as FULL right after.
  EXPECT_EQ(bytes.size(), 3 * 32768 + 7 + 4478 + 7 + 4);
  const auto records = readWandbLog(path.string());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], r1);
  EXPECT_EQ(records[1], r2);
  EXPECT_EQ(records[2], r3);

  std::string corrupt = bytes;
  corrupt[2 * 32768 + 100] ^= 1;
  std::ofstream(dir / "corrupt.wandb", std::ios::binary) << corrupt;
  try {
    readWandbLog((dir / "corrupt.wandb").string());
    FAIL() << "corruption not detected";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CRC mismatch at byte 65536"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(WandbLogWriter{path.string()}, std::runtime_error);  // never overwrites
}

TEST(WandbSettings, ReadsTheEnvironmentAsTheClientDoes) {
  auto resolve = [](const std::map<std::string, std::string>& env) {
    return resolveWandbSettings(env, "/runs/a", "proj", "", "");
  };
  WandbSettings s = resolve({});
  EXPECT_EQ(s.mode, WandbMode::kOnline);
  EXPECT_EQ(s.root_dir, "/runs/a");
  EXPECT_EQ(s.base_url, "https://api.wandb.ai");
  EXPECT_EQ(resolve({{"WANDB_MODE", "offline"}}).mode, WandbMode::kOffline);
  EXPECT_EQ(resolve({{"WANDB_MODE", "dryrun"}}).mode, WandbMode::kOffline);
  EXPECT_EQ(resolve({{"WANDB_MODE", "Disabled"}}).mode, WandbMode::kDisabled);
  s = resolve({{"WANDB_DIR", "/scratch"},
               {"WANDB_BASE_URL", "http://localhost:8080/"},
               {"WANDB_API_KEY", "k"},
               {"WANDB_ENTITY", "team"},
               {"WANDB_RUN_ID", "run_1-a"}});
  EXPECT_EQ(s.root_dir, "/scratch");
  EXPECT_EQ(s.base_url, "http://localhost:8080");
  EXPECT_EQ(s.api_key, "k");
  EXPECT_EQ(s.entity, "team");
  EXPECT_EQ(s.run_id, "run_1-a");
  EXPECT_EQ(resolveWandbSettings({{"WANDB_ENTITY", "team"}}, "d", "p", "me", "").entity, "me");
  auto error = [&](const std::map<std::string, std::string>& env) {
    try {
      resolve(env);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error({{"WANDB_MODE", "sometimes"}}),
            "environment WANDB_MODE: 'sometimes' is not one of online, offline, disabled");
  EXPECT_EQ(error({{"WANDB_BASE_URL", "api.wandb.ai"}}).rfind("environment WANDB_BASE_URL:", 0),
            0u);
  EXPECT_EQ(error({{"WANDB_RUN_ID", "a/b"}}).rfind("environment WANDB_RUN_ID:", 0), 0u);
}

TEST(WandbSettings, ConfigValuesKeepTheirTypes) {
  EXPECT_EQ(configValueJson("0.001"), "0.001");
  EXPECT_EQ(configValueJson("42"), "42");
  EXPECT_EQ(configValueJson("true"), "true");
  EXPECT_EQ(configValueJson("cosine"), "\"cosine\"");
  EXPECT_EQ(configValueJson("r=4 alpha=8"), "\"r=4 alpha=8\"");
  EXPECT_EQ(configValueJson(""), "\"\"");
}

// Record type (the oneof field number) of each record, and the parsed body.
std::vector<std::pair<int, std::vector<ProtoField>>> recordBodies(const std::string& path) {
  std::vector<std::pair<int, std::vector<ProtoField>>> out;
  int64_t expect_num = 1;
  for (const std::string& r : readWandbLog(path)) {
    const auto fields = parseProtoFields(r);
    const ProtoField* num = findProtoField(fields, 1);
    EXPECT_TRUE(num && static_cast<int64_t>(num->varint) == expect_num++);
    for (const ProtoField& f : fields)
      if (f.number != 1) out.emplace_back(f.number, parseProtoFields(f.bytes));
  }
  return out;
}

std::map<std::string, std::string> itemMap(const std::vector<ProtoField>& body) {
  std::map<std::string, std::string> m;
  for (const ProtoField* item : findProtoFields(body, 1)) {
    const auto f = parseProtoFields(item->bytes);
    m[findProtoField(f, 1)->bytes] = findProtoField(f, 16)->bytes;
  }
  return m;
}

TEST(WandbRun, OfflineRunHasTheClientsLayoutAndRecordSequence) {
  const fs::path root = freshDir("svln_wandb_run");
  WandbSettings s = resolveWandbSettings({{"WANDB_MODE", "offline"}, {"WANDB_RUN_ID", "abc123xy"}},
                                         root.string(), "streamvln_hybrid", "team", "");
  auto run = WandbRun::start(s, {{"learning_rate", "0.001"}, {"phase", "phase1_stop"}},
                             {"train", "--use_wandb"});
  ASSERT_TRUE(run);
  run->log(1, {{"success_rate", 0.25}, {"grpo_loss", -0.5}});
  run->logLine("update 1 | SR 0.25");
  run->log(2, {{"success_rate", 0.5}, {"grpo_loss", -0.25}});
  run->finish(0);

  const fs::path dir(run->runDir());
  EXPECT_EQ(dir.parent_path(), root / "wandb");
  EXPECT_TRUE(
      std::regex_match(dir.filename().string(), std::regex(R"(offline-run-\d{8}_\d{6}-abc123xy)")));
  EXPECT_EQ(fs::path(run->logPath()), dir / "run-abc123xy.wandb");
  for (const char* f : {"config.yaml", "wandb-summary.json", "wandb-metadata.json", "output.log"})
    EXPECT_TRUE(fs::exists(dir / "files" / f)) << f;
  EXPECT_EQ(run->syncCommand(), "wandb sync --entity team " + dir.string());

  const YAML::Node cfg = YAML::LoadFile((dir / "files" / "config.yaml").string());
  EXPECT_DOUBLE_EQ(cfg["learning_rate"]["value"].as<double>(), 0.001);
  EXPECT_EQ(cfg["phase"]["value"].as<std::string>(), "phase1_stop");
  const auto summary = nlohmann::json::parse(readBytes(dir / "files" / "wandb-summary.json"));
  EXPECT_DOUBLE_EQ(summary["success_rate"].get<double>(), 0.5);
  EXPECT_EQ(summary["_step"].get<int>(), 2);
  EXPECT_TRUE(summary["_wandb"].contains("runtime"));
  const auto meta = nlohmann::json::parse(readBytes(dir / "files" / "wandb-metadata.json"));
  EXPECT_EQ(meta["args"], nlohmann::json({"train", "--use_wandb"}));
  EXPECT_TRUE(meta.contains("startedAt") && meta.contains("host"));
  EXPECT_EQ(readBytes(dir / "files" / "output.log"), "update 1 | SR 0.25\n");

  // header, run, files, history, output_raw, history, summary, exit, final.
  const auto recs = recordBodies(run->logPath());
  std::vector<int> types;
  for (const auto& r : recs) types.push_back(r.first);
  EXPECT_EQ(types, (std::vector<int>{21, 17, 6, 2, 13, 2, 3, 18, 20}));
  const auto& runrec = recs[1].second;
  EXPECT_EQ(findProtoField(runrec, 1)->bytes, "abc123xy");
  EXPECT_EQ(findProtoField(runrec, 2)->bytes, "team");
  EXPECT_EQ(findProtoField(runrec, 3)->bytes, "streamvln_hybrid");
  EXPECT_EQ(findProtoField(runrec, 8)->bytes.rfind("streamvln_hybrid-", 0), 0u);
  EXPECT_EQ(itemMap(parseProtoFields(findProtoField(runrec, 4)->bytes))["phase"],
            "\"phase1_stop\"");
  const auto h1 = itemMap(recs[3].second);
  EXPECT_EQ(h1.at("success_rate"), "0.25");
  EXPECT_EQ(h1.at("grpo_loss"), "-0.5");
  EXPECT_EQ(h1.at("_step"), "1");
  EXPECT_TRUE(h1.count("_runtime") && h1.count("_timestamp"));
  EXPECT_EQ(parseProtoFields(findProtoField(recs[3].second, 2)->bytes)[0].varint, 1u);
  EXPECT_EQ(findProtoField(recs[4].second, 3)->bytes, "update 1 | SR 0.25\n");
  EXPECT_EQ(itemMap(recs[6].second).at("success_rate"), "0.5");
  EXPECT_EQ(findProtoField(recs[7].second, 1), nullptr);  // exit_code 0 is proto3's default
}

TEST(WandbRun, DisabledWritesNothingAndAnAbandonedRunExitsWithOne) {
  const fs::path root = freshDir("svln_wandb_disabled");
  EXPECT_EQ(
      WandbRun::start(
          resolveWandbSettings({{"WANDB_MODE", "disabled"}}, root.string(), "p", "", ""), {}, {}),
      nullptr);
  EXPECT_FALSE(fs::exists(root / "wandb"));
  std::string log;
  {
    auto run = WandbRun::start(
        resolveWandbSettings({{"WANDB_MODE", "offline"}}, root.string(), "p", "", "n"), {}, {});
    EXPECT_EQ(run->runId().size(), 8u);
    log = run->logPath();
    run->log(1, {{"x", 1.0}});
  }  // destroyed without finish(): the run died
  const auto recs = recordBodies(log);
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[recs.size() - 2].first, 18);
  EXPECT_EQ(findProtoField(recs[recs.size() - 2].second, 1)->varint, 1u);
  EXPECT_EQ(recs.back().first, 20);
}

}  // namespace
}  // namespace svln::io
