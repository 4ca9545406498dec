// The one place that reads the process environment for data-parallel rendezvous: the
// variables `streamvln launch`, torchrun or SLURM set, handed to rl::parseDistEnv as a map.
//
//   auto env = svln::rl::parseDistEnv(svln::cli::distEnvironment());
//   auto ctx = svln::rl::DistContext::init(env, svln::rl::DistBackend::kGloo);
#pragma once

#include <cstdlib>
#include <map>
#include <string>

namespace svln::cli {

inline std::map<std::string, std::string> distEnvironment() {
  static const char* const kKeys[] = {"RANK",         "WORLD_SIZE",    "LOCAL_RANK",
                                      "MASTER_ADDR",  "MASTER_PORT",   "SLURM_PROCID",
                                      "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NODELIST"};
  std::map<std::string, std::string> env;
  for (const char* key : kKeys)
    if (const char* v = std::getenv(key)) env[key] = v;
  return env;
}

}  // namespace svln::cli
