// Tokenizer ids against Hugging Face `tokenizers` 0.23 (tests/data/model/vision/make_golden.py
// ran it on the committed synthetic tokenizer), the Qwen2 pre-tokenizer regex on a worked
// example, the synthetic tokenizer writer and the StreamVLN chat strings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/chat_template.h"
#include "model/pretokenizer.h"
#include "model/tokenizer.h"
#include "model/unicode_text.h"

namespace svln::model {
namespace {

const std::string kTokDir = std::string(SVLN_TEST_DATA) + "/model/tokenizer";

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Tokenizer, IdsEqualHuggingFaceTokenizersOnTrickyStrings) {
  const Tokenizer tok = Tokenizer::fromFile(kTokDir);
  const auto golden = nlohmann::json::parse(readText(kTokDir + "/tokenizer_golden.json"));
  ASSERT_GE(golden["cases"].size(), 20u);
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const auto expected = c["ids"].get<std::vector<int>>();
    EXPECT_EQ(tok.encode(text), expected) << "text: " << text;
    EXPECT_EQ(tok.decode(expected), c["decoded"].get<std::string>()) << "text: " << text;
    EXPECT_EQ(tok.decode(expected, /*skip_special_tokens=*/true),
              c["decoded_skip_special"].get<std::string>());
  }
}

TEST(Tokenizer, NfcComposesBeforeBpe) {
  const Tokenizer tok = Tokenizer::fromFile(kTokDir);
  // "e" + U+0301 COMBINING ACUTE is encoded as the precomposed U+00E9.
  EXPECT_EQ(tok.encode("Cafe\u0301"), tok.encode("Caf\u00e9"));
  EXPECT_EQ(tok.decode(tok.encode("Cafe\u0301")), "Caf\u00e9");
}

TEST(Tokenizer, ArrowsAreSingleTokensAndSpecialTokensAreLast) {
  const Tokenizer tok = Tokenizer::fromFile(kTokDir);
  std::vector<int> arrow_ids;
  for (const char* arrow : {"\u2190", "\u2191", "\u2192"}) {
    const auto ids = tok.encode(arrow);
    ASSERT_EQ(ids.size(), 1u) << arrow;
    arrow_ids.push_back(ids[0]);
  }
  EXPECT_NE(arrow_ids[0], arrow_ids[1]);
  EXPECT_NE(arrow_ids[1], arrow_ids[2]);
  const int n = tok.vocabSize();
  EXPECT_EQ(tok.requireTokenId("<|endoftext|>"), n - 5);
  EXPECT_EQ(tok.requireTokenId("<|im_start|>"), n - 4);
  EXPECT_EQ(tok.requireTokenId("<|im_end|>"), n - 3);
  EXPECT_EQ(tok.requireTokenId("<image>"), n - 2);
  EXPECT_EQ(tok.requireTokenId("<memory>"), n - 1);
  EXPECT_TRUE(tok.isSpecial(n - 1));
  EXPECT_FALSE(tok.isSpecial(arrow_ids[0]));
  // Byte tokens first, in GPT-2's bytes_to_unicode order: '!' is id 0, space ('Ġ') 220.
  EXPECT_EQ(tok.idToToken(0), "!");
  EXPECT_EQ(tok.encode(" "), std::vector<int>{220});
}

TEST(Tokenizer, CommittedFixtureIsWhatTheWriterProduces) {
  // The fixture came from writeSyntheticTokenizer(dir, 1024, 0); same arguments, same bytes.
  EXPECT_EQ(readText(kTokDir + "/tokenizer.json"), syntheticTokenizerJson(1024, 0) + "\n");
}

TEST(Tokenizer, SyntheticWriterIsDeterministicAndSeeded) {
  const auto dir = std::filesystem::temp_directory_path() / "svln_tok_test";
  std::filesystem::remove_all(dir);
  writeSyntheticTokenizer(dir.string(), 400, 5);
  const std::string a = readText((dir / "tokenizer.json").string());
  EXPECT_EQ(a, syntheticTokenizerJson(400, 5) + "\n");
  EXPECT_NE(a, syntheticTokenizerJson(400, 6) + "\n");
  const Tokenizer tok = Tokenizer::fromFile(dir.string());
  EXPECT_EQ(tok.vocabSize(), 400);
  const auto config = nlohmann::json::parse(readText((dir / "tokenizer_config.json").string()));
  EXPECT_EQ(config["eos_token"], "<|im_end|>");
  EXPECT_NE(config["chat_template"].get<std::string>().find("You are a helpful assistant."),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "special_tokens_map.json"));
  EXPECT_THROW(syntheticTokenizerJson(260, 0), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, MergesInStringAndPairFormGiveTheSameIds) {
  auto root = nlohmann::json::parse(readText(kTokDir + "/tokenizer.json"));
  for (auto& m : root["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const Tokenizer old_form = Tokenizer::fromJsonText(root.dump(), "old.json");
  const Tokenizer new_form = Tokenizer::fromFile(kTokDir);
  const std::string text = "Walk past the couch, turn left \u2190 and stop.";
  EXPECT_EQ(old_form.encode(text), new_form.encode(text));
}

TEST(Tokenizer, BadFilesFailWithTheFileName) {
  try {
    Tokenizer::fromFile("/nonexistent/tokenizer.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json"), std::string::npos);
  }
  EXPECT_THROW(Tokenizer::fromJsonText("{\"model\": ", "broken.json"), std::runtime_error);
  auto root = nlohmann::json::parse(readText(kTokDir + "/tokenizer.json"));
  auto wordpiece = root;
  wordpiece["model"]["type"] = "WordPiece";
  try {
    Tokenizer::fromJsonText(wordpiece.dump(), "wp.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "wp.json: model type 'WordPiece' is not supported (byte-level BPE expected)");
  }
  auto regex = root;
  regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  EXPECT_THROW(Tokenizer::fromJsonText(regex.dump(), "re.json"), std::runtime_error);
  auto bad_merge = root;
  bad_merge["model"]["merges"][0] = {"zz_not_a_token", "a"};
  EXPECT_THROW(Tokenizer::fromJsonText(bad_merge.dump(), "m.json"), std::runtime_error);
  // Ids that would make the dense id tables huge (a corrupt file, not a vocabulary).
  auto huge_vocab_id = root;
  huge_vocab_id["model"]["vocab"]["zz"] = 1000000000;
  auto huge_added_id = root;
  huge_added_id["added_tokens"].push_back({{"id", 2000000000}, {"content", "<big>"}});
  for (const auto& [edited, want] :
       {std::pair<nlohmann::json, std::string>{huge_vocab_id, "model.vocab['zz'] is not an id in"},
        {huge_added_id, "added token '<big>' has no integer id below"}}) {
    try {
      Tokenizer::fromJsonText(edited.dump(), "big.json");
      ADD_FAILURE() << want;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("big.json: " + want), std::string::npos) << e.what();
    }
  }
  const Tokenizer tok = Tokenizer::fromFile(kTokDir);
  EXPECT_THROW(tok.encode(std::string("\xff\xfe")), std::runtime_error);
  EXPECT_THROW(tok.idToToken(tok.vocabSize()), std::runtime_error);
}

// make_golden.py apply_variant(): the same edits of the fixture's tokenizer.json.
nlohmann::json applyVariant(nlohmann::json root, const std::string& name) {
  if (name == "flags") {
    for (auto& t : root["added_tokens"]) {
      if (t["content"] == "<image>") t["lstrip"] = true;
      if (t["content"] == "<memory>") t["rstrip"] = true;
    }
    const size_t id = root["model"]["vocab"].size() + root["added_tokens"].size();
    root["added_tokens"].push_back({{"id", id}, {"content", "go"}, {"single_word", true},
                                    {"lstrip", false}, {"rstrip", false}, {"normalized", true},
                                    {"special", false}});
  } else if (name == "gpt2") {
    root["normalizer"] = nullptr;
    root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true},
                             {"trim_offsets", true}, {"use_regex", true}};
  }
  return root;
}

TEST(Tokenizer, AddedTokenFlagsAndGpt2RegexMatchHuggingFace) {
  const auto base = nlohmann::json::parse(readText(kTokDir + "/tokenizer.json"));
  const auto golden = nlohmann::json::parse(readText(kTokDir + "/tokenizer_variants.json"));
  for (const std::string name : {"flags", "gpt2"}) {
    const Tokenizer tok = Tokenizer::fromJsonText(applyVariant(base, name).dump(), name);
    ASSERT_GE(golden[name].size(), 30u);
    for (const auto& c : golden[name]) {
      const std::string text = c["text"].get<std::string>();
      EXPECT_EQ(tok.encode(text), c["ids"].get<std::vector<int>>()) << name << ": " << text;
    }
  }
}

TEST(PreTokenizer, Qwen2RegexSplitsAWorkedExample) {
  const std::u32string text = decodeUtf8("I'm  going\n\n to 123 places!!\n");
  std::vector<std::string> pieces;
  for (const auto& [b, e] : splitIsolated(text, SplitPattern::kQwen2)) {
    pieces.push_back(encodeUtf8(std::u32string_view(text).substr(b, e - b)));
  }
  const std::vector<std::string> expected = {"I",   "'m", " ", " going", "\n\n", " to",
                                             " ",   "1",  "2", "3",      " places", "!!\n"};
  EXPECT_EQ(pieces, expected);
  EXPECT_EQ(recognizeSplitPattern(kQwen2SplitRegex), SplitPattern::kQwen2);
  EXPECT_EQ(bytesToByteLevel(" \n"), "\u0120\u010a");  // "ĠĊ"
  EXPECT_EQ(unicodeToByte(U'\u0120'), 32);
}

TEST(ChatTemplate, WindowPromptIsTheReleasedString) {
  const std::string p = renderWindowPrompt("Walk to the sofa.", /*with_memory=*/true, "you can see ");
  EXPECT_EQ(p,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nYou are an autonomous navigation assistant. Your task is to Walk to "
            "the sofa. Devise an action sequence to follow the instruction using the four actions: "
            "TURN LEFT (\u2190) or TURN RIGHT (\u2192) by 15 degrees, MOVE FORWARD (\u2191) by 25 "
            "centimeters, or STOP. These are your historical observations <memory>. you can see "
            "<image>.<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
  EXPECT_EQ(firstUserContent("Go.", false, "there is ").find("<memory>"),
            std::string::npos);
  EXPECT_EQ(renderFollowUpPrompt("ahead of you is "),
            "<|im_start|>user\nahead of you is <image>.<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
  EXPECT_EQ(renderAssistantAnswer("\u2191\u2191\u2190"), "<|im_start|>assistant\n\u2191\u2191\u2190<|im_end|>");
  ASSERT_EQ(observationPhrases().size(), 7u);
  EXPECT_EQ(observationPhrases()[0], "you can see ");
  std::mt19937_64 a(3), b(3);
  EXPECT_EQ(chooseObservationPhrase(a), chooseObservationPhrase(b));
}

TEST(ChatTemplate, MessagesMatchTransformersApplyChatTemplate) {
  const auto golden = nlohmann::json::parse(readText(kTokDir + "/tokenizer_golden.json"));
  const std::string hf = golden["transformers"]["chat_template"].get<std::string>();
  EXPECT_EQ(renderMessage("system", kSystemPrompt) + renderMessage("user", "Walk to the kitchen.") +
                "<|im_start|>assistant\n",
            hf);
}

}  // namespace
}  // namespace svln::model
