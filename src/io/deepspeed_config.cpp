#include "io/deepspeed_config.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace svln::io {
namespace {

using json = nlohmann::json;

struct Ctx {
  const std::string& name;
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(name + ": " + what);
  }
};

bool isAuto(const json& v) { return v.is_string() && v.get<std::string>() == "auto"; }

int positiveInt(const Ctx& c, const json& v, const std::string& key, int fallback) {
  if (isAuto(v)) return fallback;
  if (!v.is_number_integer() || v.get<long long>() < 1)
    c.fail(key + ": expected a positive integer or \"auto\", got " + v.dump());
  return v.get<int>();
}

bool flag(const Ctx& c, const json& v, const std::string& key, bool fallback) {
  if (isAuto(v)) return fallback;
  if (!v.is_boolean()) c.fail(key + ": expected true, false or \"auto\", got " + v.dump());
  return v.get<bool>();
}

void expectObject(const Ctx& c, const json& v, const std::string& key) {
  if (!v.is_object()) c.fail(key + ": expected an object, got " + v.dump());
}

// bf16 / fp16 sections: {"enabled": ...} plus, for fp16, the loss-scaling knobs that only
// matter when fp16 is on (and fp16 on is rejected).
bool precisionSection(const Ctx& c, const json& sec, const std::string& key, bool fallback,
                      bool allow_loss_scale) {
  expectObject(c, sec, key);
  bool enabled = false;
  for (const auto& [k, v] : sec.items()) {
    if (k == "enabled") {
      enabled = flag(c, v, key + ".enabled", fallback);
    } else if (allow_loss_scale &&
               (k == "loss_scale" || k == "loss_scale_window" || k == "initial_scale_power" ||
                k == "hysteresis" || k == "min_loss_scale")) {
      if (!v.is_number() && !isAuto(v)) c.fail(key + "." + k + ": expected a number");
    } else {
      c.fail("unsupported key '" + key + "." + k + "'");
    }
  }
  return enabled;
}

void zeroSection(const Ctx& c, const json& sec, DeepSpeedConfig& out) {
  expectObject(c, sec, "zero_optimization");
  for (const auto& [k, v] : sec.items()) {
    const std::string key = "zero_optimization." + k;
    if (k == "stage") {
      if (!v.is_number_integer()) c.fail(key + ": expected an integer, got " + v.dump());
      out.zero_stage = v.get<int>();
      if (out.zero_stage == 3)
        c.fail(key + ": ZeRO stage 3 (parameter partitioning) is not supported; use 0, 1 or 2");
      if (out.zero_stage < 0 || out.zero_stage > 3) c.fail(key + ": must be 0, 1 or 2");
    } else if (k == "overlap_comm" || k == "contiguous_gradients") {
      // Our buckets are always contiguous and reduced synchronously after backward: both
      // are accepted for zero2.json compatibility and do not change results.
      if (!v.is_boolean()) c.fail(key + ": expected true or false");
    } else if (k == "reduce_bucket_size") {
      if (isAuto(v)) continue;  // 0 = DistContext's default bucket size
      if (!v.is_number() || v.get<double>() < 1) c.fail(key + ": expected a positive number");
      out.reduce_bucket_size = static_cast<long long>(std::llround(v.get<double>()));
    } else if (k == "sub_group_size") {
      // Only used by stage 3's parameter partitioning.
      if (!v.is_number()) c.fail(key + ": expected a number");
    } else {
      c.fail("unsupported key '" + key + "'");
    }
  }
}

}  // namespace

DeepSpeedConfig parseDeepSpeedConfig(const std::string& json_text, const std::string& name,
                                     int world_size, const DeepSpeedDefaults& defaults) {
  const Ctx c{name};
  if (world_size < 1) c.fail("world size must be >= 1");
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    c.fail(std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) c.fail("expected a JSON object at the top level");

  DeepSpeedConfig out;
  out.micro_batch_per_gpu = defaults.micro_batch_per_gpu;
  out.gradient_accumulation_steps = defaults.gradient_accumulation_steps;
  out.gradient_clipping = defaults.gradient_clipping;
  out.bf16 = defaults.bf16;
  const json* batch = nullptr;
  for (const auto& [k, v] : root.items()) {
    if (k == "train_micro_batch_size_per_gpu") {
      out.micro_batch_per_gpu = positiveInt(c, v, k, defaults.micro_batch_per_gpu);
    } else if (k == "gradient_accumulation_steps") {
      out.gradient_accumulation_steps = positiveInt(c, v, k, defaults.gradient_accumulation_steps);
    } else if (k == "train_batch_size") {
      batch = &v;
    } else if (k == "gradient_clipping") {
      if (isAuto(v)) continue;
      if (!v.is_number() || v.get<double>() < 0) c.fail(k + ": expected a number >= 0");
      out.gradient_clipping = v.get<double>();
    } else if (k == "bf16") {
      out.bf16 = precisionSection(c, v, k, defaults.bf16, false);
    } else if (k == "fp16") {
      // "auto" means fp16 only if the trainer asked for it, and it never does.
      if (precisionSection(c, v, k, false, true))
        c.fail("fp16.enabled: fp16 with loss scaling is not supported; use bf16");
    } else if (k == "zero_optimization") {
      zeroSection(c, v, out);
    } else {
      c.fail("unsupported key '" + k + "'");
    }
  }
  const int expected = out.micro_batch_per_gpu * out.gradient_accumulation_steps * world_size;
  out.train_batch_size = expected;
  if (batch && !isAuto(*batch)) {
    const int given = positiveInt(c, *batch, "train_batch_size", expected);
    if (given != expected)
      c.fail("train_batch_size " + std::to_string(given) + " != micro batch " +
             std::to_string(out.micro_batch_per_gpu) + " x accumulation " +
             std::to_string(out.gradient_accumulation_steps) + " x world size " +
             std::to_string(world_size) + " = " + std::to_string(expected));
  }
  spdlog::debug("{}: micro {} accum {} batch {} clip {} bf16 {} zero {}", name,
                out.micro_batch_per_gpu, out.gradient_accumulation_steps, out.train_batch_size,
                out.gradient_clipping, out.bf16, out.zero_stage);
  return out;
}

DeepSpeedConfig loadDeepSpeedConfig(const std::string& path, int world_size,
                                    const DeepSpeedDefaults& defaults) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open DeepSpeed config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseDeepSpeedConfig(ss.str(), path, world_size, defaults);
}

}  // namespace svln::io
