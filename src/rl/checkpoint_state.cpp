#include "rl/checkpoint_state.h"

#include "sim/gzip_io.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "model/peft.h"

namespace svln::rl {
namespace fs = std::filesystem;

std::string optimizerFileName(int rank) {
  return rank == 0 ? "optimizer.pt" : "optimizer.rank" + std::to_string(rank) + ".pt";
}

std::string checkpointName(int64_t update) { return "checkpoint-" + std::to_string(update); }

std::string checkpointBuildDir(const std::string& output_dir, const std::string& name) {
  return (fs::path(output_dir) / (name + ".tmp")).string();
}

void saveArchiveAtomic(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  sim::writeFileAtomic(path, bytes.str());
}

std::string saveTrainCheckpoint(const std::string& output_dir, const TrainerState& state,
                                torch::nn::Module& root, const model::LoraConfig& lora,
                                torch::optim::Optimizer& optimizer,
                                const std::string& base_model_path,
                                const std::function<void(const std::string&)>& before_publish,
                                const std::string& given_name) {
  const std::string name = given_name.empty() ? checkpointName(state.update) : given_name;
  const fs::path final_dir = fs::path(output_dir) / name;
  const fs::path tmp_dir = checkpointBuildDir(output_dir, name);
  sim::freshDirectory(tmp_dir.string());
  model::saveLoraAdapter(root, lora, tmp_dir.string(), base_model_path);
  {
    torch::serialize::OutputArchive a;
    optimizer.save(a);
    saveArchiveAtomic(a, (tmp_dir / "optimizer.pt").string());
  }
  {
    torch::serialize::OutputArchive a;
    a.write("torch_cpu", at::detail::getDefaultCPUGenerator().get_state());
    saveArchiveAtomic(a, (tmp_dir / "rng.pt").string());
  }
  nlohmann::json j;
  j["update"] = state.update;
  j["episodes_drawn"] = state.episodes_drawn;
  j["baseline_mean"] = state.baseline_mean;  // dumped with round-trip precision
  j["baseline_count"] = state.baseline_count;
  j["nonfinite_streak"] = state.nonfinite_streak;
  j["rng"] = state.rng;
  j["world_size"] = state.world_size;
  j["zero_stage"] = state.zero_stage;
  sim::writeFileAtomic((tmp_dir / "trainer_state.json").string(), j.dump(2) + "\n");
  if (before_publish) before_publish(tmp_dir.string());
  // Replace an older save of the same update (a rerun), then publish.
  sim::publishDirectory(tmp_dir.string(), final_dir.string());
  sim::writeFileAtomic((fs::path(output_dir) / "latest").string(), name + "\n");
  spdlog::info("checkpoint {}", final_dir.string());
  return final_dir.string();
}

std::string latestCheckpoint(const std::string& output_dir) {
  const fs::path pointer = fs::path(output_dir) / "latest";
  if (!fs::exists(pointer)) return "";
  std::ifstream f(pointer);
  std::string name;
  std::getline(f, name);
  const fs::path dir = fs::path(output_dir) / name;
  if (name.empty() || !fs::is_directory(dir))
    throw std::runtime_error(pointer.string() + ": points at '" + name +
                             "', which is not a checkpoint directory");
  return dir.string();
}

TrainerState loadTrainerState(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/trainer_state.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path + ": cannot open");
  nlohmann::json j;
  try {
    f >> j;
    TrainerState s;
    s.update = j.at("update").get<int64_t>();
    s.episodes_drawn = j.at("episodes_drawn").get<int64_t>();
    s.baseline_mean = j.at("baseline_mean").get<double>();
    s.baseline_count = j.at("baseline_count").get<int64_t>();
    s.nonfinite_streak = j.at("nonfinite_streak").get<int>();
    s.rng = j.at("rng").get<std::string>();
    s.world_size = j.value("world_size", 1);  // absent in single-process checkpoints
    s.zero_stage = j.value("zero_stage", 0);
    // Each update draws at most 10^6 episodes (--num_episodes_per_update's range); the
    // trainer checks the exact count against its settings.
    if (s.update < 0 || s.update > (int64_t{1} << 40) || s.episodes_drawn < 0 ||
        s.episodes_drawn > s.update * 1000000 ||
        s.baseline_count < 0 || s.nonfinite_streak < 0 || !std::isfinite(s.baseline_mean))
      throw std::runtime_error(path + ": inconsistent counters (update " +
                               std::to_string(s.update) + ", episodes_drawn " +
                               std::to_string(s.episodes_drawn) + ")");
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

void loadOptimizerAndRng(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer,
                         int rank, c10::Device device) {
  const std::string opt_path = checkpoint_dir + "/" + optimizerFileName(rank);
  const std::string rng_path = checkpoint_dir + "/rng.pt";
  try {
    torch::serialize::InputArchive a;
    a.load_from(opt_path, device);
    optimizer.load(a);
  } catch (const c10::Error& e) {
    throw std::runtime_error(opt_path + ": cannot load the optimizer state: " + e.what_without_backtrace());
  }
  try {
    torch::serialize::InputArchive a;
    a.load_from(rng_path);
    torch::Tensor state;
    a.read("torch_cpu", state);
    at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    gen.set_state(state);
  } catch (const c10::Error& e) {
    throw std::runtime_error(rng_path + ": cannot load the RNG state: " + e.what_without_backtrace());
  }
}

}  // namespace svln::rl
