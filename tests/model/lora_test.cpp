// LoRA as PEFT does it: the trainable-count formula (13.9 M at 7B), the adapter that
// peft 0.21 saved loads and reproduces its logits, our saved adapter has PEFT's keys,
// merging equals the adapted model, and disabling gives the base model back.
#include "model/lora.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/peft.h"
#include "test_util.h"

namespace svln::model {
namespace {

const std::string kData = std::string(SVLN_TEST_DATA) + "/model/";

at::Tensor lastLogits(Qwen2ForCausalLM& lm, const std::vector<int64_t>& ids) {
  at::NoGradGuard g;
  Qwen2Inputs in;
  in.input_ids = at::tensor(ids, at::kLong).unsqueeze(0);
  return lm->forward(in, true).flatten();
}

at::Tensor goldenLast(const nlohmann::json& seq) {
  return at::tensor(seq["logits"].back().get<std::vector<float>>(), at::kFloat);
}

nlohmann::json peftGolden() {
  std::ifstream in(kData + "peft/golden.json");
  return nlohmann::json::parse(in);
}

TEST(Lora, TrainableCountFormulaTinyAndSevenB) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  LoraConfig cfg;
  cfg.r = 4;
  cfg.alpha = 8;
  auto names = applyLora(*lm, cfg);
  EXPECT_EQ(names.size(), 4u);  // q_proj, v_proj in 2 layers
  EXPECT_EQ(names[0], "model.layers.0.self_attn.q_proj");
  // Per layer: q 4*(64+64) + v 4*(64+32) = 896; two layers.
  ParamCount n = countParameters(*lm);
  EXPECT_EQ(n.trainable, 1792);
  EXPECT_EQ(n.total, 107072 + 1792);
  ModelConfig tiny = loadModelConfig(kData + "tied");
  EXPECT_EQ(loraTrainableCount(tiny, cfg), 1792);
  // The released 7B StreamVLN, r=32 on q_proj/v_proj of Qwen2 and SigLIP:
  // 28 * 32 * (3584+3584 + 3584+512) + 26 * 32 * (1152+1152) * 2 = 13,926,400.
  ModelConfig big;
  big.mm.present = true;
  EXPECT_EQ(loraTrainableCount(big, LoraConfig{}), 13926400);
  LoraConfig wide;
  wide.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj"};
  EXPECT_EQ(loraTrainableCount(tiny, LoraConfig{wide.r, wide.alpha, 0.0, wide.target_modules}),
            2 * 32 * ((64 + 64) * 2 + (64 + 32) * 2));
}

TEST(Lora, FreshAdapterIsANoOpAndBaseIsFrozen) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  at::Tensor before = lastLogits(lm, {5, 17, 250});
  applyLora(*lm, LoraConfig{});
  EXPECT_TRUE(lastLogits(lm, {5, 17, 250}).equal(before));  // B = 0
  for (const auto& p : lm->named_parameters())
    EXPECT_EQ(p.value().requires_grad(), p.key().find(".lora_") != std::string::npos) << p.key();
}

TEST(Lora, LoadsThePeftAdapterAndMatchesItsLogits) {
  nlohmann::json golden = peftGolden();
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  auto names = loadLoraAdapter(*lm, kData + "peft");
  EXPECT_EQ(names.size(), 4u);
  for (const auto& seq : golden["sequences"]) {
    auto ids = seq["ids"].get<std::vector<int64_t>>();
    double err = (lastLogits(lm, ids) - goldenLast(seq)).abs().max().item<double>();
    EXPECT_LE(err, 1e-4) << seq["ids"].dump();
    EXPECT_EQ(greedyGenerate(lm, ids, 8), seq["greedy"].get<std::vector<int64_t>>());
  }
  // Adapters disabled = the base model (peft's disable_adapter()).
  auto disabled = golden["disabled_first_logits"].back().get<std::vector<float>>();
  {
    LoraDisabledGuard off(*lm);
    EXPECT_LE((lastLogits(lm, {5, 17, 250}) - at::tensor(disabled)).abs().max().item<double>(),
              1e-4);
  }
  EXPECT_LE((lastLogits(lm, {5, 17, 250}) - goldenLast(golden["sequences"][0]))
                .abs().max().item<double>(), 1e-4);
}

TEST(Lora, SavedAdapterHasPeftKeysAndReloads) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  LoraConfig cfg = loadLoraConfig(kData + "peft");
  EXPECT_EQ(cfg.r, 4);
  EXPECT_DOUBLE_EQ(cfg.scaling(), 2.0);
  EXPECT_DOUBLE_EQ(cfg.dropout, 0.05);
  loadLoraAdapter(*lm, kData + "peft");
  const std::string dir = svln::test::uniqueTempDir();
  saveLoraAdapter(*lm, cfg, dir, "tied");
  SafetensorsFile ours(dir + "/adapter_model.safetensors");
  SafetensorsFile theirs(kData + "peft/adapter_model.safetensors");
  EXPECT_EQ(ours.names(), theirs.names());
  EXPECT_EQ(ours.names()[0], "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  for (const auto& n : ours.names()) {
    EXPECT_EQ(ours.info(n).dtype, theirs.info(n).dtype) << n;
    EXPECT_TRUE(ours.load(n).equal(theirs.load(n))) << n;
  }
  Qwen2ForCausalLM again = loadQwen2(kData + "tied");
  loadLoraAdapter(*again, dir);
  EXPECT_TRUE(lastLogits(again, {1, 2, 3}).equal(lastLogits(lm, {1, 2, 3})));
}

TEST(Lora, MergeEqualsAdapterAndExportsAPlainCheckpoint) {
  nlohmann::json golden = peftGolden();
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  loadLoraAdapter(*lm, kData + "peft");
  mergeLora(*lm);
  for (const auto& p : lm->named_parameters())
    EXPECT_EQ(p.key().find("lora_"), std::string::npos) << p.key();
  EXPECT_LE((lastLogits(lm, {5, 17, 250}) - goldenLast(golden["sequences"][0]))
                .abs().max().item<double>(), 1e-4);
  const std::string dir = svln::test::uniqueTempDir();
  saveCheckpoint(dir, loadModelConfig(kData + "tied"), {{"", lm.get()}}, at::kFloat);
  Qwen2ForCausalLM plain = loadQwen2(dir);
  EXPECT_LE((lastLogits(plain, {5, 17, 250}) - goldenLast(golden["sequences"][0]))
                .abs().max().item<double>(), 1e-4);
}

TEST(Lora, TrainingStepMovesOnlyAdapters) {
  Qwen2ForCausalLM lm = loadQwen2(kData + "tied");
  LoraConfig cfg;
  cfg.r = 4;
  cfg.dropout = 0.0;
  applyLora(*lm, cfg);
  lm->train();
  lm->setGradientCheckpointing(true);  // frozen embeddings: gradients must still reach LoRA
  at::Tensor q_before = lm->model->layer_list[0]->self_attn->q_proj->weight.clone();
  Qwen2Inputs in;
  in.input_ids = at::tensor(std::vector<int64_t>{5, 17, 250, 3}, at::kLong).unsqueeze(0);
  at::Tensor logits = lm->forward(in)[0];
  at::cross_entropy_loss(logits.narrow(0, 0, 3), at::tensor(std::vector<int64_t>{17, 250, 3}, at::kLong)).backward();
  auto& q = lm->model->layer_list[1]->self_attn->q_proj;
  ASSERT_TRUE(q->lora_B->weight.grad().defined());
  EXPECT_GT(q->lora_B->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(q->weight.grad().defined());
  {
    at::NoGradGuard g;
    for (auto& p : lm->parameters())
      if (p.requires_grad() && p.grad().defined()) p.sub_(0.1 * p.grad());
  }
  EXPECT_TRUE(lm->model->layer_list[0]->self_attn->q_proj->weight.equal(q_before));
}

TEST(Lora, UnsupportedPeftOptionsAreRejected) {
  const std::string dir = svln::test::uniqueTempDir();
  std::ofstream(dir + "/adapter_config.json")
      << R"({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"],
             "use_dora": true})";
  try {
    loadLoraConfig(dir);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/adapter_config.json: use_dora: unsupported PEFT option");
  }
}

}  // namespace
}  // namespace svln::model

namespace svln::model {
namespace {

// A bf16 input runs the adapter in bf16 (autocast's arithmetic): the result is the fp32
// adapter's within bf16 rounding, gradients reach the fp32 adapter weights, and the cast
// weights cached for no-grad calls follow an in-place optimizer update.
TEST(Lora, ReducedPrecisionInputMatchesFp32AndTracksUpdates) {
  at::manual_seed(3);
  LoraLinear lin(64, 48, true);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  lin->addAdapter(8, 2.0, 0.0, gen);
  {
    at::NoGradGuard g;
    lin->lora_B->weight.normal_(0.0, 0.1);
  }
  const at::Tensor x = at::randn({2, 5, 64});
  const at::Tensor want = [&] {
    at::NoGradGuard g;
    return lin->forward(x);  // fp32 everywhere
  }();
  lin->weight.set_data(lin->weight.to(at::kBFloat16));
  lin->bias.set_data(lin->bias.to(at::kBFloat16));
  const at::Tensor xb = x.to(at::kBFloat16);
  at::Tensor got;
  {
    at::NoGradGuard g;
    got = lin->forward(xb);
  }
  ASSERT_EQ(got.scalar_type(), at::kBFloat16);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT((got.to(at::kFloat) - want).abs().max().item<float>(), 0.08f);
  // The adapter's share is really there (B is non-zero): disabling it moves the output.
  lin->setAdapterEnabled(false);
  {
    at::NoGradGuard g;
    EXPECT_GT((lin->forward(xb).to(at::kFloat) - got.to(at::kFloat)).abs().max().item<float>(),
              0.1f);
  }
  lin->setAdapterEnabled(true);

  // Gradients flow through the per-call casts to the fp32 adapter weights.
  lin->lora_A->weight.set_requires_grad(true);
  lin->lora_B->weight.set_requires_grad(true);
  lin->forward(xb).to(at::kFloat).pow(2).sum().backward();
  ASSERT_TRUE(lin->lora_A->weight.grad().defined());
  ASSERT_TRUE(lin->lora_B->weight.grad().defined());
  EXPECT_EQ(lin->lora_A->weight.grad().scalar_type(), at::kFloat);
  EXPECT_GT(lin->lora_A->weight.grad().abs().sum().item<float>(), 0.f);

  // An in-place update (what the optimizer does) invalidates the cached bf16 copy.
  {
    at::NoGradGuard g;
    lin->lora_B->weight.mul_(-1.0);
    const at::Tensor flipped = lin->forward(xb).to(at::kFloat);
    lin->setAdapterEnabled(false);
    const at::Tensor base = lin->forward(xb).to(at::kFloat);
    lin->setAdapterEnabled(true);
    // base + delta before, base - delta now.
    EXPECT_LT((flipped - (2 * base - got.to(at::kFloat))).abs().max().item<float>(), 0.08f);
  }
}

}  // namespace
}  // namespace svln::model

namespace svln::model {
namespace {

// Under SkipInitGuard a LoraLinear is built without drawing its weights (the 7B benches
// draw them on the GPU); the guard nests and restores, and outside it the default
// U(-1/sqrt(in), 1/sqrt(in)) initialisation is drawn.
TEST(Lora, SkipInitGuardNestsAndRestores) {
  EXPECT_FALSE(SkipInitGuard::active());
  {
    SkipInitGuard outer;
    {
      SkipInitGuard inner;
      EXPECT_TRUE(SkipInitGuard::active());
    }
    EXPECT_TRUE(SkipInitGuard::active());
    LoraLinear skipped(16, 8, true);
    EXPECT_EQ(skipped->weight.sizes(), (std::vector<int64_t>{8, 16}));
    EXPECT_EQ(skipped->bias.size(0), 8);
  }
  EXPECT_FALSE(SkipInitGuard::active());
  LoraLinear drawn(16, 8, true);
  EXPECT_LE(drawn->weight.abs().max().item<float>(), 0.25f);
  EXPECT_GT(drawn->weight.abs().max().item<float>(), 0.0f);
  EXPECT_GT(drawn->weight.std().item<float>(), 0.05f);
}

}  // namespace
}  // namespace svln::model
