"""Reference token ids for tests/cli/tokenize_command_test.cpp: Hugging Face's tokenizer
(transformers' AutoTokenizer on tests/data/model/tokenizer) on an instruction in each RxR-CE
language. Run where transformers is installed (the GPU machine):

    python3 tests/data/model/make_rxr_ids.py

Prints one JSON object, language -> ids, which the test compares with `streamvln tokenize`.
"""
import json
import os

from transformers import AutoTokenizer

HINDI_HEAD = ("\u0938\u0940\u0922\u093c\u093f\u092f\u094b\u0902 \u0938\u0947 \u0928\u0940\u091a\u0947 "
              "\u0909\u0924\u0930\u0947\u0902, \u092b\u093f\u0930 \u0926\u0930\u0935\u093e")
HINDI_TAIL = "\u0947 \u092a\u0930 \u0930\u0941\u0915\u0947\u0902\u0964"
TELUGU = ("\u0c2e\u0c46\u0c1f\u0c4d\u0c32\u0c41 \u0c26\u0c3f\u0c17\u0c3f \u0c0e\u0c21\u0c2e\u0c35"
          "\u0c48\u0c2a\u0c41 \u0c24\u0c3f\u0c30\u0c17\u0c02\u0c21\u0c3f, \u0c06\u0c2a\u0c48 "
          "\u0c35\u0c02\u0c1f\u0c17\u0c26\u0c3f \u0c24\u0c32\u0c41\u0c2a\u0c41 \u0c26\u0c17\u0c4d"
          "\u0c17\u0c30 \u0c06\u0c17\u0c02\u0c21\u0c3f.")
CASES = {
    "en-US": "Walk past the couch and stop at the door.",
    "en-IN": "Take a left from the sofa and halt near the almirah.",
    "hi-IN": HINDI_HEAD + "\u095b" + HINDI_TAIL,
    "te-IN": TELUGU,
}

tok = AutoTokenizer.from_pretrained(os.path.join(os.path.dirname(__file__), "tokenizer"))
out = {}
for lang, text in CASES.items():
    ids = tok(text, add_special_tokens=False)["input_ids"]
    out[lang] = {"ids": ids, "decoded": tok.decode(ids)}
print(json.dumps(out, ensure_ascii=False))
