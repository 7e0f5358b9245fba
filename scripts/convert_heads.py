#!/usr/bin/env python3
"""Converts the official InternViT head checkpoints (.pth) to internvl-cpp head files, and the InternViT
backbone they may hold to a model directory.

Head files (include/internvl/heads/head_file.hpp) are safetensors with the official parameter names and a JSON
description under the metadata key "internvl_head". Recognised checkpoints:

  classification  checkpoint['model'] (or ['module'], or a bare state dict; with --ema, ['model_ema']) with
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
segmentation crop 504, stride 322, BatchNorm eps 1e-5, layer 44 (linear probing; the few-shot configs use 47 and
train the backbone too: give --layer 47 --backbone-out DIR) or
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

Nothing is written until everything is checked: the file's zip CRCs (torch.load skips them), the head's
tensors (float, finite, shapes that fit together), the backbone's embeddings and block numbers, the flags, the
labels, and that no output would replace a device, link or directory. Errors name the file and exit 1.

Needs: torch, safetensors, numpy.
"""
import argparse
import json
import math
import pathlib
import pickle
import re
import shutil
import sys
import zipfile

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABELS = ROOT / "configs" / "labels"

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
BACKBONE_ROOTS = ("cls_token", "pos_embed", "patch_embed.", "blocks.")


class ConversionError(Exception):
    pass


# What torch.load(weights_only=True) needs, beyond tensors and containers, to read numpy scalars (an mmcv
# checkpoint's meta.hook_msgs.best_score): numpy's scalar reconstructor and the dtypes of its scalars.
NUMPY_SCALAR_GLOBALS = [getattr(np, "_core", getattr(np, "core", None)).multiarray.scalar, np.dtype] + [
    type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_)]


# ----------------------------------------------------------------------------------------------------------
# Reading checkpoints.

def load_torch(path, trust_pickle):
    """torch.load of a .pth / .bin file; a corrupt, truncated or refused file is a ConversionError naming it.
    Zip-format files (torch.save's default) have their CRC-32s checked first: torch.load does not check them,
    so flipped bytes in the tensor data would otherwise be converted as weights. Tensors are memory-mapped
    where the format allows it."""
    def load(mmap):
        # mmcv's checkpoints of the best epoch (save_best) hold the score as a numpy scalar in meta: data, not code.
        with torch.serialization.safe_globals(NUMPY_SCALAR_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=not trust_pickle, mmap=mmap)

    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ConversionError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): {e}") from e
        if bad is not None:
            raise ConversionError(f"{path}: corrupt: the data of '{bad}' fails its CRC check")
    try:
        try:
            return load(mmap=True)
        except RuntimeError as e:  # files in the legacy (non-zip) format cannot be mapped
            if "mmap" not in str(e):
                raise
            return load(mmap=False)
    except pickle.UnpicklingError as e:
        reason = next((line.strip() for line in str(e).splitlines() if "Unsupported global" in line), None)
        if reason is not None and not trust_pickle:
            raise ConversionError(f"{path}: torch.load(weights_only=True) refused the file ({reason}); if you trust "
                                  "it, rerun with --trust-pickle") from e
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint: {e}") from e
    except ModuleNotFoundError as e:  # --trust-pickle: a pickled object of a package not installed (yacs's CfgNode)
        raise ConversionError(f"{path}: unpickling it needs the Python package '{e.name}', which is not "
                              "installed") from e
    except Exception as e:  # torch.load's RuntimeError, EOFError, KeyError, ... on a broken file
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): "
                              f"{type(e).__name__}: {e}") from e


def load_checkpoint(path, trust_pickle, ema=False):
    """The state dict of a .pth file: checkpoint['state_dict'] (mmseg), ['model'] (classification), ['module']
    (DeepSpeed), or the checkpoint itself; with ema, checkpoint['model_ema'] (the classification code's
    exponential moving average of the weights, saved when TRAIN.EMA is on). Also says whether the checkpoint
    holds EMA weights."""
    checkpoint = load_torch(path, trust_pickle)
    if not isinstance(checkpoint, dict):
        raise ConversionError(f"{path}: expected a dict checkpoint, got {type(checkpoint).__name__}")
    has_ema = isinstance(checkpoint.get("model_ema"), dict)
    if ema and not has_ema:
        raise ConversionError(f"{path}: --ema: the checkpoint holds no EMA weights ('model_ema')")
    for key in ("model_ema",) if ema else ("state_dict", "model", "module"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
            break
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConversionError(f"{path}: no tensors found (looked under " + (
            "'model_ema')" if ema else "'state_dict', 'model', 'module' and the top level)"))
    return tensors, has_ema


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


def check_head_tensors(kind, sd):
    """The shapes and values the head file's reader relies on: float, finite tensors; every BatchNorm's four
    vectors 1-D of one length; a bias as long as its weight has rows; the classifier a matrix (a 1x1
    convolution for segmentation) whose columns match the norm before it."""
    names = head_names(kind, sd)
    shape = lambda n: tuple(sd[n].shape)
    problems = []
    for n in names:
        if n.endswith("num_batches_tracked"):
            continue
        if not sd[n].is_floating_point():
            problems.append(f"{n} is {sd[n].dtype}, not floating point")
        elif not bool(torch.isfinite(sd[n]).all()):
            problems.append(f"{n} holds NaN or infinite values")
    for n in names:
        if n.endswith(".running_mean"):
            group = n[:-len("running_mean")]
            shapes = {shape(group + k) for k in ("weight", "bias", "running_mean", "running_var")}
            if len(shapes) != 1 or len(next(iter(shapes))) != 1:
                problems.append(f"{group}* (BatchNorm) vectors have shapes {sorted(shapes)}, expected one [C]")
        if not n.endswith(".weight") or sd[n].dim() < 2 or n.startswith("backbone.up"):
            continue  # (UperNet's up-sampling convolutions are transposed: [in, out, 2, 2])
        for weight, bias in ((n, n[:-len("weight")] + "bias"), (n, n[:-len(".weight")] + "_bias")):
            if bias in sd and shape(bias) != shape(weight)[:1]:
                problems.append(f"{bias} has shape {list(shape(bias))} for {weight} of shape {list(shape(weight))}")
    classifier, norm = (("head.weight", "norm.weight") if kind in ("linear_probe", "attention_pool_probe")
                        else ("decode_head.conv_seg.weight", "decode_head.norm.weight"))
    want_dims = 2 if classifier == "head.weight" else 4
    if sd[classifier].dim() != want_dims or (want_dims == 4 and shape(classifier)[2:] != (1, 1)):
        problems.append(f"{classifier} has shape {list(shape(classifier))}, expected "
                        + ("[classes, C]" if want_dims == 2 else "[classes, C, 1, 1]"))
    elif norm in sd and sd[norm].dim() == 1 and shape(norm)[0] != shape(classifier)[1]:
        problems.append(f"{classifier} has {shape(classifier)[1]} input channels, {norm} {shape(norm)[0]}")
    if problems:
        raise ConversionError(f"the {kind} head's tensors do not fit together: " + "; ".join(problems[:4])
                              + (" ..." if len(problems) > 4 else ""))


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
    if not spec:
        raise ConversionError("--labels is empty: give auto, none or a file")
    try:
        text = pathlib.Path(spec).read_text()
        if spec.endswith(".json"):
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
                raise ConversionError(f'{spec}: expected a JSON object with a "labels" list')
            labels, palette = data["labels"], data.get("palette")
        else:
            labels, palette = [line.rstrip("\r") for line in text.splitlines()], None
            while labels and not labels[-1]:
                labels.pop()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{spec}: cannot read the labels: {e}") from e
    if not all(isinstance(label, str) for label in labels):
        raise ConversionError(f"{spec}: labels must be strings")
    if len(labels) != classes:
        raise ConversionError(f"{spec}: {len(labels)} labels for a head of {classes} classes")
    colour = lambda c: isinstance(c, list) and len(c) == 3 and all(type(v) is int and 0 <= v <= 255 for v in c)
    if palette is not None and not (isinstance(palette, list) and len(palette) == classes and all(map(colour, palette))):
        raise ConversionError(f"{spec}: the palette must be {classes} colours [r, g, b] with values 0-255")
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
            if width % heads != 0:
                raise ConversionError(f"--num-heads {heads} does not divide the attention pooling's width {width}")
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
    save(tensors, path, {"format": "pt", "internvl_head": json.dumps(description)})
    return tensors


# ----------------------------------------------------------------------------------------------------------
# Writing.

def check_output(path, kind):
    """Refuses an output path that would replace something other than a `kind` ("file" or "directory"):
    safetensors writes a new file and renames it over the old one, which would put a regular file where a
    device, a link or a directory was."""
    if path.is_symlink() or (path.exists() and not (path.is_file() if kind == "file" else path.is_dir())):
        raise ConversionError(f"{path}: exists and is not a {'regular file' if kind == 'file' else 'directory'}; "
                              f"give a new path for the {kind}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConversionError(f"{path}: {parent} is not a directory")
            break


def save(tensors, path, metadata):
    try:
        save_file(tensors, str(path), metadata=metadata)
    except (SafetensorError, OSError) as e:
        raise ConversionError(f"{path}: cannot write: {e}") from e


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
    """config.json of the backbone, after checking the tensors it is read from: the embeddings' ranks and widths,
    a square grid of positions, blocks numbered 0 .. L-1, a head count that divides the width."""
    required = {"embeddings.class_embedding": 3, "embeddings.position_embedding": 3,
                "embeddings.patch_embedding.weight": 4, "encoder.layers.0.mlp.fc1.weight": 2}
    missing = [n for n in required if n not in tensors]
    if missing:
        raise ConversionError(f"the backbone lacks {', '.join(missing)}")
    wrong = [f"{n} has shape {list(tensors[n].shape)}" for n, rank in required.items() if tensors[n].dim() != rank]
    if wrong:
        raise ConversionError("the backbone's " + "; ".join(wrong) + " (expected [1, 1, D], [1, T, D], [D, 3, P, P], "
                              "[F, D])")
    width = tensors["embeddings.class_embedding"].shape[-1]
    patch = tensors["embeddings.patch_embedding.weight"].shape[-1]
    positions = tensors["embeddings.position_embedding"].shape[1] - 1
    grid = round(positions ** 0.5)
    widths = {tensors["embeddings.position_embedding"].shape[2], tensors["embeddings.patch_embedding.weight"].shape[0],
              tensors["encoder.layers.0.mlp.fc1.weight"].shape[1]}
    if widths != {width}:
        raise ConversionError(f"the backbone's widths do not agree: class token {width}, position embedding, "
                              f"patch embedding and fc1 {sorted(widths)}")
    if grid * grid != positions:
        raise ConversionError(f"the backbone's position embedding holds {positions} patch positions, not a square grid")
    blocks = set()
    for k in tensors:
        if k.startswith("encoder.layers."):
            m = re.match(r"encoder\.layers\.(\d+)\.", k)
            if m is None:
                raise ConversionError(f"the backbone tensor {k} has no block number")
            blocks.add(int(m.group(1)))
    layers = len(blocks)
    if blocks != set(range(layers)):
        raise ConversionError(f"the backbone's blocks are not numbered 0 .. {layers - 1}: {sorted(blocks)[:8]}")
    heads = num_heads or {3200: 25, 1024: 16}.get(width)
    if heads is None:
        raise ConversionError(f"a backbone of width {width}: give its head count with --num-heads")
    if width % heads != 0:
        raise ConversionError(f"--num-heads {heads} does not divide the backbone's width {width}")
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


def backbone_tensors(sd, prefix):
    return {original_name(k[len(prefix):]): sd[k].contiguous() for k in backbone_names(sd, prefix)}


def write_backbone(directory, tensors, config):
    directory.mkdir(parents=True, exist_ok=True)
    save(tensors, directory / "model.safetensors", {"format": "pt"})
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def convert_hf_directory(source, directory):
    """A Hugging Face model directory with pytorch_model*.bin shards -> DIR/model.safetensors + config.json."""
    shards = sorted(source.glob("pytorch_model*.bin"))
    if not shards:
        raise ConversionError(f"{source}: a directory without pytorch_model*.bin shards (model.safetensors is read "
                              "by the C++ loader as it is)")
    if not (source / "config.json").is_file():
        raise ConversionError(f"{source}: no config.json beside the shards")
    tensors = {}
    for shard in shards:
        state = load_torch(shard, trust_pickle=False)
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ConversionError(f"{shard}: expected a dict of tensors (a state dict), got "
                                  + (f"{type(state).__name__}" if not isinstance(state, dict) else "other values"))
        tensors.update({k: v.contiguous() for k, v in state.items()})
    check_output(directory, "directory")
    directory.mkdir(parents=True, exist_ok=True)
    save(tensors, directory / "model.safetensors", {"format": "pt"})
    shutil.copyfile(source / "config.json", directory / "config.json")
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
    p.add_argument("--ema", action="store_true", help="convert the checkpoint's EMA weights (model_ema), not model")
    args = p.parse_args(argv)
    if args.layer is not None and args.layer < 0:
        p.error("--layer must be 0 or more")
    if args.layers is not None and (len(args.layers) != 4 or min(args.layers) < 0):
        p.error("--layers takes UperNet's 4 block numbers, e.g. 11,23,35,47")
    if args.pool_scales is not None and (not args.pool_scales or min(args.pool_scales) < 1):
        p.error("--pool-scales must be positive, e.g. 1,2,3,6")
    if args.num_heads is not None and args.num_heads < 1:
        p.error("--num-heads must be 1 or more")
    for flag, eps in (("--bn-eps", args.bn_eps), ("--ln-eps", args.ln_eps)):
        if eps is not None and not (math.isfinite(eps) and eps > 0):
            p.error(f"{flag} must be a positive number")
    if args.crop_size < 1 or not 0 < args.stride <= args.crop_size:
        p.error("--crop-size must be positive and --stride between 1 and --crop-size")
    source = pathlib.Path(args.checkpoint)
    try:
        if not source.exists():
            raise ConversionError(f"{source}: no such file or directory")
        if source.is_dir():
            if not args.backbone_out or args.head_out:
                raise ConversionError(f"{source} is a directory: give --backbone-out DIR (only) to convert its .bin "
                                      "shards; a Hugging Face model directory holds no head")
            convert_hf_directory(source, pathlib.Path(args.backbone_out))
            return 0
        if not args.head_out and not args.backbone_out:
            raise ConversionError("give --head-out FILE and/or --backbone-out DIR")
        sd, has_ema = load_checkpoint(source, args.trust_pickle, args.ema)
        kind = head_type(sd)
        prefix = backbone_prefix(sd)
        head_out = args.head_out or (str(pathlib.Path(args.backbone_out) / "head.safetensors") if kind else None)
        # Everything is checked before anything is written.
        if head_out:
            if kind is None:
                raise ConversionError(f"{source}: no classification or segmentation head found")
            check_head_tensors(kind, sd)
            description = describe(kind, sd, args)
            check_output(pathlib.Path(head_out), "file")
        if args.backbone_out:
            if prefix is None:
                raise ConversionError(f"{source}: no InternViT backbone in this checkpoint (no cls_token / pos_embed)")
            backbone_weights = backbone_tensors(sd, prefix)
            config = backbone_config(backbone_weights, args.num_heads)
            check_output(pathlib.Path(args.backbone_out), "directory")
        used = set()
        if head_out:
            tensors = write_head(pathlib.Path(head_out), kind, sd, description)
            used.update(tensors)
            print(f"head: {kind}, {description['num_classes']} classes, {len(tensors)} tensors -> {head_out}")
        if args.backbone_out:
            write_backbone(pathlib.Path(args.backbone_out), backbone_weights, config)
            used.update(backbone_names(sd, prefix))
            print(f"backbone: {config['num_hidden_layers']} blocks, width {config['hidden_size']}, image "
                  f"{config['image_size']} -> {args.backbone_out}")
        elif prefix is not None:
            blocks = len({k[len(prefix):].split(".")[1] for k in sd if k.startswith(prefix + "blocks.")})
            print(f"note: {source} also holds an InternViT backbone ({blocks} blocks); add --backbone-out DIR to "
                  "write it as a model directory. Where it was trained with the head (the fully fine-tuned UperNet, "
                  "the few-shot linear heads) the head must run on it, not on the pretrained backbone")
        backbone = set(backbone_names(sd, prefix)) if prefix is not None else set()
        dropped = sorted({".".join(k.split(".")[:2 if k.startswith("backbone.") else 1]) + ".*"
                          for k in sd if k not in used and k not in backbone})
        if dropped:
            print(f"not converted (not part of the head or the backbone): {', '.join(dropped)}")
        if has_ema and not args.ema:
            print(f"note: {source} also holds EMA weights ('model_ema'; the official classification code evaluates "
                  "them too, as 'the ema network', when TRAIN.EMA is on); --ema converts those instead")
    except (ConversionError, OSError, KeyError, ValueError) as e:
        print(f"convert_heads: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
