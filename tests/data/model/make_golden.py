#!/usr/bin/env python3
"""Golden fixtures for the C++ Qwen2 / checkpoint / LoRA tests (tests/model/*_test.cpp).

Run on the GPU machine (transformers 5.x, torch 2.x, safetensors; peft optional):
    python3 tests/data/model/make_golden.py --out $OUT
It writes $OUT/golden.tar.gz; unpack it into tests/data/model/.

Three tiny seeded random Qwen2ForCausalLM models, all evaluated on CPU in fp32 with the
reference implementation after reloading what was saved (so the fixture is what was run):
  tied/    tie_word_embeddings=true, fp32 weights, config.json as transformers 5.x writes it
           (rope_parameters), single model.safetensors
  untied/  separate lm_head, bf16 weights on disk, config.json rewritten in 4.x style
           (rope_theta at top level, torch_dtype), sharded model.safetensors.index.json
  peft/    a LoRA adapter (q_proj, v_proj, r=4, alpha=8) on tied/, saved by peft
Each has golden.json: id sequences, logits at every position, greedy continuations.
Weights are re-drawn with larger scales than HF's init (std 0.02) so logits are far from
flat and greedy argmax is not decided by rounding noise.
"""
import argparse
import json
import math
import os
import shutil
import tarfile
import tempfile

import torch
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM

SEQUENCES = [[5, 17, 250], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [300, 42, 42, 7, 499, 0, 128]]
NEW_TOKENS = 8


def make_config(tied, theta):
    kw = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              rms_norm_eps=1e-6, tie_word_embeddings=tied, use_sliding_window=False,
              bos_token_id=1, eos_token_id=2)
    try:
        return Qwen2Config(rope_parameters={"rope_type": "default", "rope_theta": theta}, **kw)
    except TypeError:
        return Qwen2Config(rope_theta=theta, **kw)


def reinit(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:  # Linear [out, in]: unit-variance outputs for unit-variance inputs
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def load(path):
    try:
        m = Qwen2ForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        m = Qwen2ForCausalLM.from_pretrained(path, torch_dtype=torch.float32,
                                             attn_implementation="eager")
    return m.eval()


@torch.no_grad()
def golden(model):
    out = {"sequences": []}
    for ids in SEQUENCES:
        logits = model(torch.tensor([ids])).logits[0]
        cont = list(ids)
        for _ in range(NEW_TOKENS):  # greedy by full recompute: the plainest reference
            cont.append(int(model(torch.tensor([cont])).logits[0, -1].argmax()))
        top2 = logits[-1].topk(2).values
        rows = logits if len(ids) > 8 else logits[-1:]  # all positions for one long sequence
        out["sequences"].append({
            "ids": ids,
            "logits_from": len(ids) - rows.shape[0],  # logits[i] is for position logits_from + i
            "logits": [[round(float(v), 6) for v in row] for row in rows],
            "greedy": cont[len(ids):],
            "last_top2_margin": float(top2[0] - top2[1]),
        })
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def to_v4_config(path):
    cfg = json.load(open(path))
    rope = cfg.pop("rope_parameters", None) or cfg.pop("rope_scaling", None) or {}
    cfg["rope_theta"] = rope.get("rope_theta", cfg.get("rope_theta"))
    cfg.pop("dtype", None)
    cfg["torch_dtype"] = "bfloat16"
    cfg["transformers_version"] = "4.45.0"
    cfg["rope_scaling"] = None
    cfg.pop("layer_types", None)
    write_json(path, cfg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    work = tempfile.mkdtemp()
    print("transformers", transformers.__version__, "torch", torch.__version__)

    tied_dir = os.path.join(work, "tied")
    m = Qwen2ForCausalLM(make_config(True, 10000.0))
    reinit(m, 1)
    m.save_pretrained(tied_dir)
    ref = load(tied_dir)
    write_json(os.path.join(tied_dir, "golden.json"), golden(ref))

    untied_dir = os.path.join(work, "untied")
    m = Qwen2ForCausalLM(make_config(False, 1000000.0))
    reinit(m, 2)
    m.to(torch.bfloat16).save_pretrained(untied_dir, max_shard_size="200KB")
    to_v4_config(os.path.join(untied_dir, "config.json"))
    ref_u = load(untied_dir)
    write_json(os.path.join(untied_dir, "golden.json"), golden(ref_u))

    try:
        import peft
        from peft import LoraConfig, get_peft_model
        peft_dir = os.path.join(work, "peft")
        base = load(tied_dir)
        cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=["q_proj", "v_proj"],
                         task_type="CAUSAL_LM")
        pm = get_peft_model(base, cfg)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():  # B is zero at init; draw both so the adapter changes logits
            for name, p in pm.named_parameters():
                if "lora_" in name:
                    p.copy_(0.2 * torch.randn(p.shape, generator=g))
        pm.save_pretrained(peft_dir)
        from peft import PeftModel
        reloaded = PeftModel.from_pretrained(load(tied_dir), peft_dir).eval()
        gold = golden(reloaded)
        gold["peft_version"] = peft.__version__
        with reloaded.disable_adapter():
            gold["disabled_first_logits"] = golden(reloaded)["sequences"][0]["logits"]
        write_json(os.path.join(peft_dir, "golden.json"), gold)
        from safetensors.torch import load_file
        keys = sorted(load_file(os.path.join(peft_dir, "adapter_model.safetensors")).keys())
        print("peft", peft.__version__, "keys:", keys[:4])
        print(open(os.path.join(peft_dir, "adapter_config.json")).read())
    except ImportError as e:
        print("peft not available:", e)

    for root, _, files in os.walk(work):
        for f in sorted(files):
            p = os.path.join(root, f)
            print(os.path.relpath(p, work), os.path.getsize(p))
    for d in ("tied", "untied", "peft"):
        gp = os.path.join(work, d, "golden.json")
        if os.path.exists(gp):
            print(d, "margins", [round(s["last_top2_margin"], 3) for s in json.load(open(gp))["sequences"]],
                  "greedy", [s["greedy"] for s in json.load(open(gp))["sequences"]])
    print(open(os.path.join(untied_dir, "config.json")).read())
    print(open(os.path.join(tied_dir, "config.json")).read())
    with tarfile.open(os.path.join(args.out, "golden.tar.gz"), "w:gz") as tar:
        for d in ("tied", "untied", "peft"):
            if os.path.isdir(os.path.join(work, d)):
                tar.add(os.path.join(work, d), arcname=d)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
