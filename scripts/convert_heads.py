#!/usr/bin/env python3
"""Converts the official InternViT head checkpoints (.pth) to internvl-cpp head files, and the InternViT
backbone they may hold to a model directory.

Head files (include/internvl/heads/head_file.hpp) are safetensors with the official parameter names and a JSON
description under the metadata key "internvl_head". Recognised checkpoints:

  classification  checkpoint['model'] (or ['module'], or a bare state dict) with
                    norm.{weight,bias,running_mean,running_var,num_batches_tracked}, head.{weight,bias}
                        -> "linear_probe" (the released intern_vit_6b_224px_head.pth)
                    + attn_pooling.*  -> "attention_pool_probe"
                  raw backbone tensors (cls_token, pos_embed, patch_embed.*, blocks.*) may sit beside them;
                  clip_projector.* is dropped.
  segmentation    mmseg checkpoint['state_dict'] with decode_head.*, auxiliary_head.* (dropped) and backbone.*:
                    decode_head.norm.* + decode_head.conv_seg.*          -> "seg_linear"
                    decode_head.{psp_modules,bottleneck,lateral_convs,fpn_convs,fpn_bottleneck,conv_seg}.*
                    + backbone.up1.*, backbone.up2.*                       -> "seg_upernet"
                  the frozen backbone blocks (backbone.cls_token, backbone.blocks.*, ...) are not part of the head.

The description gets the official settings unless flags say otherwise: linear probe bn_eps 1e-6 and the
ImageNet class names for 1000 classes; attention pooling 25 heads (InternViT-6B) and LayerNorm eps 1e-5;
segmentation crop 504, stride 322, BatchNorm eps 1e-5, layer 44 (linear probing; the few-shot configs use 47) or
layers 11, 23, 35, 47 (UperNet, channels read from the tensors, pool scales 1, 2, 3, 6, LayerNorm eps 1e-6),
and the ADE20K class names and palette for 150 classes.

With --backbone-out DIR the backbone a checkpoint holds is written as a model directory (config.json in the
original remote-code style, model.safetensors with the original names: embeddings.*, encoder.layers.*), read by
the C++ loader. The input may also be a Hugging Face model directory with PyTorch .bin shards (as published for
OpenGVLab/InternViT-6B-224px): its tensors are written unchanged to DIR/model.safetensors with its config.json.

  python3 scripts/convert_heads.py intern_vit_6b_224px_head.pth --head-out imagenet-head.safetensors
  python3 scripts/convert_heads.py upernet_..._frozen.pth --head-out ade20k-upernet.safetensors
  python3 scripts/convert_heads.py intern_vit_6b_224px.pth --backbone-out InternViT-6B-224px
  python3 scripts/convert_heads.py path/to/InternViT-6B-224px --backbone-out InternViT-6B-224px-st

Needs: torch, safetensors, numpy.
"""
import argparse
import json
import pathlib
import pickle
import re
import shutil
import sys

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABELS = ROOT / "configs" / "labels"

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
BACKBONE_ROOTS = ("cls_token", "pos_embed", "patch_embed.", "blocks.")


class ConversionError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------------
# Reading checkpoints.

def load_checkpoint(path, trust_pickle):
    """The state dict of a .pth file: checkpoint['state_dict'] (mmseg), ['model'] (classification), ['module']
    (DeepSpeed), or the checkpoint itself. Tensors are memory-mapped where the file format allows it."""
    def load(mmap):
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle, mmap=mmap)

    try:
        try:
            checkpoint = load(mmap=True)
        except RuntimeError as e:  # files in the legacy (non-zip) format cannot be mapped
            if "mmap" not in str(e):
                raise
            checkpoint = load(mmap=False)
    except pickle.UnpicklingError as e:
        reason = next((line.strip() for line in str(e).splitlines() if "Unsupported" in line), "a non-tensor object")
        raise ConversionError(f"{path}: torch.load(weights_only=True) refused the file ({reason}); if you trust it, "
                              "rerun with --trust-pickle") from e
    if not isinstance(checkpoint, dict):
        raise ConversionError(f"{path}: expected a dict checkpoint, got {type(checkpoint).__name__}")
    for key in ("state_dict", "model", "module"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
            break
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConversionError(f"{path}: no tensors found (looked under 'state_dict', 'model', 'module' and the top level)")
    return tensors


# ----------------------------------------------------------------------------------------------------------
# Heads.

def head_type(sd):
    if "decode_head.conv_seg.weight" in sd:
        if "decode_head.lateral_convs.0.conv.weight" in sd:
            return "seg_upernet"
        if "decode_head.norm.weight" in sd:
            return "seg_linear"
        raise ConversionError("decode_head.conv_seg found, but neither UperNet lateral convs nor a linear head's "
                              "decode_head.norm: not an InternViT segmentation head")
    if "head.weight" in sd and "norm.weight" in sd:
        return "attention_pool_probe" if "attn_pooling.cross_attn.q.weight" in sd else "linear_probe"
    return None


def head_names(kind, sd):
    """The official tensor names of a head of this kind (BatchNorm's num_batches_tracked where the checkpoint has
    it); missing tensors, and head tensors the kind does not use, are errors."""
    bn = lambda p: [f"{p}.{k}" for k in BN]
    conv_module = lambda p: [f"{p}.conv.weight"] + bn(f"{p}.bn")
    if kind == "linear_probe":
        names = bn("norm") + ["head.weight", "head.bias"]
    elif kind == "attention_pool_probe":
        names = [f"attn_pooling.norm1_{x}.{k}" for x in "qkv" for k in ("weight", "bias")]
        names += [f"attn_pooling.cross_attn.{x}.weight" for x in "qkv"] + [f"attn_pooling.cross_attn.{x}_bias" for x in "qkv"]
        names += ["attn_pooling.cross_attn.proj.weight", "attn_pooling.cross_attn.proj.bias"]
        names += bn("norm") + ["head.weight", "head.bias"]
    elif kind == "seg_linear":
        names = bn("decode_head.norm") + ["decode_head.conv_seg.weight", "decode_head.conv_seg.bias"]
    else:
        names = [f"backbone.{m}.{k}" for m in ("up1.0", "up1.1", "up1.3", "up2.0") for k in ("weight", "bias")]
        scales = {k.split(".")[2] for k in sd if k.startswith("decode_head.psp_modules.")}
        names += [n for i in range(len(scales)) for n in conv_module(f"decode_head.psp_modules.{i}.1")]
        names += conv_module("decode_head.bottleneck") + conv_module("decode_head.fpn_bottleneck")
        names += [n for i in range(3) for m in ("lateral_convs", "fpn_convs") for n in conv_module(f"decode_head.{m}.{i}")]
        names += ["decode_head.conv_seg.weight", "decode_head.conv_seg.bias"]
    missing = [n for n in names if n not in sd and not n.endswith("num_batches_tracked")]
    if missing:
        raise ConversionError(f"the {kind} head lacks {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
    head_roots = ("norm.", "head.", "attn_pooling.", "decode_head.", "backbone.up")
    unused = sorted(k for k in sd if k.startswith(head_roots) and k not in names)
    if unused:
        raise ConversionError(f"tensors a {kind} head does not use: {', '.join(unused[:5])}"
                              + (" ..." if len(unused) > 5 else ""))
    return [n for n in names if n in sd]


def read_labels(spec, classes, dataset):
    """(labels, palette) from --labels: 'auto' (the official dataset's when the class count matches), 'none', or
    a file (one name per line, or a JSON file with "labels" and optionally "palette")."""
    if spec == "none":
        return None, None
    if spec == "auto":
        path = LABELS / f"{dataset}.json"
        data = json.loads(path.read_text())
        if len(data["labels"]) != classes:
            return None, None
        return data["labels"], data.get("palette")
    text = pathlib.Path(spec).read_text()
    if spec.endswith(".json"):
        data = json.loads(text)
        labels, palette = data["labels"], data.get("palette")
    else:
        labels, palette = [line.rstrip("\r") for line in text.splitlines()], None
        while labels and not labels[-1]:
            labels.pop()
    if len(labels) != classes or (palette is not None and len(palette) != classes):
        raise ConversionError(f"{spec}: {len(labels)} labels for a head of {classes} classes")
    return labels, palette


def describe(kind, sd, args):
    if kind in ("linear_probe", "attention_pool_probe"):
        classes = sd["head.weight"].shape[0]
        d = {"type": kind, "num_classes": classes, "bn_eps": args.bn_eps if args.bn_eps is not None else 1e-6}
        if kind == "attention_pool_probe":
            width = sd["head.weight"].shape[1]
            heads = args.num_heads or {3200: 25, 1024: 16}.get(width)
            if heads is None:
                raise ConversionError(f"attention pooling over width {width}: give its head count with --num-heads")
            d.update(ln_eps=args.ln_eps if args.ln_eps is not None else 1e-5, num_heads=heads)
        if args.layer is not None:
            d["layer"] = args.layer
        labels, palette = read_labels(args.labels, classes, "imagenet1k")
    else:
        classes = sd["decode_head.conv_seg.weight"].shape[0]
        d = {"type": kind, "num_classes": classes, "bn_eps": args.bn_eps if args.bn_eps is not None else 1e-5}
        if kind == "seg_linear":
            d["layer"] = args.layer if args.layer is not None else 44
        else:
            scales = len({k.split(".")[2] for k in sd if k.startswith("decode_head.psp_modules.")})
            pool_scales = args.pool_scales or [1, 2, 3, 6]
            if len(pool_scales) != scales:
                raise ConversionError(f"the checkpoint has {scales} pyramid pooling modules; give their scales with "
                                      "--pool-scales")
            d.update(ln_eps=args.ln_eps if args.ln_eps is not None else 1e-6,
                     layers=args.layers or [11, 23, 35, 47],
                     channels=sd["decode_head.bottleneck.conv.weight"].shape[0], pool_scales=pool_scales)
        d.update(crop_size=args.crop_size, stride=args.stride)
        labels, palette = read_labels(args.labels, classes, "ade20k")
    if labels is not None:
        d["labels"] = labels
    if palette is not None and kind.startswith("seg_"):
        d["palette"] = palette
    return d


def write_head(path, kind, sd, description):
    tensors = {n: sd[n].contiguous() for n in head_names(kind, sd)}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt", "internvl_head": json.dumps(description)})
    return tensors


# ----------------------------------------------------------------------------------------------------------
# Backbones.

def backbone_prefix(sd):
    """'' or 'backbone.' when the checkpoint holds raw InternViT tensors (cls_token, pos_embed, ...), else None."""
    for prefix in ("", "backbone."):
        if prefix + "cls_token" in sd and prefix + "pos_embed" in sd:
            return prefix
    return None


def original_name(raw):
    """Raw (classification / segmentation) name -> the original remote-code name (facts §1.5 (b))."""
    name = raw.replace("cls_token", "embeddings.class_embedding").replace("pos_embed", "embeddings.position_embedding")
    name = name.replace("patch_embed.proj.", "embeddings.patch_embedding.")
    name = re.sub(r"^blocks\.", "encoder.layers.", name)
    return name.replace(".ls1.gamma", ".ls1").replace(".ls2.gamma", ".ls2")


def backbone_config(tensors, num_heads):
    width = tensors["embeddings.class_embedding"].shape[-1]
    patch = tensors["embeddings.patch_embedding.weight"].shape[-1]
    grid = round((tensors["embeddings.position_embedding"].shape[1] - 1) ** 0.5)
    layers = 1 + max(int(k.split(".")[2]) for k in tensors if k.startswith("encoder.layers."))
    heads = num_heads or {3200: 25, 1024: 16}.get(width)
    if heads is None:
        raise ConversionError(f"a backbone of width {width}: give its head count with --num-heads")
    dtype = {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(tensors["embeddings.class_embedding"].dtype,
                                                                       "float32")
    return {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_act": "gelu",
        "hidden_size": width, "image_size": grid * patch, "patch_size": patch,
        "intermediate_size": tensors["encoder.layers.0.mlp.fc1.weight"].shape[0],
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_channels": 3, "layer_norm_eps": 1e-6,
        "qkv_bias": "encoder.layers.0.attn.qkv.bias" in tensors,
        "qk_normalization": "encoder.layers.0.attn.q_norm.weight" in tensors,
        "norm_type": "layer_norm" if "encoder.layers.0.norm1.bias" in tensors else "rms_norm",
        "initializer_factor": 0.1, "use_flash_attn": False, "torch_dtype": dtype,
    }


def backbone_names(sd, prefix):
    return [k for k in sd if k.startswith(prefix) and k[len(prefix):].startswith(BACKBONE_ROOTS)]


def write_backbone(directory, sd, prefix, num_heads):
    tensors = {original_name(k[len(prefix):]): sd[k].contiguous() for k in backbone_names(sd, prefix)}
    config = backbone_config(tensors, num_heads)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return config


def convert_hf_directory(source, directory):
    """A Hugging Face model directory with pytorch_model*.bin shards -> DIR/model.safetensors + config.json."""
    shards = sorted(source.glob("pytorch_model*.bin"))
    if not shards:
        raise ConversionError(f"{source}: a directory without pytorch_model*.bin shards (model.safetensors is read "
                              "by the C++ loader as it is)")
    tensors = {}
    for shard in shards:
        tensors.update({k: v.contiguous() for k, v in torch.load(shard, map_location="cpu", weights_only=True).items()})
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "config.json", directory / "config.json")
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    print(f"backbone: {len(tensors)} tensors from {len(shards)} shards -> {directory}/model.safetensors")


# ----------------------------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="an official .pth file, or a Hugging Face directory of .bin shards")
    p.add_argument("--head-out", help="the head file to write (default, with --backbone-out: DIR/head.safetensors)")
    p.add_argument("--backbone-out", help="write the checkpoint's InternViT backbone as a model directory here")
    p.add_argument("--layer", type=int, help="0-based block a probe / linear segmentation head reads")
    p.add_argument("--layers", type=lambda s: [int(x) for x in s.split(",")], help="UperNet's 4 blocks, e.g. 11,23,35,47")
    p.add_argument("--num-heads", type=int, help="attention heads (attention pooling, backbone config)")
    p.add_argument("--pool-scales", type=lambda s: [int(x) for x in s.split(",")], help="UperNet PPM scales")
    p.add_argument("--bn-eps", type=float)
    p.add_argument("--ln-eps", type=float)
    p.add_argument("--crop-size", type=int, default=504)
    p.add_argument("--stride", type=int, default=322)
    p.add_argument("--labels", default="auto", help="auto (official dataset's), none, or a file")
    p.add_argument("--trust-pickle", action="store_true", help="allow torch.load to unpickle arbitrary objects")
    args = p.parse_args(argv)
    source = pathlib.Path(args.checkpoint)
    try:
        if not source.exists():
            raise ConversionError(f"{source}: no such file or directory")
        if source.is_dir():
            if not args.backbone_out:
                raise ConversionError(f"{source} is a directory: give --backbone-out DIR to convert its .bin shards")
            convert_hf_directory(source, pathlib.Path(args.backbone_out))
            return 0
        if not args.head_out and not args.backbone_out:
            raise ConversionError("give --head-out FILE and/or --backbone-out DIR")
        sd = load_checkpoint(source, args.trust_pickle)
        kind = head_type(sd)
        prefix = backbone_prefix(sd)
        head_out = args.head_out or (str(pathlib.Path(args.backbone_out) / "head.safetensors") if kind else None)
        used = set()
        if head_out:
            if kind is None:
                raise ConversionError(f"{source}: no classification or segmentation head found")
            description = describe(kind, sd, args)
            tensors = write_head(pathlib.Path(head_out), kind, sd, description)
            used.update(tensors)
            print(f"head: {kind}, {description['num_classes']} classes, {len(tensors)} tensors -> {head_out}")
        if args.backbone_out:
            if prefix is None:
                raise ConversionError(f"{source}: no InternViT backbone in this checkpoint (no cls_token / pos_embed)")
            c = write_backbone(pathlib.Path(args.backbone_out), sd, prefix, args.num_heads)
            used.update(backbone_names(sd, prefix))
            print(f"backbone: {c['num_hidden_layers']} blocks, width {c['hidden_size']}, image {c['image_size']} "
                  f"-> {args.backbone_out}")
        elif prefix is not None:
            blocks = len({k[len(prefix):].split(".")[1] for k in sd if k.startswith(prefix + "blocks.")})
            print(f"note: {source} also holds an InternViT backbone ({blocks} blocks); add --backbone-out DIR to "
                  "write it as a model directory")
        backbone = set(backbone_names(sd, prefix)) if prefix is not None else set()
        dropped = sorted({".".join(k.split(".")[:2 if k.startswith("backbone.") else 1]) + ".*"
                          for k in sd if k not in used and k not in backbone})
        if dropped:
            print(f"not converted (not part of the head or the backbone): {', '.join(dropped)}")
    except (ConversionError, OSError, KeyError, ValueError) as e:
        print(f"convert_heads: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
