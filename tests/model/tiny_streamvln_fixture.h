// A random tiny StreamVLN with the synthetic tokenizer, placeholders set and dropout off:
// the fixture of the streaming-session tests (one session, and sessions as a batch).
#pragma once

#include <gtest/gtest.h>

#include "model/action_codec.h"
#include "model/streamvln.h"
#include "model/tokenizer.h"

namespace svln::model {

struct TinyStreamVLNFixture : ::testing::Test {
  TinyStreamVLNFixture()
      : tokenizer(Tokenizer::fromJsonText(syntheticTokenizerJson(512, 3), "synthetic")),
        codec(tokenizer),
        model([] {
          StreamVLN m(namedStreamVLNConfig("tiny"));
          m.randomInit(0);
          return m;
        }()) {
    model.setPlaceholderIds(tokenizer.requireTokenId("<image>"),
                            tokenizer.requireTokenId("<memory>"));
    model.lm->eval();
  }
  Tokenizer tokenizer;
  ActionCodec codec;
  StreamVLN model;
};

}  // namespace svln::model
