"""Golden outputs for a tiny LLaVA/StreamVLN-style model, end to end.

Builds, with transformers and seeded random weights, the model StreamVLN is: SigLIP vision
tower (LLaVA's cut: hidden state of layer N-1, no post-layernorm), mlp2x_gelu projector on all
patches, bilinear 2x pooling of the patch grid, Qwen2 decoder fed with text embeddings in
which every <image> id is replaced by one frame's pooled tokens. Saves the checkpoint with
the released model's tensor names and config keys, and the logits for a two-turn window.

Run on the GPU machine (transformers 5.x, tokenizers, torch):
  python3 tests/data/model/streamvln/make_golden.py --out OUT
and copy OUT/* here. Uses ../tokenizer/tokenizer.json (the project's synthetic tokenizer).
"""
import argparse, json, os, shutil

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM, SiglipVisionConfig, SiglipVisionModel

HERE = os.path.dirname(os.path.abspath(__file__))
TOK_DIR = os.path.join(HERE, "..", "tokenizer")

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
out = ap.parse_args().out
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

text_cfg = Qwen2Config(vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
                       rms_norm_eps=1e-6, tie_word_embeddings=True, max_position_embeddings=4096)
vis_cfg = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                             num_attention_heads=2, image_size=112, patch_size=14,
                             layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
lm = Qwen2ForCausalLM(text_cfg).eval()
tower = SiglipVisionModel(vis_cfg).eval()
proj = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 64)).eval()
with torch.no_grad():  # non-trivial norms and biases so a wrong mapping shows
    for m in [lm, tower, proj]:
        for n, p in m.named_parameters():
            if n.endswith("bias") or "norm" in n:
                p.add_(torch.randn_like(p) * 0.05)

tok = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
image_id = tok.token_to_id("<image>")
prompt = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
          "You are an autonomous navigation assistant. Your task is to walk past the blue sofa "
          "and stop at the kitchen door. Devise an action sequence to follow the instruction "
          "using the four actions: TURN LEFT (\u2190) or TURN RIGHT (\u2192) by 15 degrees, MOVE "
          "FORWARD (\u2191) by 25 centimeters, or STOP. you can see <image>.<|im_end|>\n"
          "<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n\u2191\u2191\u2190\u2191<|im_end|>"
          "<|im_start|>user\nthere is <image>.<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n"
          "<|im_start|>assistant\n\u2192\u2191")
ids = tok.encode(prompt).ids
assert ids.count(image_id) == 2

g = torch.Generator().manual_seed(1)
frames = torch.randint(0, 256, (2, 112, 112, 3), dtype=torch.uint8, generator=g)
pixels = (frames.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
with torch.no_grad():
    hs = tower(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]  # [2, 64, 32]
    feats = proj(hs)                                                          # [2, 64, 64]
    grid = feats.view(2, 8, 8, 64).permute(0, 3, 1, 2)
    pooled = F.interpolate(grid, size=(4, 4), mode="bilinear", align_corners=False)
    pooled = pooled.permute(0, 2, 3, 1).reshape(2, 16, 64)
    emb = lm.get_input_embeddings()
    rows, k = [], 0
    for i in ids:
        if i == image_id:
            rows.append(pooled[k]); k += 1
        else:
            rows.append(emb(torch.tensor([i])))
    embeds = torch.cat(rows, 0).unsqueeze(0)
    logits = lm(inputs_embeds=embeds).logits[0]
    positions = list(range(logits.shape[0] - 12, logits.shape[0]))

state = {}
for n, p in lm.state_dict().items():
    if n == "lm_head.weight":
        continue  # tied
    state[n] = p.contiguous()
for n, p in tower.state_dict().items():
    if not n.startswith("vision_model."):
        n = "vision_model." + n
    if ".head." in n or n.startswith("vision_model.head"):
        continue
    if ".encoder.layers.2." in n:
        continue  # LLaVA deletes the last layer
    state["model.vision_tower.vision_tower." + n] = p.contiguous()
for n, p in proj.state_dict().items():
    state["model.mm_projector." + n] = p.contiguous()
save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})

config = text_cfg.to_dict()
config.update({"architectures": ["LlavaQwenForCausalLM"], "model_type": "llava_qwen",
               "mm_vision_tower": "google/siglip-so400m-patch14-384", "mm_hidden_size": 32,
               "mm_projector_type": "mlp2x_gelu", "mm_spatial_pool_mode": "bilinear",
               "mm_vision_select_layer": -2, "num_frames": 32, "num_history": 8,
               "num_future_steps": 4, "rope_theta": 10000.0, "torch_dtype": "float32",
               "vision_config": {"hidden_size": 32, "intermediate_size": 64,
                                 "num_hidden_layers": 3, "num_attention_heads": 2,
                                 "image_size": 112, "patch_size": 14, "layer_norm_eps": 1e-6}})
config.pop("rope_parameters", None)
config.pop("dtype", None)
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=1, default=str)
for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
    shutil.copy(os.path.join(TOK_DIR, name), os.path.join(out, name))
save_file({"frames": frames.contiguous(), "logits": logits[positions].contiguous(),
           "positions": torch.tensor(positions, dtype=torch.int64),
           "ids": torch.tensor(ids, dtype=torch.int64),
           "pooled": pooled.contiguous()}, os.path.join(out, "golden.safetensors"))
print("ok", len(ids), "ids,", len(state), "tensors")
