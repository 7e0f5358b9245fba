#!/usr/bin/env python3
"""Synthetic official checkpoints for testing scripts/convert_heads.py: .pth files laid out exactly as the
released ones (facts §1.5 (b), §5, §6), filled with the tiny tensors of tests/golden (so a converted file can be
run by the C++ programs and checked against the fixtures' expected outputs) or with small random ones:

  cls_probe.pth        {'model': raw tiny6b backbone (cls_token, pos_embed, patch_embed.proj.*, blocks.{i}.*,
                        ls1.gamma, ...) + the probe_e2e_last linear probe (norm.*, head.*) + clip_projector.*},
                       as the official 224px checkpoint + head (the classification loader reads checkpoint['model'])
  cls_imagenet.pth     {'model': a linear probe of width 8 with 1000 classes}  (the released head's layout)
  cls_attn_pool.pth    {'module': the attention_pool_probe fixture (attn_pooling.*, norm.*, head.*)}
  cls_attn_pool_ema.pth  {'model': the same, 'model_ema': its floating-point tensors halved, 'max_accuracy_ema'},
                       as the classification code saves a run with TRAIN.EMA on
  seg_upernet.pth      {'state_dict': backbone.<raw tiny6b> + backbone.up1/up2 + decode_head.* (the segment
                        fixture) + auxiliary_head.*, 'meta': {...}}  (mmseg's layout)
  seg_linear_ade.pth   {'state_dict': decode_head.norm.* + decode_head.conv_seg.* with 150 classes +
                        auxiliary_head.*}, saved in torch's legacy (non-zip) format
  pickled_object.pth   a checkpoint with a non-tensor object that torch.load(weights_only=True) refuses
  hf_bin/              a Hugging Face directory with the tiny6b model as two pytorch_model-*.bin shards
Run: python3 tests/convert/make_checkpoints.py OUT_DIR"""
import argparse
import pathlib
import shutil
import sys

import torch
from safetensors.torch import load_file

golden = pathlib.Path(__file__).resolve().parent.parent / "golden"
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
g = torch.Generator().manual_seed(7)


def raw_backbone(prefix=""):
    """tests/golden/vision/tiny6b_orig_f32 under the raw names of the official .pth files."""
    renames = [("embeddings.class_embedding", "cls_token"), ("embeddings.position_embedding", "pos_embed"),
               ("embeddings.patch_embedding.", "patch_embed.proj."), ("encoder.layers.", "blocks.")]
    raw = {}
    for name, t in load_file(golden / "vision" / "tiny6b_orig_f32" / "model.safetensors").items():
        for a, b in renames:
            name = name.replace(a, b)
        if name.endswith((".ls1", ".ls2")):
            name += ".gamma"
        raw[prefix + name] = t
    return raw


def batch_norm(prefix, channels):
    return {f"{prefix}.weight": torch.rand(channels, generator=g) + 0.5, f"{prefix}.bias": torch.randn(channels, generator=g),
            f"{prefix}.running_mean": torch.randn(channels, generator=g),
            f"{prefix}.running_var": torch.rand(channels, generator=g) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(100)}


heads = golden / "heads"
probe = load_file(heads / "probe_e2e_last.safetensors")
junk = {"clip_projector.norm1_q.weight": torch.ones(64), "clip_projector.cross_attn.proj.bias": torch.zeros(8)}
torch.save({"model": {**raw_backbone(), **probe, **junk}, "epoch": 9, "max_accuracy": 88.2}, out / "cls_probe.pth")

torch.save({"model": {**batch_norm("norm", 16), "head.weight": torch.randn(1000, 16, generator=g),
                      "head.bias": torch.randn(1000, generator=g)}}, out / "cls_imagenet.pth")

torch.save({"module": load_file(heads / "attention_pool_probe.safetensors")}, out / "cls_attn_pool.pth")
pool = load_file(heads / "attention_pool_probe.safetensors")
torch.save({"model": pool, "model_ema": {k: v / 2 if v.is_floating_point() else v for k, v in pool.items()},
            "max_accuracy_ema": 80.1}, out / "cls_attn_pool_ema.pth")

aux = {"auxiliary_head.convs.0.conv.weight": torch.randn(4, 64, 3, 3, generator=g), **batch_norm("auxiliary_head.convs.0.bn", 4),
       "auxiliary_head.conv_seg.weight": torch.randn(4, 4, 1, 1, generator=g), "auxiliary_head.conv_seg.bias": torch.zeros(4)}
meta = {"CLASSES": ("a", "b", "c", "d"), "PALETTE": [[1, 2, 3]] * 4, "mmseg_version": "0.30.0", "iter": 80000,
        "config": "norm_cfg = dict(type='SyncBN', requires_grad=True)\n"}
torch.save({"state_dict": {**raw_backbone("backbone."), **load_file(heads / "segment.safetensors"), **aux}, "meta": meta},
           out / "seg_upernet.pth")

linear = {**batch_norm("decode_head.norm", 8), "decode_head.conv_seg.weight": torch.randn(150, 8, 1, 1, generator=g),
          "decode_head.conv_seg.bias": torch.randn(150, generator=g)}
torch.save({"state_dict": {**linear, **aux}, "meta": meta}, out / "seg_linear_ade.pth", _use_new_zipfile_serialization=False)

torch.save({"model": probe, "args": argparse.Namespace(lr=0.1)}, out / "pickled_object.pth")

hf = out / "hf_bin"
hf.mkdir(exist_ok=True)
tensors = load_file(golden / "vision" / "tiny6b_orig_f32" / "model.safetensors")
names = sorted(tensors)
for i, part in enumerate([names[::2], names[1::2]]):
    torch.save({k: tensors[k] for k in part}, hf / f"pytorch_model-{i + 1:05d}-of-00002.bin")
shutil.copyfile(golden / "vision" / "tiny6b_orig_f32" / "config.json", hf / "config.json")
