// Live W&B upload against a fake W&B server on 127.0.0.1 (no network): the upsertBucket
// mutation with basic auth, one file_stream post per history row with increasing offsets,
// the summary and the completion; a failing server leaves the run offline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "io/wandb_log.h"
#include "io/wandb_run.h"
#include "io/wandb_uploader.h"

namespace svln::io {
namespace {
namespace fs = std::filesystem;

struct Request {
  std::string path, authorization, body;
};

// One request per connection (answers with Connection: close).
class FakeWandbServer {
 public:
  // fail_status != 0: every answer is that HTTP error (only file_stream's when
  // fail_stream_only).
  explicit FakeWandbServer(int fail_status = 0, bool fail_stream_only = false)
      : fail_status_(fail_status), fail_stream_only_(fail_stream_only) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 8) != 0)
      throw std::runtime_error(std::string("fake server: ") + std::strerror(errno));
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeWandbServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  static std::string header(const std::string& head, const std::string& name) {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    const size_t start = head.find_first_not_of(' ', at + name.size() + 3);
    return head.substr(start, head.find("\r\n", start) - start);
  }

  void serve() {
    for (;;) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        close(c);
        continue;
      }
      const std::string head = in.substr(0, head_end);
      std::string body = in.substr(head_end + 4);
      if (header(head, "expect") == "100-continue") {
        const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)!write(c, cont.data(), cont.size());
      }
      const size_t want = std::stoul("0" + header(head, "content-length"));
      while (body.size() < want) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        body.append(buf, static_cast<size_t>(n));
      }
      Request r;
      const size_t sp = head.find(' ');
      r.path = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
      r.authorization = header(head, "authorization");
      r.body = body;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
      }
      std::string status = "200 OK", answer = R"({"exitcode": null, "limits": {}})";
      if (fail_status_ && (!fail_stream_only_ || r.path != "/graphql")) {
        status = std::to_string(fail_status_) + " Unauthorized";
        answer = R"({"errors": [{"message": "user is not logged in"}]})";
      } else if (r.path == "/graphql") {
        const auto q = nlohmann::json::parse(body);
        const std::string name = q["variables"]["name"];
        answer = nlohmann::json{{"data",
                                 {{"upsertBucket",
                                   {{"bucket",
                                     {{"id", "QnVja2V0OjE="},
                                      {"name", name},
                                      {"project",
                                       {{"name", q["variables"]["project"]},
                                        {"entity", {{"name", "fake-entity"}}}}}}},
                                    {"inserted", true}}}}}}
                     .dump();
      }
      const std::string reply = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" +
                                "Content-Length: " + std::to_string(answer.size()) +
                                "\r\nConnection: close\r\n\r\n" + answer;
      (void)!write(c, reply.data(), reply.size());
      close(c);
    }
  }

  int fail_status_;
  bool fail_stream_only_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(WandbUpload, StreamsHistorySummaryAndExitToTheServer) {
  if (!wandbUploadAvailable()) GTEST_SKIP() << "built without libcurl";
  FakeWandbServer server;
  const fs::path root = freshDir("svln_wandb_upload");
  const WandbSettings s = resolveWandbSettings(
      {{"WANDB_API_KEY", "secret"}, {"WANDB_BASE_URL", server.url()}, {"WANDB_RUN_ID", "live0001"}},
      root.string(), "streamvln_hybrid", "", "tiny");
  auto run = WandbRun::start(s, {{"learning_rate", "0.001"}, {"phase", "phase1_stop"}}, {});
  ASSERT_TRUE(run->uploading());
  EXPECT_EQ(fs::path(run->runDir()).filename().string().rfind("run-", 0), 0u);  // not offline-
  run->log(1, {{"success_rate", 0.25}});
  run->log(2, {{"success_rate", 0.5}});
  run->finish(0);
  EXPECT_TRUE(run->uploading());

  const auto req = server.requests();
  ASSERT_EQ(req.size(), 5u);
  EXPECT_EQ(req[0].path, "/graphql");
  EXPECT_EQ(req[0].authorization, "Basic YXBpOnNlY3JldA==");  // base64("api:secret")
  const auto q = nlohmann::json::parse(req[0].body);
  EXPECT_NE(q["query"].get<std::string>().find("upsertBucket(input: {modelName: $project"),
            std::string::npos);
  EXPECT_EQ(q["variables"]["name"], "live0001");
  EXPECT_EQ(q["variables"]["project"], "streamvln_hybrid");
  EXPECT_TRUE(q["variables"]["entity"].is_null());
  EXPECT_EQ(q["variables"]["displayName"], "tiny");
  const auto cfg = nlohmann::json::parse(q["variables"]["config"].get<std::string>());
  EXPECT_DOUBLE_EQ(cfg["learning_rate"]["value"].get<double>(), 0.001);
  EXPECT_EQ(cfg["phase"]["value"], "phase1_stop");

  const std::string stream = "/files/fake-entity/streamvln_hybrid/live0001/file_stream";
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(req[i].path, stream) << i;
  for (int i = 0; i < 2; ++i) {
    const auto h = nlohmann::json::parse(req[1 + i].body)["files"]["wandb-history.jsonl"];
    EXPECT_EQ(h["offset"].get<int>(), i);
    const auto row = nlohmann::json::parse(h["content"][0].get<std::string>());
    EXPECT_EQ(row["_step"].get<int>(), i + 1);
    EXPECT_DOUBLE_EQ(row["success_rate"].get<double>(), 0.25 * (i + 1));
    EXPECT_TRUE(row.contains("_runtime") && row.contains("_timestamp"));
  }
  const auto summary = nlohmann::json::parse(
      nlohmann::json::parse(req[3].body)["files"]["wandb-summary.json"]["content"][0]
          .get<std::string>());
  EXPECT_DOUBLE_EQ(summary["success_rate"].get<double>(), 0.5);
  EXPECT_EQ(nlohmann::json::parse(req[4].body),
            (nlohmann::json{{"complete", true}, {"exitcode", 0}}));
  EXPECT_EQ(run->syncCommand().find("--entity fake-entity"),
            std::string("WANDB_BASE_URL=" + server.url() + " wandb sync ").size());
}

TEST(WandbUpload, ARefusingServerLeavesAnOfflineRun) {
  if (!wandbUploadAvailable()) GTEST_SKIP() << "built without libcurl";
  FakeWandbServer server(401);
  const fs::path root = freshDir("svln_wandb_upload_401");
  const WandbSettings s = resolveWandbSettings(
      {{"WANDB_API_KEY", "wrong"}, {"WANDB_BASE_URL", server.url()}, {"WANDB_RUN_ID", "refused1"}},
      root.string(), "p", "", "");
  auto run = WandbRun::start(s, {}, {});
  EXPECT_FALSE(run->uploading());
  EXPECT_EQ(fs::path(run->runDir()).filename().string().rfind("offline-run-", 0), 0u);
  run->log(1, {{"x", 1.0}});
  run->finish(0);
  EXPECT_EQ(server.requests().size(), 1u);             // only the refused upsertBucket
  EXPECT_GE(readWandbLog(run->logPath()).size(), 6u);  // everything is still on disk
}

TEST(WandbUpload, AStreamFailureMidRunKeepsEverythingOnDisk) {
  if (!wandbUploadAvailable()) GTEST_SKIP() << "built without libcurl";
  FakeWandbServer server(500, /*fail_stream_only=*/true);
  const fs::path root = freshDir("svln_wandb_upload_500");
  const WandbSettings s = resolveWandbSettings(
      {{"WANDB_API_KEY", "k"}, {"WANDB_BASE_URL", server.url()}, {"WANDB_RUN_ID", "broken01"}},
      root.string(), "p", "", "");
  auto run = WandbRun::start(s, {}, {});
  ASSERT_TRUE(run->uploading());
  run->log(1, {{"x", 1.0}});
  EXPECT_FALSE(run->uploading());  // stopped after the first failed post
  run->log(2, {{"x", 2.0}});
  run->finish(0);
  EXPECT_EQ(server.requests().size(), 2u);  // upsertBucket + the failed row, nothing after
  // header, run, files, 2 x history, summary, exit, final: the whole run for `wandb sync`.
  EXPECT_EQ(readWandbLog(run->logPath()).size(), 8u);
}

TEST(WandbUpload, UploaderErrorsNameTheUrl) {
  if (!wandbUploadAvailable()) GTEST_SKIP() << "built without libcurl";
  FakeWandbServer server(401);
  WandbUploader up(server.url(), "k", 5);
  try {
    up.upsertRun("", "p", "r", "n", "{}");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("W&B " + server.url() + "/graphql: HTTP 401", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace svln::io
