// Training checkpoints: what is saved comes back bit for bit (adapter, optimizer moments,
// torch RNG, trainer state with the exact baseline), `latest` follows the newest save, and a
// save that fails half-way leaves the previous checkpoint and pointer as they were.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <iterator>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "model/lora.h"
#include "model/peft.h"
#include "model/streamvln.h"
#include "rl/checkpoint_state.h"

namespace svln::rl {
namespace {
namespace fs = std::filesystem;

model::StreamVLN tinyModel() {
  torch::manual_seed(3);
  return model::StreamVLN(model::namedStreamVLNConfig("tiny"));
}

model::LoraConfig smallLora() {
  model::LoraConfig l;
  l.r = 4;
  l.alpha = 8;
  l.dropout = 0;
  l.seed = 5;
  return l;
}

std::vector<torch::Tensor> trainable(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

// A fixed pseudo-gradient per parameter (same on every model), then one AdamW step.
void stepWithFixedGrads(std::vector<torch::Tensor>& params, torch::optim::AdamW& opt, int salt) {
  opt.zero_grad();
  for (size_t i = 0; i < params.size(); ++i) {
    torch::manual_seed(1000 * salt + static_cast<int64_t>(i));
    params[i].mutable_grad() = torch::randn_like(params[i]);
  }
  opt.step();
}

fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string readAll(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(TrainCheckpoint, RoundTripRestoresAdapterOptimizerRngAndState) {
  const fs::path out = freshDir("svln_ckpt_roundtrip");
  model::StreamVLN a = tinyModel();
  model::applyLora(a.root(), smallLora());
  auto pa = trainable(a.root());
  torch::optim::AdamW oa(pa, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  stepWithFixedGrads(pa, oa, 1);
  stepWithFixedGrads(pa, oa, 2);

  TrainerState st;
  st.update = 2;
  st.episodes_drawn = 4;
  st.baseline_mean = 1.0 / 3.0;
  st.baseline_count = 3;
  st.nonfinite_streak = 1;
  std::mt19937_64 rng(9);
  rng();
  std::ostringstream rs;
  rs << rng;
  st.rng = rs.str();
  torch::manual_seed(77);
  const std::string dir = saveTrainCheckpoint(out.string(), st, a.root(), smallLora(), oa, "base");
  EXPECT_EQ(dir, (out / "checkpoint-2").string());
  EXPECT_EQ(latestCheckpoint(out.string()), dir);
  const torch::Tensor expected_draw = torch::rand({4});  // what the next draw was

  const TrainerState back = loadTrainerState(dir);
  EXPECT_EQ(back.update, 2);
  EXPECT_EQ(back.episodes_drawn, 4);
  EXPECT_EQ(back.baseline_mean, 1.0 / 3.0);  // exact: round-trip precision
  EXPECT_EQ(back.baseline_count, 3);
  EXPECT_EQ(back.nonfinite_streak, 1);
  std::mt19937_64 rng2;
  std::istringstream(back.rng) >> rng2;
  EXPECT_EQ(rng2(), rng());

  model::StreamVLN b = tinyModel();
  model::loadLoraAdapter(b.root(), dir);
  auto pb = trainable(b.root());
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  torch::optim::AdamW ob(pb, torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
  loadOptimizerAndRng(dir, ob);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_draw));
  // Same moments: one more identical step keeps the two models identical.
  stepWithFixedGrads(pa, oa, 3);
  stepWithFixedGrads(pb, ob, 3);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
}

TEST(TrainCheckpoint, AFailedSaveLeavesThePreviousCheckpointAndPointer) {
  const fs::path out = freshDir("svln_ckpt_failure");
  model::StreamVLN a = tinyModel();
  model::applyLora(a.root(), smallLora());
  auto pa = trainable(a.root());
  torch::optim::AdamW oa(pa, torch::optim::AdamWOptions(1e-2));
  TrainerState st;
  st.update = 1;
  saveTrainCheckpoint(out.string(), st, a.root(), smallLora(), oa, "base");
  const std::string before = readAll(out / "checkpoint-1" / "trainer_state.json");

  // Injected failure: the model handed to the second save has no adapters to write.
  model::StreamVLN bare = tinyModel();
  st.update = 2;
  EXPECT_ANY_THROW(saveTrainCheckpoint(out.string(), st, bare.root(), smallLora(), oa, "base"));
  EXPECT_EQ(readAll(out / "latest"), "checkpoint-1\n");
  EXPECT_FALSE(fs::exists(out / "checkpoint-2"));
  EXPECT_EQ(readAll(out / "checkpoint-1" / "trainer_state.json"), before);
}

TEST(TrainCheckpoint, ABrokenPointerNamesTheFile) {
  const fs::path out = freshDir("svln_ckpt_pointer");
  EXPECT_EQ(latestCheckpoint(out.string()), "");
  std::ofstream(out / "latest") << "checkpoint-9\n";
  try {
    latestCheckpoint(out.string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("latest: points at 'checkpoint-9'"), std::string::npos) << e.what();
  }
}

TEST(TrainCheckpoint, ImpossibleCountersInTheStateAreRefusedNotReplayed) {
  // A huge "episodes drawn" once made a resume replay the episode iterator for ever.
  const fs::path dir = freshDir("svln_ckpt_counters");
  auto write = [&](int64_t update, int64_t drawn) {
    std::ofstream(dir / "trainer_state.json")
        << nlohmann::json{{"update", update}, {"episodes_drawn", drawn}, {"baseline_mean", 0.0},
                          {"baseline_count", 0}, {"nonfinite_streak", 0}, {"rng", ""}}
               .dump();
  };
  write(3, 12);
  EXPECT_EQ(loadTrainerState(dir.string()).episodes_drawn, 12);
  for (const auto& [update, drawn] : {std::pair<int64_t, int64_t>{3, 1000000000000000},
                                      {-1, 0}, {2, -5}}) {
    write(update, drawn);
    try {
      loadTrainerState(dir.string());
      ADD_FAILURE() << update << " " << drawn;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("trainer_state.json: inconsistent counters"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(TrainCheckpoint, AFullDiskIsAnErrorNotAnAbort) {
  // A file-size limit makes writes fail the way a full disk does (EFBIG instead of ENOSPC);
  // libtorch's own archive writer aborted the process on it. In a child process, so the
  // limit stays there.
  const fs::path dir = freshDir("svln_ckpt_full");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &lim);
    torch::serialize::OutputArchive a;
    a.write("big", torch::ones({64, 64}));  // 16 KB of floats
    try {
      saveArchiveAtomic(a, (dir / "optimizer.pt").string());
    } catch (const std::runtime_error& e) {
      const bool named = std::string(e.what()).find("optimizer.pt") != std::string::npos;
      const bool leftovers = std::distance(fs::directory_iterator(dir), {}) != 0;
      _exit(named && !leftovers ? 0 : 2);
    }
    _exit(3);  // no error at all
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: the error did not name the file or left a temp file; "
                                       "3: no error";
}

}  // namespace
}  // namespace svln::rl
