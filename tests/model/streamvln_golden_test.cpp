// End-to-end check of the StreamVLN model against a LLaVA-style reference built with
// transformers (tests/data/model/streamvln/make_golden.py): checkpoint names and config
// keys as released, the chat strings, frame encoding (SigLIP cut, projector, pooling) and the
// decoder fed with spliced frame tokens.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/chat_template.h"
#include "model/safetensors.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"

namespace svln::model {
namespace {

const std::string kDir = std::string(SVLN_TEST_DATA) + "/model/streamvln";

TEST(StreamVLNGolden, MatchesTheTransformersReference) {
  StreamVLN m = StreamVLN::load(kDir);
  const Tokenizer tok = Tokenizer::fromFile(kDir);
  m.setPlaceholderIds(tok.requireTokenId(kImageToken), tok.requireTokenId(kMemoryToken));
  SafetensorsFile golden(kDir + "/golden.safetensors");

  // The window as the streaming session writes it.
  const std::string text =
      renderWindowPrompt("walk past the blue sofa and stop at the kitchen door.", false,
                         "you can see ") +
      "<|im_start|>assistant\n" + "↑↑←↑" + kImEnd + renderFollowUpPrompt("there is ") +
      "<|im_start|>assistant\n" + "→↑";
  const std::vector<int> ids = tok.encode(text);
  const torch::Tensor want_ids = golden.load("ids");
  ASSERT_EQ(static_cast<int64_t>(ids.size()), want_ids.numel());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], want_ids[i].item<int64_t>()) << i;

  torch::NoGradGuard no_grad;
  const torch::Tensor frames = golden.load("frames");  // uint8 [2, 112, 112, 3]
  const torch::Tensor pooled = m.encodeFrames(frames);
  EXPECT_LT((pooled - golden.load("pooled")).abs().max().item<float>(), 1e-4);

  SegmentInputs seg;
  seg.ids = &ids;
  seg.end = ids.size();
  seg.images = {pooled[0], pooled[1]};
  Qwen2Inputs in;
  in.inputs_embeds = m.embedSegment(seg);
  const torch::Tensor logits = m.lm->forward(in).squeeze(0);
  const torch::Tensor pos = golden.load("positions");
  const torch::Tensor got = logits.index_select(0, pos);
  EXPECT_LT((got - golden.load("logits")).abs().max().item<float>(), 1e-4);
}

}  // namespace
}  // namespace svln::model
