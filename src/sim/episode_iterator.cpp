#include "sim/episode_iterator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace svln::sim {

EpisodeIterator::EpisodeIterator(std::vector<Episode> episodes, bool shuffle, uint64_t seed,
                                 bool cycle)
    : episodes_(std::move(episodes)), shuffle_(shuffle), cycle_(cycle), rng_(seed) {
  plan();
}

EpisodeIterator EpisodeIterator::fromConfig(const HabitatConfig& cfg, const std::string& split,
                                            bool shuffle, bool cycle) {
  std::vector<Episode> all;
  for (const std::string& path : cfg.episodesPaths(split)) {
    EpisodeDataset d = loadEpisodes(path);
    if (cfg.ndtw_reference == NdtwReference::kGt) {
      size_t missing = 0;
      for (const Episode& e : d.episodes) missing += e.gt_locations.empty();
      if (missing > 0)
        throw std::runtime_error(
            path + ": " + std::to_string(missing) + " of " + std::to_string(d.episodes.size()) +
            " episodes have no ground truth in " + gtPathFor(path) +
            " (missing file or entries); nDTW and SDTW are measured against the gt locations, "
            "as VLN-CE does; --ndtw_reference reference_path measures against reference_path");
    }
    for (Episode& e : d.episodes) {
      const auto& langs = cfg.languages;
      const auto& scenes = cfg.content_scenes;
      const std::string scene = std::filesystem::path(e.scene_id).stem().string();
      if (!scenes.empty() && std::find(scenes.begin(), scenes.end(), scene) == scenes.end())
        continue;
      // R2R-style episodes carry no language: the filter applies to those that do.
      if (!langs.empty() && !e.instruction.language.empty() &&
          std::find(langs.begin(), langs.end(), e.instruction.language) == langs.end())
        continue;
      all.push_back(std::move(e));
    }
  }
  spdlog::info("split {}: {} episodes", split.empty() ? cfg.split : split, all.size());
  return EpisodeIterator(std::move(all), shuffle, static_cast<uint64_t>(cfg.seed), cycle);
}

void EpisodeIterator::plan() {
  // Group by scene in first-appearance order, so an unshuffled pass keeps file order within
  // each scene.
  std::vector<std::string> scene_order;
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < episodes_.size(); ++i) {
    auto [it, fresh] = groups.try_emplace(episodes_[i].scene_id);
    if (fresh) scene_order.push_back(episodes_[i].scene_id);
    it->second.push_back(i);
  }
  if (shuffle_) std::shuffle(scene_order.begin(), scene_order.end(), rng_);
  order_.clear();
  for (const std::string& s : scene_order) {
    std::vector<size_t>& g = groups[s];
    if (shuffle_) std::shuffle(g.begin(), g.end(), rng_);
    order_.insert(order_.end(), g.begin(), g.end());
  }
  pos_ = 0;
}

const Episode* EpisodeIterator::next() {
  if (episodes_.empty()) return nullptr;
  if (pos_ == order_.size()) {
    if (!cycle_) return nullptr;
    ++epoch_;
    plan();
  }
  return &episodes_[order_[pos_++]];
}

}  // namespace svln::sim
