#!/usr/bin/env python3
"""Golden fixtures for InternViT, made by Hugging Face transformers' InternVLVisionModel (the independent
reference; it covers both families) on tiny random models:

  tiny6b   6B-style blocks: RMSNorm, q/k RMSNorm over the full width, no qkv bias   (preset TinyViT6BStyle)
  tiny300m 300M-style: LayerNorm with bias, qkv bias, no q/k norm                  (preset TinyViT300MStyle)
  tinydyn  a 6B-style shape that matches no compiled preset (the runtime-shaped path)
  chat     tiny6b + pixel shuffle (v2) + the mlp1 projector, via InternVLModel.get_image_features

Each model is saved as Hugging Face model directories in both namings -- transformers' (`hf`) and the
original remote code's (`orig`, with the packed qkv) -- in f32 and bf16 (one of them sharded), together
with the inputs and every hidden state: at the native 56x56 and at 70x42, which needs the bicubic
position-embedding interpolation. bf16 expectations come twice: the bf16 weights run in f32 (`bf16w`)
and the model run in bf16 end to end as PyTorch would (`bf16c`).
Run: python3 tests/golden/vision/make.py   (writes tests/golden/vision/*)"""
import json
import pathlib
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import InternVLConfig, InternVLModel, InternVLVisionConfig, InternVLVisionModel, Qwen2Config

out = pathlib.Path(__file__).resolve().parent
torch.manual_seed(1234)

FAMILIES = {
    "tiny6b": dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=128,
                   norm_type="rms_norm", use_qk_norm=True, attention_bias=False),
    "tiny300m": dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
                     norm_type="layer_norm", use_qk_norm=False, attention_bias=True),
    "tinydyn": dict(hidden_size=40, num_hidden_layers=2, num_attention_heads=5, intermediate_size=80,
                    norm_type="rms_norm", use_qk_norm=True, attention_bias=False),
}


def vision_config(family):
    return InternVLVisionConfig(image_size=[56, 56], patch_size=[14, 14], layer_norm_eps=1e-6, **FAMILIES[family])


def randomize(model):
    """Random weights of a realistic scale; layer scales and norm weights away from their inits."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("lambda_1", "lambda_2")):
                p.copy_(torch.rand_like(p) * 0.5 + 0.05)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "position" in name or "cls" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:  # matrices and conv kernels: unit-variance outputs
                p.copy_(torch.randn_like(p) / p[0].numel() ** 0.5)
    return model


def original_names(sd, prefix="", hidden=None):
    """transformers names -> the original remote-code names (qkv packed by rows: q, k, v)."""
    renamed = {}
    layers = {}
    for k, v in sd.items():
        k2 = (k.replace("embeddings.cls_token", "embeddings.class_embedding")
               .replace("embeddings.position_embeddings", "embeddings.position_embedding")
               .replace("embeddings.patch_embeddings.projection", "embeddings.patch_embedding")
               .replace("encoder.layer.", "encoder.layers.")
               .replace("attention.projection_layer", "attn.proj")
               .replace("attention.q_norm", "attn.q_norm").replace("attention.k_norm", "attn.k_norm")
               .replace("layernorm_before", "norm1").replace("layernorm_after", "norm2")
               .replace("lambda_1", "ls1").replace("lambda_2", "ls2"))
        if ".attention." in k2 and ("q_proj" in k2 or "k_proj" in k2 or "v_proj" in k2):
            layer, kind = k2.split(".attention.")
            proj, what = kind.split(".")
            layers.setdefault((layer, what), {})[proj] = v
            continue
        renamed[prefix + k2] = v
    for (layer, what), parts in layers.items():
        renamed[f"{prefix}{layer}.attn.qkv.{what}"] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], 0)
    return renamed


def original_config(cfg):
    return {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_act": "gelu",
        "hidden_size": cfg.hidden_size, "image_size": cfg.image_size[0], "patch_size": cfg.patch_size[0],
        "intermediate_size": cfg.intermediate_size, "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers, "num_channels": 3, "layer_norm_eps": cfg.layer_norm_eps,
        "qkv_bias": cfg.attention_bias, "qk_normalization": cfg.use_qk_norm, "norm_type": cfg.norm_type,
        "initializer_factor": 0.1, "use_flash_attn": False, "torch_dtype": "float32",
    }


def save_dir(name, tensors, config, shards=1):
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    if shards == 1:
        save_file(tensors, d / "model.safetensors", metadata={"format": "pt"})
        return
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        part = names[s::shards]
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        save_file({k: tensors[k] for k in part}, d / file, metadata={"format": "pt"})
        weight_map.update({k: file for k in part})
    total = sum(v.numel() * v.element_size() for v in tensors.values())
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")


def save(name, t):
    np.save(out / f"{name}.npy", t.detach().to(torch.float32).numpy())


pixels = {"native": torch.randn(2, 3, 56, 56), "interp": torch.randn(1, 3, 70, 42)}
for key, p in pixels.items():
    save(f"pixels_{key}", p)

for family in FAMILIES:
    cfg = vision_config(family)
    model = randomize(InternVLVisionModel(cfg)).eval()
    sd = {k: v for k, v in model.state_dict().items()}
    hf_config = cfg.to_dict()
    for dtype_name, dtype in [("f32", torch.float32), ("bf16", torch.bfloat16)]:
        stored = {k: v.to(dtype) for k, v in sd.items()}
        if family == "tinydyn" and dtype_name == "bf16":
            continue
        save_dir(f"{family}_hf_{dtype_name}", stored, hf_config)
        if family != "tinydyn":
            save_dir(f"{family}_orig_{dtype_name}", original_names(stored), original_config(cfg),
                     shards=2 if dtype_name == "bf16" else 1)
    # Expected hidden states.
    runs = [("f32", model)]
    if family != "tinydyn":
        bf16w = randomize(InternVLVisionModel(cfg)).eval()
        bf16w.load_state_dict({k: v.to(torch.bfloat16).to(torch.float32) for k, v in sd.items()})
        bf16c = InternVLVisionModel(cfg).eval().to(torch.bfloat16)
        bf16c.load_state_dict({k: v.to(torch.bfloat16) for k, v in sd.items()})
        runs += [("bf16w", bf16w), ("bf16c", bf16c)]
    for run_name, m in runs:
        dtype = next(m.parameters()).dtype
        for key, p in pixels.items():
            with torch.no_grad():
                hs = m(pixel_values=p.to(dtype), output_hidden_states=True).hidden_states
            for k, h in enumerate(hs):
                save(f"{family}_{run_name}_{key}_hidden{k}", h)

# The chat path: tiny6b's vision tower + pixel shuffle v2 + mlp1, run by InternVLModel.
cfg = vision_config("tiny6b")
text = Qwen2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                   intermediate_size=64, vocab_size=64)
chat = InternVLModel(InternVLConfig(vision_config=cfg, text_config=text, downsample_ratio=0.5,
                                    vision_feature_layer=-1, vision_feature_select_strategy="default")).eval()
randomize(chat)
vision_sd = {k[len("vision_tower."):]: v for k, v in chat.state_dict().items() if k.startswith("vision_tower.")}
proj = {k: v for k, v in chat.state_dict().items() if k.startswith("multi_modal_projector.")}
chat_orig = original_names(vision_sd, prefix="vision_model.")
chat_orig.update({k.replace("multi_modal_projector.layer_norm", "mlp1.0").replace("multi_modal_projector.linear_1", "mlp1.1")
                   .replace("multi_modal_projector.linear_2", "mlp1.3"): v for k, v in proj.items()})
save_dir("chat_orig_f32", chat_orig, {
    "architectures": ["InternVLChatModel"], "model_type": "internvl_chat", "downsample_ratio": 0.5,
    "ps_version": "v2", "select_layer": -1, "template": "internlm2-chat", "force_image_size": 56,
    "vision_config": original_config(cfg), "llm_config": {"hidden_size": 32}})
hf_chat = {"model.vision_tower." + k: v for k, v in vision_sd.items()}
hf_chat.update({"model." + k: v for k, v in proj.items()})
save_dir("chat_hf_f32", hf_chat, chat.config.to_dict())
with torch.no_grad():
    features = chat.get_image_features(pixel_values=pixels["native"], vision_feature_layer=-1,
                                       vision_feature_select_strategy="default").pooler_output
save("chat_f32_native_projected", features)
print("wrote", sorted(p.name for p in out.iterdir()))
