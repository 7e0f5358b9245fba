#!/usr/bin/env python3
"""Golden fixtures for QLLaMA and InternVL-C / InternVL-G, made by OpenGVLab's own modeling code (the
independent reference): modeling_internvl.py, modeling_qllama.py and modeling_intern_vit.py of
clip_benchmark/clip_benchmark/models/internvl_huggingface/ in github.com/OpenGVLab/InternVL (commit
2410d1dbf208f0e799459aff9376e5747dbf41a2 was used). That code is not part of this repository: pass the
directory that holds those files (with configuration_*.py and flash_attention.py) as --reference.
It needs transformers 4.3x (it was run with transformers 4.37.2, torch 2.15, timm 0.9.12, peft 0.8.2,
einops 0.7.0 in a venv with --system-site-packages).

Three tiny random models, each saved as a Hugging Face model directory in InternVL-14B-224px's layout
(vision_model.*, qllama.*, query_tokens, clip_projector*, text_projection, logit_scale, itm_head.*):

  tiny  preset TinyInternVL: tiny 6B-style InternViT (64 wide, 3 blocks, 56 px) + an 8-wide QLLaMA with
        the real vocabulary (49,954, so text from the real tokenizer runs through it), 4 layers with
        cross-attention in layers 0 and 2, 96 queries, embeddings of 16. Saved in f32 and bf16, sharded
        (3 shards); embed_tokens and lm_head hold bf16-representable values and are stored as bf16 in
        both directories, in a first shard that is byte-identical between them. The committed copy of
        QLLaMA's tokenizer.model is placed in both directories.
  dyn   a shape that matches no preset (the runtime-shaped path): 40-wide InternViT, 24-wide QLLaMA of
        3 layers with 12 queries, vocabulary 300, embeddings of 10. f32 only, one file.
  forced  dyn's shape with force_image_size 84 (vision_config.image_size stays 56), as the official
        fine-tuned 364 px checkpoints are: InternVLModel resizes its position table to the forced size
        when it is built, so the checkpoint stores the 6 x 6 table and the model runs on 84 px images.

Two generalisations of the official code, needed for widths other than the real ones, are applied to
the constructed modules (official.py; the forward code runs unmodified; dyn has 12 queries).

Expected outputs, per model and run (f32: the model in f32; bf16w: bf16-rounded weights run in f32;
bf16c: the model run in bf16 end to end, as PyTorch does), computed with encode_image / encode_text /
forward of InternVLModel and forward hooks on QLLaMA's decoder layers:
  vit_tokens            InternViT's last hidden state of the pixels        [B, 1+N, Dv]
  image_hidden{k}       image path: k = 0 the queries, k = the output of layer k   [B, Q, D]
  query_outputs         image path after the final norm                    [B, Q, D]
  text_hidden{k}        text path, same numbering                          [T, L, D]
  text_last             text path after the final norm                     [T, L, D]
  image_features_{C,G}  encode_image(mode)                                 [B, E]
  text_features         encode_text                                        [T, E]
  logits_{C,G}          forward(mode): exp(logit_scale) · normalised image · normalised textᵀ   [B, T]
  zero_shot_{C,G}       tiny f32 only: class probabilities [B, C] for the classes and templates of
                        zero_shot.json, by clip_benchmark's recipe on encode_text / encode_image (each
                        template's text embedding normalised, averaged per class, normalised again;
                        softmax of exp(logit_scale) · normalised image · class weightsᵀ); texts padded to 80
Inputs: pixels [B, 3, 56, 56] (forced: 84) and text ids [T, L] (tiny: the real tokenizer's ids for texts.json, with the
rules of text/tokenizer.hpp, padded to 16; dyn and forced: synthetic ids).
Run: python3 tests/golden/internvl/make.py --reference /path/to/internvl_huggingface
"""
import argparse
import json
import pathlib
import shutil

import numpy as np
import sentencepiece as spm
import torch
from safetensors.torch import save_file

from official import build as build_official
from official import import_reference

parser = argparse.ArgumentParser()
parser.add_argument("--reference", required=True, help="directory of OpenGVLab's internvl_huggingface modeling code")
args = parser.parse_args()

import_reference(args.reference)
from internvl_reference.configuration_internvl import InternVLConfig  # noqa: E402

here = pathlib.Path(__file__).resolve().parent
tokenizer_model = here.parent / "text" / "qllama-tokenizer.model"
torch.manual_seed(20240)

MODELS = {
    "tiny": dict(
        vision=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=128),
        qllama=dict(vocab_size=49954, hidden_size=8, intermediate_size=20, num_hidden_layers=4, num_attention_heads=2),
        top=dict(clip_embed_dim=16, attn_pool_num_heads=4, num_query_token=96, cross_attention_frequency=2)),
    "dyn": dict(
        vision=dict(hidden_size=40, num_hidden_layers=2, num_attention_heads=5, intermediate_size=80),
        qllama=dict(vocab_size=300, hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3),
        top=dict(clip_embed_dim=10, attn_pool_num_heads=4, num_query_token=12, cross_attention_frequency=2)),
    "forced": dict(
        vision=dict(hidden_size=40, num_hidden_layers=2, num_attention_heads=5, intermediate_size=80),
        qllama=dict(vocab_size=300, hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3),
        top=dict(clip_embed_dim=10, attn_pool_num_heads=4, num_query_token=12, cross_attention_frequency=2),
        force_image_size=84),
}


def build(spec_):
    vision = dict(image_size=56, patch_size=14, qkv_bias=False, qk_normalization=True, use_flash_attn=False,
                  layer_norm_eps=1e-6, initializer_factor=0.1, **spec_["vision"])
    qllama = dict(rms_norm_eps=1e-6, hidden_act="silu", pad_token_id=0, bos_token_id=1, eos_token_id=2,
                  tie_word_embeddings=False, max_position_embeddings=2048, **spec_["qllama"])
    config = InternVLConfig(vision_config=vision, qllama_config=qllama,
                            force_image_size=spec_.get("force_image_size"), **spec_["top"])
    return config, build_official(config)


def bf16_values(t):
    return t.to(torch.bfloat16).to(torch.float32)


def randomize(model):
    """Random weights of a realistic scale; norm weights and layer scales away from their inits."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ls1", "ls2")):
                p.copy_(torch.rand_like(p) * 0.5 + 0.05)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "position_embedding" in name or "class_embedding" in name:
                p.copy_(0.5 * torch.randn_like(p))
            elif name in ("query_tokens", "qllama.model.embed_tokens.weight"):
                p.copy_(torch.randn_like(p))
            elif name == "logit_scale":
                p.fill_(float(np.log(60.0)))
            elif name == "text_projection":  # used as x·P: fan-in is the first dimension
                p.copy_(torch.randn_like(p) / p.shape[0] ** 0.5)
            else:  # matrices and conv kernels: unit-variance outputs
                p.copy_(torch.randn_like(p) / p[0].numel() ** 0.5)
        for name in ("qllama.model.embed_tokens.weight", "qllama.lm_head.weight"):  # stored as bf16 everywhere
            p = model.get_parameter(name)
            p.copy_(bf16_values(p))
    return model


def save_dir(name, model, config, dtype, shards):
    """The model as a Hugging Face directory; with shards, the vocabulary tables go to a first shard of their own."""
    d = here / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items() if "rotary_emb" not in k}
    vocabulary = ["qllama.model.embed_tokens.weight", "qllama.lm_head.weight"]
    if not shards:
        save_file(tensors, d / "model.safetensors", metadata={"format": "pt"})
        return d
    for k in vocabulary:
        tensors[k] = tensors[k].to(torch.bfloat16)
    groups = [vocabulary, sorted(k for k in tensors if k.startswith("vision_model.")),
              sorted(k for k in tensors if k not in vocabulary and not k.startswith("vision_model."))]
    weight_map = {}
    for s, group in enumerate(groups):
        file = f"model-{s + 1:05d}-of-{len(groups):05d}.safetensors"
        save_file({k: tensors[k] for k in group}, d / file, metadata={"format": "pt"})
        weight_map.update({k: file for k in group})
    total = sum(v.numel() * v.element_size() for v in tensors.values())
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(tokenizer_model, d / "tokenizer.model")
    return d


def save(name, t):
    np.save(here / f"{name}.npy", t.detach().to(torch.float32).numpy())


def tokenize(texts, length):
    """text/tokenizer.hpp's rules: [BOS] + sp("summarize:" + text)[:78] + [EOS], right-padded with 0."""
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    rows = [[1] + sp.encode("summarize:" + t)[:78] + [2] for t in texts]
    return torch.tensor([r + [0] * (length - len(r)) for r in rows], dtype=torch.long)


def run(prefix, model, pixels, ids):
    """Every expected output of one model run (see the module docstring)."""
    dtype = next(model.parameters()).dtype
    pixels = pixels.to(dtype)
    captured = {}

    def hooks(path):
        layers = model.qllama.model.layers
        handles = [layers[0].register_forward_pre_hook(lambda m, a: captured.__setitem__((path, 0), a[0]))]
        for i, layer in enumerate(layers):
            handles.append(layer.register_forward_hook(
                lambda m, a, out, i=i: captured.__setitem__((path, i + 1), out[0])))
        return handles

    with torch.no_grad():
        save(f"{prefix}_vit_tokens", model.vision_model(pixel_values=pixels, return_dict=True).last_hidden_state)
        handles = hooks("image")
        _, query_outputs = model.get_image_features(pixel_values=pixels, return_dict=True)
        for h in handles:
            h.remove()
        handles = hooks("text")
        text_last = model.get_text_features(input_ids=ids, attention_mask=ids > 0, return_dict=True)
        for h in handles:
            h.remove()
        save(f"{prefix}_query_outputs", query_outputs)
        save(f"{prefix}_text_last", text_last)
        for (path, k), h in captured.items():
            save(f"{prefix}_{path}_hidden{k}", h)
        for mode in ("C", "G"):
            save(f"{prefix}_image_features_{mode}", model.encode_image(pixels, mode=f"InternVL-{mode}"))
            logits, _ = model(pixels, ids, mode=f"InternVL-{mode}")
            save(f"{prefix}_logits_{mode}", logits)
        save(f"{prefix}_text_features", model.encode_text(ids))


def zero_shot(prefix, model, pixels):
    """clip_benchmark's zero_shot_classifier + probabilities, with the model's own logit scale."""
    spec_ = json.loads((here / "zero_shot.json").read_text())
    with torch.no_grad():
        weights = []
        for c in spec_["classes"]:
            t = model.encode_text(tokenize([x.replace("{c}", c) for x in spec_["templates"]], 80))
            t = t / t.norm(dim=-1, keepdim=True)
            mean = t.mean(dim=0)
            weights.append(mean / mean.norm())
        weights = torch.stack(weights)
        for mode in ("C", "G"):
            image = model.encode_image(pixels, mode=f"InternVL-{mode}")
            image = image / image.norm(dim=-1, keepdim=True)
            save(f"{prefix}_zero_shot_{mode}", (model.logit_scale.exp() * image @ weights.t()).softmax(dim=-1))


texts = json.loads((here / "texts.json").read_text())
for name, spec_ in MODELS.items():
    config, model = build(spec_)
    randomize(model)
    size = spec_.get("force_image_size", 56)
    pixels = torch.randn(2, 3, size, size)
    if name == "tiny":
        ids = tokenize(texts, 16)
    else:  # synthetic ids of the small vocabulary, right-padded, one of full length
        ids = torch.tensor([[1, 57, 299, 4, 2, 0, 0], [1, 8, 2, 0, 0, 0, 0], [1, 250, 3, 3, 31, 160, 2]])
    save(f"{name}_pixels", pixels)
    np.save(here / f"{name}_ids.npy", ids.numpy().astype(np.int64))
    save_dir(f"{name}_f32", model, config, torch.float32, shards=name == "tiny")
    run(f"{name}_f32", model, pixels, ids)
    if name == "tiny":
        zero_shot(f"{name}_f32", model, pixels)
    if name == "tiny":
        save_dir(f"{name}_bf16", model, config, torch.bfloat16, shards=True)
        weights = {k: bf16_values(v) for k, v in model.state_dict().items()}
        bf16w = build(spec_)[1]
        bf16w.load_state_dict(weights, strict=False)
        run(f"{name}_bf16w", bf16w, pixels, ids)
        bf16c = build(spec_)[1].to(torch.bfloat16)
        bf16c.load_state_dict({k: v.to(torch.bfloat16) for k, v in weights.items()}, strict=False)
        run(f"{name}_bf16c", bf16c, pixels, ids)
print("wrote", len(list(here.iterdir())), "files to", here)
