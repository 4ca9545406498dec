// Checkpoint directories: config.json in both transformers styles and the StreamVLN
// fields, loading by Hugging Face names with missing/unexpected/mismatched tensors named,
// saving back in the same layout, parameter counts.
#include "model/checkpoint.h"
#include "model/streamvln.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace svln::model {
namespace {
using svln::test::errorOf;

const std::string kData = std::string(SVLN_TEST_DATA) + "/model/";

at::Tensor lastLogits(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids) {
  at::NoGradGuard g;
  Qwen2Inputs in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  return lm->forward(in, true).flatten();
}

void copyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
}

TEST(ModelConfig, BothTransformersStyles) {
  ModelConfig v5 = loadModelConfig(kData + "tied");
  EXPECT_DOUBLE_EQ(v5.text.rope_theta, 10000.0);  // rope_parameters.rope_theta
  EXPECT_TRUE(v5.text.tie_word_embeddings);
  EXPECT_EQ(v5.text.num_key_value_heads, 2);
  EXPECT_EQ(v5.text.headDim(), 16);
  EXPECT_EQ(v5.text.torch_dtype, "float32");  // 5.x writes "dtype"
  ModelConfig v4 = loadModelConfig(kData + "untied/config.json");
  EXPECT_DOUBLE_EQ(v4.text.rope_theta, 1e6);  // top-level rope_theta
  EXPECT_FALSE(v4.text.tie_word_embeddings);
  EXPECT_EQ(v4.text.torch_dtype, "bfloat16");
  EXPECT_FALSE(v4.mm.present);
  // Written back in 4.x style, it parses to the same values.
  ModelConfig again = parseModelConfig(modelConfigToJson(v5), "again");
  EXPECT_DOUBLE_EQ(again.text.rope_theta, 10000.0);
  EXPECT_EQ(again.text.vocab_size, 512);
}

TEST(ModelConfig, StreamVlnFieldsAndErrors) {
  ModelConfig c = parseModelConfig(R"({
    "architectures": ["StreamVLNForCausalLM"], "model_type": "llava_qwen",
    "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
    "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
    "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "eos_token_id": [151645, 151643],
    "mm_vision_tower": "google/siglip-so400m-patch14-384", "mm_hidden_size": 1152,
    "mm_projector_type": "mlp2x_gelu", "mm_spatial_pool_mode": "bilinear",
    "num_frames": 32, "num_history": 8, "num_future_steps": 4,
    "vision_config": {"hidden_size": 1152, "num_hidden_layers": 27, "patch_size": 14}})",
                                   "streamvln.json");
  EXPECT_TRUE(c.mm.present);
  EXPECT_EQ(c.mm.mm_spatial_pool_mode, "bilinear");
  EXPECT_EQ(c.mm.num_history, 8);
  EXPECT_EQ(c.mm.vision.num_hidden_layers, 27);
  EXPECT_EQ(c.text.eos_token_id, 151645);
  EXPECT_EQ(c.text.headDim(), 128);
  EXPECT_EQ(errorOf([] { parseModelConfig(R"({"model_type": "llama", "vocab_size": 1})", "c.json"); }),
            "c.json: model_type: unsupported architecture 'llama' (expected qwen2 / llava_qwen)");
  EXPECT_EQ(errorOf([] {
              parseModelConfig(R"({"model_type": "qwen2", "vocab_size": 8, "hidden_size": 8})",
                               "c.json");
            }),
            "c.json: intermediate_size: missing required key");
  EXPECT_EQ(errorOf([] { parseModelConfig("{", "c.json"); }).rfind("c.json: invalid JSON", 0), 0u);
  EXPECT_EQ(errorOf([] { loadModelConfig("/nonexistent/dir"); }),
            "/nonexistent/dir: cannot open config");

  // Sizes a model divides by, indexes with or allocates from: zero, negative or non-finite
  // values are errors naming the key, not an abort (or a silent accept) later.
  const std::string base = modelConfigToJson(namedStreamVLNConfig("tiny"));
  for (const auto& [key, value, want] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"num_attention_heads", "0", "num_attention_heads: must be positive"},
           {"max_position_embeddings", "-4", "max_position_embeddings: must be positive"},
           {"rope_theta", "0", "rope_theta: must be a positive finite number"},
           {"num_frames", "0", "num_frames: must be positive"},
           {"num_history", "-1", "num_history: must be >= 0"}}) {
    nlohmann::json j = nlohmann::json::parse(base);
    j[key] = nlohmann::json::parse(value);
    EXPECT_NE(errorOf([&] { parseModelConfig(j.dump(), "c.json"); }).find("c.json: " + want),
              std::string::npos)
        << key << " = " << value << ": " << errorOf([&] { parseModelConfig(j.dump(), "c.json"); });
  }
  nlohmann::json j = nlohmann::json::parse(base);
  j["vision_config"]["num_attention_heads"] = 0;
  EXPECT_NE(errorOf([&] { parseModelConfig(j.dump(), "c.json"); })
                .find("vision_config.num_attention_heads: must be positive"),
            std::string::npos)
      << errorOf([&] { parseModelConfig(j.dump(), "c.json"); });
  j = nlohmann::json::parse(base);
  j["vision_config"]["image_size"] = 7;
  EXPECT_NE(errorOf([&] { parseModelConfig(j.dump(), "c.json"); }).find("image_size: must be at least"),
            std::string::npos);
}

TEST(Checkpoint, ParameterCountsOfTheTinyModels) {
  // embed 512*64 + 2 layers * (q 64*64+64, k,v 64*32+32, o 64*64, mlp 3*64*128, 2 norms 64)
  // + final norm 64 = 32768 + 2 * 37120 + 64 = 107072; untied adds lm_head 512*64.
  Qwen2ForCausalLM tied = loadQwen2(kData + "tied");
  EXPECT_EQ(countParameters(*tied).total, 107072);
  EXPECT_EQ(countParameters(*tied).trainable, 107072);
  Qwen2ForCausalLM untied = loadQwen2(kData + "untied");
  EXPECT_EQ(countParameters(*untied).total, 139840);  // transformers' total_parameters
}

TEST(Checkpoint, MissingUnexpectedAndMismatchedTensorsAreNamed) {
  SafetensorsCheckpoint ref(kData + "tied");
  NamedTensors all;
  for (const auto& n : ref.names()) all.emplace_back(n, ref.load(n, at::kFloat));
  const std::string dir = svln::test::uniqueTempDir();
  copyFile(kData + "tied/config.json", dir + "/config.json");
  // Missing: drop one tensor.
  NamedTensors missing(all.begin(), all.end());
  missing.erase(std::remove_if(missing.begin(), missing.end(),
                               [](const auto& nt) { return nt.first == "model.norm.weight"; }),
                missing.end());
  saveSafetensors(dir + "/model.safetensors", missing);
  EXPECT_EQ(errorOf([&] { loadQwen2(dir); }), dir + ": missing tensors: model.norm.weight");
  // Unexpected: one extra tensor is reported, not fatal.
  NamedTensors extra = all;
  extra.emplace_back("model.rotary_emb.inv_freq", at::ones({8}));
  saveSafetensors(dir + "/model.safetensors", extra);
  LoadReport report;
  loadQwen2(dir, {}, nullptr, &report);
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"model.rotary_emb.inv_freq"});
  EXPECT_EQ(report.loaded.size(), all.size());
  // Shape mismatch.
  NamedTensors bad = all;
  for (auto& nt : bad)
    if (nt.first == "model.layers.1.self_attn.v_proj.bias") nt.second = at::zeros({31});
  saveSafetensors(dir + "/model.safetensors", bad);
  EXPECT_EQ(errorOf([&] { loadQwen2(dir); }),
            dir + ": tensor 'model.layers.1.self_attn.v_proj.bias': checkpoint shape [31] but "
                  "the model expects [32]");
}

TEST(Checkpoint, SaveReloadFp32IsExactBf16IsClose) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "untied");
  ModelConfig config = loadModelConfig(kData + "untied");
  at::Tensor ref = lastLogits(lm, {5, 17, 250});
  const std::string dir = svln::test::uniqueTempDir();
  saveCheckpoint(dir, config, {{"", lm.get()}}, at::kFloat);
  Qwen2ForCausalLM back = loadQwen2(dir);
  EXPECT_TRUE(lastLogits(back, {5, 17, 250}).equal(ref));
  EXPECT_EQ(loadModelConfig(dir).text.torch_dtype, "float32");
  // The weights came from bf16, so a bf16 save is lossless too.
  const std::string dir16 = svln::test::uniqueTempDir();
  saveCheckpoint(dir16, config, {{"", lm.get()}}, at::kBFloat16, /*max_shard_bytes=*/100000);
  SafetensorsCheckpoint files(dir16);
  EXPECT_EQ(files.info("lm_head.weight").dtype, "BF16");
  EXPECT_EQ(lastLogits(*new Qwen2ForCausalLM(loadQwen2(dir16)), {5, 17, 250}).sub(ref).abs()
                .max().item<double>(), 0.0);
  // Loading in bf16 runs the model in bf16.
  LoadOptions bf16;
  bf16.dtype = at::kBFloat16;
  Qwen2ForCausalLM lm16 = loadQwen2(dir16, bf16);
  at::Tensor l16 = lastLogits(lm16, {5, 17, 250});
  EXPECT_EQ(l16.scalar_type(), at::kBFloat16);
  EXPECT_LT((l16.to(at::kFloat) - ref).abs().max().item<double>(), 0.25);
}

}  // namespace
}  // namespace svln::model
