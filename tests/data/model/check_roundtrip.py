#!/usr/bin/env python3
"""GPU-machine check that the reference stack reads what the C++ code writes.

Inputs (made on CPU by the streamvln binary, see docs/model.md):
  DIR/adapter/   `streamvln model lora-init --model tests/data/model/tied --b_std 0.2 ...`
  DIR/merged/    `streamvln model merge --model tests/data/model/tied --adapter DIR/adapter`
  DIR/ours.json  {"adapter": last logits with the adapter, "merged": last logits of merged}
                 for ids 5,17,250 from `streamvln model logits`
Checks: peft's PeftModel.from_pretrained(tied, DIR/adapter) and transformers'
from_pretrained(DIR/merged) give the C++ logits (max abs error <= 1e-4).
    python3 tests/data/model/check_roundtrip.py --dir DIR --base tests/data/model/tied
"""
import argparse
import json
import sys

import torch
from peft import PeftModel
from transformers import Qwen2ForCausalLM


def load(path):
    try:
        return Qwen2ForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    except TypeError:
        return Qwen2ForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()


@torch.no_grad()
def last_logits(model):
    return model(torch.tensor([[5, 17, 250]])).logits[0, -1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--base", required=True)
    a = ap.parse_args()
    ours = json.load(open(f"{a.dir}/ours.json"))
    peft_model = PeftModel.from_pretrained(load(a.base), f"{a.dir}/adapter").eval()
    err_adapter = float((last_logits(peft_model) - torch.tensor(ours["adapter"])).abs().max())
    with peft_model.disable_adapter():
        base_logits = last_logits(peft_model)
    moved = float((last_logits(peft_model) - base_logits).abs().max())
    err_merged = float((last_logits(load(f"{a.dir}/merged")) - torch.tensor(ours["merged"])).abs().max())
    ok = err_adapter <= 1e-4 and err_merged <= 1e-4 and moved > 1e-3
    print(json.dumps({"peft_loads_cpp_adapter_max_err": err_adapter,
                      "adapter_changes_logits_by": moved,
                      "transformers_loads_cpp_merged_max_err": err_merged, "ok": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
