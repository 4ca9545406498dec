#!/usr/bin/env python3
"""Golden outputs for the C++ vision/tokenizer code, made with the reference stack
(transformers 5.17, tokenizers 0.23, torch 2.11, torchvision, PIL) on the GPU machine:

  python3 tests/data/model/vision/make_golden.py OUT_DIR [STEP ...]

writes into OUT_DIR
  siglip.safetensors       a tiny seeded SiglipVisionModel (384 px, patch 14: the real
                           27x27 geometry; hidden 24, 3 heads, 3 layers) + an mlp2x_gelu
                           projector (24 -> 32 -> 32), and, for two formula-made frames,
                           hidden_states[2] (LLaVA's select_layer -2) and the projected
                           frames pooled bilinear / average / max (LLaVA-Video get_2dPool)
  preprocess.safetensors   SigLIP image-processor outputs (slow PIL and fast torchvision)
                           for formula-made uint8 images, stored as the 8-bit levels u
                           with pixel = (u/255 - 0.5)/0.5 (checked here), rows y % 6 == 0
                           of the 384x384 outputs
  tokenizer_golden.json    HF `tokenizers` ids of tricky strings under
                           tests/data/model/tokenizer/tokenizer.json
  tokenizer_variants.json  the same for two edited copies of it: added-token flags
                           (lstrip/rstrip/single_word, a normalized non-special token)
                           and GPT-2's ByteLevel regex with add_prefix_space
  meta.json                versions, processor classes, comparisons
The inputs are formulas shared with the C++ tests (see image_u8 / pixels below).
"""
import json
import math
import os
import sys

import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
TOK_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tokenizer")
meta = {}


def image_u8(h, w):
    """Test image: hard edges and clipping-prone texture, same formula in C++."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    v = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 7 + ((x // 7 + y // 5) % 2) * 60) % 256
    return v.astype(np.uint8)


def pixels(frames, size):
    """Pixel values in [-1, 1] for the SigLIP test, same formula in C++ (float64 -> float32)."""
    f, c, y, x = np.meshgrid(np.arange(frames), np.arange(3), np.arange(size), np.arange(size),
                             indexing="ij")
    v = 0.9 * np.sin(0.05 * x * (c + 1) + 0.07 * y + 1.3 * f) + 0.1 * np.cos(0.3 * (x - y))
    return torch.from_numpy(v.astype(np.float32))


def siglip_golden():
    from safetensors.torch import save_file
    from transformers import SiglipVisionConfig, SiglipVisionModel

    cfg = SiglipVisionConfig(hidden_size=24, intermediate_size=40, num_hidden_layers=3,
                             num_attention_heads=3, image_size=384, patch_size=14,
                             layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    cfg._attn_implementation = "eager"
    model = SiglipVisionModel(cfg).eval()
    proj = torch.nn.Sequential(torch.nn.Linear(24, 32), torch.nn.GELU(), torch.nn.Linear(32, 32))
    g = torch.Generator().manual_seed(1234)
    tensors = {}
    named = [(k, p) for k, p in model.state_dict().items() if ".head." not in k]
    named += [("mm_projector." + k, p) for k, p in proj.state_dict().items()]
    with torch.no_grad():
        for name, p in sorted(named):
            if name.endswith("position_ids"):
                continue
            r = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                v = 1.0 + 0.1 * r
            elif name.endswith("bias"):
                v = 0.1 * r
            elif "position_embedding" in name:
                v = 0.5 * r
            else:  # fan-in scaled
                v = r / math.sqrt(p[0].numel())
            p.copy_(v)
            tensors[name] = v.clone().contiguous()
    x = pixels(2, 384)
    with torch.no_grad():
        out = model(pixel_values=x, output_hidden_states=True)
        hidden = out.hidden_states[2]  # output of layer 2 of 3 = LLaVA's select_layer -2
        projected = proj(hidden)
        grid = projected.view(2, 27, 27, -1).permute(0, 3, 1, 2).contiguous()
        pooled = {
            "bilinear": torch.nn.functional.interpolate(grid, size=[14, 14], mode="bilinear"),
            "average": torch.nn.functional.avg_pool2d(grid, 2),
            "max": torch.nn.functional.max_pool2d(grid, 2),
        }
    tensors["out.hidden"] = hidden.contiguous()
    for k, v in pooled.items():
        tensors["out." + k] = v.permute(0, 2, 3, 1).reshape(2, -1, 32).contiguous()
    tensors["in.pixels_corner"] = x[:, :, :4, :4].contiguous()  # checks the formula in C++
    save_file(tensors, os.path.join(OUT, "siglip.safetensors"))
    meta["siglip_hidden_states"] = len(out.hidden_states)
    meta["siglip_post_ln_differs"] = float((out.last_hidden_state - out.hidden_states[3]).abs().max())


def preprocess_golden():
    from safetensors.torch import save_file
    import transformers

    cases = {"up": (48, 64, 384, 384), "down": (480, 640, 384, 384), "odd": (48, 64, 53, 29)}
    procs = {}
    for name in ("SiglipImageProcessor", "SiglipImageProcessorFast"):
        try:
            procs[name] = getattr(transformers, name)
        except Exception as e:  # noqa: BLE001
            meta["missing_" + name] = repr(e)
    cfg_dir = "/tmp/svln_proc_cfg"
    os.makedirs(cfg_dir, exist_ok=True)
    with open(os.path.join(cfg_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True,
                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                   "image_processor_type": "SiglipImageProcessor", "processor_class": "SiglipProcessor",
                   "resample": 3, "rescale_factor": 1 / 255, "size": {"height": 384, "width": 384}}, f)
    try:
        auto = transformers.AutoImageProcessor.from_pretrained(cfg_dir)
        meta["auto_image_processor"] = type(auto).__name__
    except Exception as e:  # noqa: BLE001
        meta["auto_image_processor"] = "error: " + repr(e)
    tensors = {}
    levels = {}
    for pname, cls in procs.items():
        short = "slow" if pname == "SiglipImageProcessor" else "fast"
        for cname, (h, w, oh, ow) in cases.items():
            img = image_u8(h, w)
            try:
                proc = cls(size={"height": oh, "width": ow}, resample=3, do_resize=True,
                           do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                           image_mean=[0.5] * 3, image_std=[0.5] * 3)
                pv = proc(images=[img], return_tensors="pt")["pixel_values"][0].float()
            except Exception as e:  # noqa: BLE001
                meta[f"error_{short}_{cname}"] = repr(e)
                continue
            u = torch.round((pv * 0.5 + 0.5) * 255)
            err = float(((u / 255 - 0.5) / 0.5 - pv).abs().max())
            meta[f"level_err_{short}_{cname}"] = err
            u8 = u.clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()  # HWC
            levels[(short, cname)] = u8
            keep = u8[::6] if oh == 384 else u8
            tensors[f"{short}.{cname}"] = keep.contiguous()
            tensors[f"{short}.{cname}.float_row0"] = pv[:, 0, :].contiguous()
    for cname, (h, w, oh, ow) in cases.items():
        img = image_u8(h, w)
        t = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()
        tu8 = torch.nn.functional.interpolate(t, size=[oh, ow], mode="bicubic", antialias=True)
        tu8 = tu8[0].permute(1, 2, 0).contiguous()
        from PIL import Image
        pil = torch.from_numpy(np.asarray(Image.fromarray(img).resize((ow, oh), Image.Resampling.BICUBIC)).copy())
        for short, ref in (("torch_u8", tu8), ("pil", pil)):
            for (p, c), lv in levels.items():
                if c == cname:
                    d = (lv.int() - ref.int()).abs()
                    meta[f"{p}_vs_{short}_{cname}"] = [int(d.max()), int((d > 0).sum())]
        d = (tu8.int() - pil.int()).abs()
        meta[f"torch_u8_vs_pil_{cname}"] = [int(d.max()), int((d > 0).sum())]
        tensors[f"torch_u8.{cname}"] = (tu8[::6] if oh == 384 else tu8).contiguous()
        tensors[f"pil.{cname}"] = (pil[::6] if oh == 384 else pil).contiguous()
    save_file(tensors, os.path.join(OUT, "preprocess.safetensors"))
    prune_preprocess(os.path.join(OUT, "preprocess.safetensors"))


def prune_preprocess(path):
    """Keeps the committed subset (the fixture budget is < 1 MB): the processor's output
    ("fast.*", equal to "slow.*" and "torch_u8.*" in transformers 5, see meta.json) and PIL's
    ("pil.*"). Pure Python, so it can be re-applied to a file made earlier."""
    import struct
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    keep = sorted(k for k in header if k != "__metadata__" and k.split(".")[0] in ("fast", "pil"))
    out_header, chunks, offset = {}, [], 0
    for k in keep:
        b, e = header[k]["data_offsets"]
        chunks.append(data[b:e])
        out_header[k] = {"dtype": header[k]["dtype"], "shape": header[k]["shape"],
                         "data_offsets": [offset, offset + e - b]}
        offset += e - b
    hb = json.dumps(out_header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(chunks))
    os.replace(tmp, path)


TRICKY = [
    "Walk past the couch and turn left. Stop at the door.",
    "I'm sure they'll say WE'RE done; it's 'quoted' and don't, can't, y'all, O'Neil's",
    "It's 12345 steps, 3.14159 meters and 1,000,000 ids; x2 v10 A4",
    "  leading spaces,   inner   runs and trailing   ",
    "line1\nline2\r\n\r\nline3\n\n\nend\n",
    "tab\tseparated\t\tvalues \t\n mixed",
    "<image>",
    "look at<image>.then<memory> x <image><image>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "\u2190\u2191\u2192",
    "\u2191\u2191\u2191\u2191",
    "\u2190\u2190\u2192\u2191STOP",
    "TURN LEFT (\u2190) or TURN RIGHT (\u2192) by 15 degrees, MOVE FORWARD (\u2191) by 25 centimeters, or STOP.",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u8d70\u5230\u53a8\u623f\u3002",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00dcber \u00c5ngstr\u00f6m",
    "Cafe\u0301 decomposed e\u0301 and A\u030a",
    "\u03a9mega \u0394elta \u043f\u0440\u0438\u0432\u0435\u0442 \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "emoji \U0001f642\U0001f44d\U0001f3fd and \u2764\ufe0f flags \U0001f1eb\U0001f1f7",
    "\u0661\u0662\u0663 Arabic digits, \u2167 roman, x\u00b2 \u00bd",
    "\ufb01 ligature \u212b angstrom sign \u2126 ohm",
    "   ",
    "",
    "a\u00a0b\u2003c\u3000d\u2028e",
    "hello!!!\n\n  world???  \n",
    "''ll 's 'S 'Re 'VE x'D",
    "Go up the stairs,then left.Exit through the door...stop!",
]


def tokenizer_golden():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
    cases = []
    for s in TRICKY:
        enc = tok.encode(s, add_special_tokens=True)
        cases.append({"text": s, "ids": enc.ids,
                      "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True)})
    extra = {}
    try:
        import transformers
        auto = transformers.AutoTokenizer.from_pretrained(TOK_DIR)
        extra["auto_class"] = type(auto).__name__
        extra["auto_same_ids"] = all(auto.encode(c["text"], add_special_tokens=True) == c["ids"]
                                     for c in cases)
        msgs = [{"role": "user", "content": "Walk to the kitchen."}]
        extra["chat_template"] = auto.apply_chat_template(msgs, tokenize=False,
                                                          add_generation_prompt=True)
    except Exception as e:  # noqa: BLE001
        extra["auto_error"] = repr(e)
    with open(os.path.join(OUT, "tokenizer_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases, "transformers": extra}, f, ensure_ascii=False, indent=1)
    meta["tokenizer"] = extra


# Variants of the fixture exercising other tokenizer.json options; the C++ test applies
# the same edits (tests/model/tokenizer_test.cpp, applyVariant).
VARIANT_TEXTS = TRICKY + [
    "go gone ago go. Go go",
    "see <image>   then <memory>   next",
    "  <image>x<memory>\n\ny",
    "let's go\tgo",
]


def apply_variant(root, name):
    if name == "flags":
        for t in root["added_tokens"]:
            if t["content"] == "<image>":
                t["lstrip"] = True
            if t["content"] == "<memory>":
                t["rstrip"] = True
        root["added_tokens"].append({"id": len(root["model"]["vocab"]) + len(root["added_tokens"]),
                                     "content": "go", "single_word": True, "lstrip": False,
                                     "rstrip": False, "normalized": True, "special": False})
    elif name == "gpt2":
        root["normalizer"] = None
        root["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True,
                                 "trim_offsets": True, "use_regex": True}
    return root


def tokenizer_variants_golden():
    from tokenizers import Tokenizer

    with open(os.path.join(TOK_DIR, "tokenizer.json"), encoding="utf-8") as f:
        base = f.read()
    out = {}
    for name in ("flags", "gpt2"):
        tok = Tokenizer.from_str(json.dumps(apply_variant(json.loads(base), name)))
        out[name] = [{"text": t, "ids": tok.encode(t, add_special_tokens=True).ids}
                     for t in VARIANT_TEXTS]
    with open(os.path.join(OUT, "tokenizer_variants.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    import tokenizers
    import transformers
    meta["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                        "tokenizers": tokenizers.__version__}
    try:
        import torchvision
        meta["versions"]["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    steps = (tokenizer_golden, tokenizer_variants_golden, siglip_golden, preprocess_golden)
    if len(sys.argv) > 2:  # e.g. "tokenizer_variants_golden" to redo one step
        steps = tuple(f for f in steps if f.__name__ in sys.argv[2:])
    for step in steps:
        try:
            step()
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            meta["failed_" + step.__name__] = repr(e)
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta, indent=1))
