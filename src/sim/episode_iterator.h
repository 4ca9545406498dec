// Walks the episodes of a dataset split the way Habitat's EpisodeIterator does: episodes of
// one scene stay together (fewer scene switches), scene groups and the episodes inside
// them are shuffled with an explicit seed, and `cycle` starts a freshly shuffled epoch
// when the split is used up.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sim/episode.h"
#include "sim/habitat_config.h"

namespace svln::sim {

class EpisodeIterator {
 public:
  EpisodeIterator(std::vector<Episode> episodes, bool shuffle, uint64_t seed, bool cycle);

  // Loads every role file of `split` (cfg.split when empty) and keeps the episodes whose
  // scene (file stem of scene_id) is in cfg.content_scenes and whose instruction language
  // is in cfg.languages (each: all when empty).
  static EpisodeIterator fromConfig(const HabitatConfig& cfg, const std::string& split,
                                    bool shuffle, bool cycle);

  // The next episode, or nullptr when the split is exhausted and cycle is off.
  const Episode* next();
  size_t size() const { return episodes_.size(); }
  int epoch() const { return epoch_; }
  const std::vector<Episode>& episodes() const { return episodes_; }

 private:
  void plan();

  std::vector<Episode> episodes_;
  std::vector<size_t> order_;
  size_t pos_ = 0;
  bool shuffle_;
  bool cycle_;
  int epoch_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace svln::sim
