// `streamvln tokenize` on instructions in every RxR-CE language (en-US, en-IN, hi-IN,
// te-IN): the byte-level tokenizer encodes any script, and decoding gives the text back in
// NFC, the normaliser's form (a nukta letter like U+095B comes back as U+091C U+093C).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_cli.h"

namespace svln {
namespace {

const std::string kTok = std::string(SVLN_TEST_DATA) + "/model/tokenizer";

nlohmann::json tokenize(const std::string& args) {
  const test::CliRun r = test::runCli("tokenize --tokenizer " + kTok + " " + args, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.output);
}

TEST(TokenizeCommand, RxRLanguagesRoundTripThroughTheTokenizer) {
  struct Case {
    const char* language;
    std::string text, nfc;
  };
  const std::string hindi_head =
      "\u0938\u0940\u0922\u093c\u093f\u092f\u094b\u0902 \u0938\u0947 \u0928\u0940\u091a\u0947 "
      "\u0909\u0924\u0930\u0947\u0902, \u092b\u093f\u0930 \u0926\u0930\u0935\u093e";
  const std::string hindi_tail = "\u0947 \u092a\u0930 \u0930\u0941\u0915\u0947\u0902\u0964";
  const std::string telugu =
      "\u0c2e\u0c46\u0c1f\u0c4d\u0c32\u0c41 \u0c26\u0c3f\u0c17\u0c3f \u0c0e\u0c21\u0c2e\u0c35"
      "\u0c48\u0c2a\u0c41 \u0c24\u0c3f\u0c30\u0c17\u0c02\u0c21\u0c3f, \u0c06\u0c2a\u0c48 "
      "\u0c35\u0c02\u0c1f\u0c17\u0c26\u0c3f \u0c24\u0c32\u0c41\u0c2a\u0c41 \u0c26\u0c17\u0c4d"
      "\u0c17\u0c30 \u0c06\u0c17\u0c02\u0c21\u0c3f.";
  const std::vector<Case> cases = {
      {"en-US", "Walk past the couch and stop at the door.",
       "Walk past the couch and stop at the door."},
      {"en-IN", "Take a left from the sofa and halt near the almirah.",
       "Take a left from the sofa and halt near the almirah."},
      {"hi-IN", hindi_head + "\u095b" + hindi_tail, hindi_head + "\u091c\u093c" + hindi_tail},
      {"te-IN", telugu, telugu},
  };
  for (const Case& c : cases) {
    const std::vector<int> ids = tokenize("--text '" + c.text + "'").at("ids");
    ASSERT_FALSE(ids.empty()) << c.language;
    std::string list;
    for (int id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    EXPECT_EQ(tokenize("--decode " + list).at("text").get<std::string>(), c.nfc) << c.language;
  }
}

}  // namespace
}  // namespace svln
