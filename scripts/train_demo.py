#!/usr/bin/env python3
"""Trains, exports and verifies the small InternViT models of the demonstration (demo/README.md).

Real InternViT checkpoints are gigabytes, so the demonstration runs small models trained here from scratch
on CPU, with the code path of the big ones: transformers' InternVLVisionModel with 6B-style blocks (RMSNorm,
q/k RMSNorm over the full width, no qkv bias, LayerScale), patch 14, and the official heads (facts §5, §6):

  digits  an image classifier on scikit-learn's handwritten digits (8x8 grey, 10 classes), held-out 20%
          stratified; the linear probe: concat(CLS, mean of patch tokens) of the last block -> BatchNorm1d(2D,
          eps 1e-6) -> Linear(2D -> 10). Images are stored as PNG files and read through the linear-probe
          transform: PIL open -> convert('RGB') -> Resize(S, BICUBIC) -> CenterCrop(S) -> ToTensor -> Normalize.
  scenes  a segmenter on procedurally generated scenes (discs, squares, triangles, rings on textured noisy
          backgrounds), two heads on one backbone: the linear head (BatchNorm2d + 1x1 conv on one block) trained
          together with the backbone, then the UperNet head (4 blocks -> up1/up2/identity/maxpool pyramid ->
          mmseg UPerHead) trained on the frozen backbone (the paper's head-tuning setting). Inputs are
          normalised as mmseg does (facts §6.3); evaluation is mmseg's sliding window.

Exports go to demo/ in the official layouts: backbone directories in the original remote-code naming (f32
safetensors + config.json), head files as safetensors with official tensor names and a JSON description under
the metadata key "internvl_head", the held-out inputs, and reference_results.json with PyTorch's predictions.
`verify` reloads everything from the files alone (backbone through transformers after renaming, heads by a
functional re-implementation reading the metadata) and checks the numbers against reference_results.json.

The defaults of the flags are the settings of the committed models (demo/README.md says how they were chosen).

  python3 scripts/train_demo.py all          # digits + scenes + verify, writes demo/ (see demo/README.md)
  python3 scripts/train_demo.py verify       # only the check of the exported files
Needs: torch, torchvision, transformers, safetensors, pillow, numpy, scikit-learn.
"""
import argparse
import colorsys
import hashlib
import json
import math
import pathlib
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torchvision import transforms as T
from transformers import InternVLVisionConfig, InternVLVisionModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
MMSEG_MEAN, MMSEG_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
SCENE_CLASSES = ["background", "disc", "square", "triangle", "ring"]
CLASS_HUES = [None, 0, 90, 180, 270]  # degrees; the colours of a class's shapes are within 25 degrees of it
SCENE_PALETTE = [[0, 0, 0], [255, 0, 0], [128, 255, 0], [0, 255, 255], [128, 0, 255]]


# ----------------------------------------------------------------------------------------------------------
# Backbone: a 6B-style InternVLVisionModel, and its original remote-code naming.

def vision_config(image_size, width, depth, heads):
    return InternVLVisionConfig(image_size=[image_size, image_size], patch_size=[14, 14], hidden_size=width,
                                num_hidden_layers=depth, num_attention_heads=heads, intermediate_size=4 * width,
                                norm_type="rms_norm", use_qk_norm=True, attention_bias=False,
                                layer_scale_init_value=0.1, layer_norm_eps=1e-6, hidden_act="gelu")


def new_backbone(image_size, width, depth, heads):
    """A freshly initialised backbone. transformers starts the position embedding at zero; here its patch entries
    start as a 2-D sine-cosine table (MAE's, times 0.5), which helps a model trained from scratch on little data."""
    vit = InternVLVisionModel(vision_config(image_size, width, depth, heads))
    grid = image_size // 14
    quarter = width // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    y, x = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    angles_y, angles_x = y.reshape(-1, 1) * omega, x.reshape(-1, 1) * omega
    table = torch.cat([angles_y.sin(), angles_y.cos(), angles_x.sin(), angles_x.cos()], 1)
    with torch.no_grad():
        vit.embeddings.position_embeddings[0, 1:] = 0.5 * table.to(torch.float32)
    return vit


def original_config(cfg):
    """config.json in the style of the original remote code (InternVisionModel)."""
    return {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_act": "gelu",
        "hidden_size": cfg.hidden_size, "image_size": cfg.image_size[0], "patch_size": cfg.patch_size[0],
        "intermediate_size": cfg.intermediate_size, "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers, "num_channels": 3, "layer_norm_eps": cfg.layer_norm_eps,
        "qkv_bias": cfg.attention_bias, "qk_normalization": cfg.use_qk_norm, "norm_type": cfg.norm_type,
        "initializer_factor": 0.1, "use_flash_attn": False, "torch_dtype": "float32",
    }


def config_from_original(orig):
    return InternVLVisionConfig(
        image_size=[orig["image_size"]] * 2, patch_size=[orig["patch_size"]] * 2, hidden_size=orig["hidden_size"],
        num_hidden_layers=orig["num_hidden_layers"], num_attention_heads=orig["num_attention_heads"],
        intermediate_size=orig["intermediate_size"], norm_type=orig["norm_type"], use_qk_norm=orig["qk_normalization"],
        attention_bias=orig["qkv_bias"], layer_norm_eps=orig["layer_norm_eps"], hidden_act=orig["hidden_act"])


# transformers name fragment -> original name fragment (facts §1.5 (c)); q/k/v are packed separately.
RENAMES = [("embeddings.cls_token", "embeddings.class_embedding"),
           ("embeddings.position_embeddings", "embeddings.position_embedding"),
           ("embeddings.patch_embeddings.projection", "embeddings.patch_embedding"),
           ("encoder.layer.", "encoder.layers."), ("attention.projection_layer", "attn.proj"),
           ("attention.q_norm", "attn.q_norm"), ("attention.k_norm", "attn.k_norm"),
           ("layernorm_before", "norm1"), ("layernorm_after", "norm2"), ("lambda_1", "ls1"), ("lambda_2", "ls2")]


def to_original_names(sd):
    out, qkv = {}, {}
    for name, t in sd.items():
        for a, b in RENAMES:
            name = name.replace(a, b)
        if ".attention." in name:  # q_proj / k_proj / v_proj (no bias in 6B-style blocks)
            layer, proj = name.split(".attention.")
            qkv.setdefault(layer, {})[proj.split(".")[0]] = t
            continue
        out[name] = t
    for layer, parts in qkv.items():
        out[f"{layer}.attn.qkv.weight"] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], 0)
    return out


def from_original_names(sd, width):
    out = {}
    for name, t in sd.items():
        if name.endswith(".attn.qkv.weight"):
            layer = name[: -len(".attn.qkv.weight")].replace("encoder.layers.", "encoder.layer.")
            for i, proj in enumerate(["q_proj", "k_proj", "v_proj"]):
                out[f"{layer}.attention.{proj}.weight"] = t[i * width:(i + 1) * width]
            continue
        for a, b in RENAMES:
            name = name.replace(b, a)
        out[name] = t
    return out


def save_backbone(vit, directory):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(original_config(vit.config), indent=2) + "\n")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in to_original_names(vit.state_dict()).items()}
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


def load_backbone(directory):
    orig = json.loads((directory / "config.json").read_text())
    vit = InternVLVisionModel(config_from_original(orig)).eval()
    vit.load_state_dict(from_original_names(load_file(directory / "model.safetensors"), orig["hidden_size"]), strict=True)
    return vit


def block_outputs(vit, pixels, blocks):
    """Outputs of the given 0-based blocks, [B, 1 + Gh*Gw, D] each (hidden_states[0] is the embedding)."""
    hidden = vit(pixel_values=pixels, output_hidden_states=True).hidden_states
    return [hidden[b + 1] for b in blocks]


def token_grid(tokens, grid_h, grid_w):
    """[B, 1 + Gh*Gw, D] -> [B, D, Gh, Gw] without the CLS token (row-major tokens)."""
    return tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], grid_h, grid_w)


def save_head(path, tensors, description):
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata={"format": "pt", "internvl_head": json.dumps(description)})


def read_head(path):
    with safe_open(path, framework="pt") as f:
        description = json.loads(f.metadata()["internvl_head"])
        return {k: f.get_tensor(k) for k in f.keys()}, description


def cosine_lr(step, steps, warmup, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


# ----------------------------------------------------------------------------------------------------------
# Digits: data, the linear probe, training, evaluation.

def linear_probe_transform(size):
    return T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def read_digit(path, transform):
    with Image.open(path) as im:
        return transform(im.convert("RGB"))


def digit_image(pixels8x8, stored_size):
    """An 8x8 digit (values 0..16) as a stored_size² 8-bit grey PIL image (Pillow bicubic upscale)."""
    grey = np.rint(pixels8x8 * (255.0 / 16.0)).astype(np.uint8)
    return Image.fromarray(grey, mode="L").resize((stored_size, stored_size), Image.BICUBIC)


class LinearProbe(nn.Module):
    """facts §5: concat(CLS, mean of patch tokens) of the last block -> BatchNorm1d(2D, eps 1e-6) -> Linear."""

    def __init__(self, width, classes):
        super().__init__()
        self.norm = nn.BatchNorm1d(2 * width, eps=1e-6)
        self.head = nn.Linear(2 * width, classes)

    def forward(self, tokens):
        return self.head(self.norm(torch.cat([tokens[:, 0], tokens[:, 1:].mean(1)], 1)))


def shift_augment(batch, gen, pad):
    """Random translation by up to `pad` pixels (edge replicated), one offset per image."""
    padded = F.pad(batch, (pad, pad, pad, pad), mode="replicate")
    size = batch.shape[-1]
    offsets = torch.randint(0, 2 * pad + 1, (batch.shape[0], 2), generator=gen)
    return torch.stack([padded[i, :, y:y + size, x:x + size] for i, (y, x) in enumerate(offsets.tolist())])


def run_digits(args, out):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    t0, c0 = time.time(), time.process_time()
    torch.manual_seed(args.seed)
    data = load_digits()
    train_idx, test_idx = train_test_split(np.arange(len(data.target)), test_size=0.2, stratify=data.target,
                                           random_state=args.seed)
    size = args.digits_size
    transform = linear_probe_transform(size)
    # Held-out images: written as PNG files, read back from disk for the evaluation.
    digits_dir = out / "digits"
    digits_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in sorted(test_idx.tolist()):
        name = f"{i:04d}.png"
        digit_image(data.images[i], args.digits_stored).save(digits_dir / name)
        lines.append(f"{name}\t{data.target[i]}")
    (digits_dir / "labels.txt").write_text("\n".join(lines) + "\n")
    # Training images: the same PNG encoding round trip in memory (lossless), the same transform.
    train_x = []
    for i in train_idx.tolist():
        png = digit_image(data.images[i], args.digits_stored)
        train_x.append(transform(png.convert("RGB")))
    train_x, train_y = torch.stack(train_x), torch.from_numpy(data.target[train_idx]).long()

    vit = new_backbone(size, args.digits_width, args.digits_depth, args.heads)
    probe = LinearProbe(args.digits_width, 10)
    params = list(vit.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=args.digits_lr, weight_decay=0.05)
    gen = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = len(train_y) // args.digits_batch
    steps = args.digits_epochs * steps_per_epoch
    step = 0
    vit.train(), probe.train()
    for epoch in range(args.digits_epochs):
        order = torch.randperm(len(train_y), generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.digits_batch:(b + 1) * args.digits_batch]
            x = shift_augment(train_x[idx], gen, args.digits_shift)
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, steps, steps_per_epoch, args.digits_lr)
            loss = F.cross_entropy(probe(vit(pixel_values=x).last_hidden_state), train_y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            step += 1
        print(f"digits epoch {epoch + 1}/{args.digits_epochs} loss {total / steps_per_epoch:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    train_wall, train_cpu = time.time() - t0, time.process_time() - c0

    models = out / "models"
    save_backbone(vit, models / "digits-vit")
    save_head(models / "digits-linear-probe.safetensors", probe.state_dict(),
              {"type": "linear_probe", "num_classes": 10, "bn_eps": 1e-6, "labels": [str(c) for c in range(10)]})
    vit.eval(), probe.eval()
    result = evaluate_digits(out, lambda x: probe(vit(pixel_values=x).last_hidden_state), size)
    result.update({"model": "models/digits-vit", "head": "models/digits-linear-probe.safetensors",
                   "train_wall_s": round(train_wall, 1), "train_cpu_s": round(train_cpu, 1),
                   "train_images": len(train_y), "epochs": args.digits_epochs})
    print(f"digits held-out top-1 {100 * result['top1']:.2f}% ({result['correct']}/{result['count']})", flush=True)
    return result


def evaluate_digits(out, classify, size):
    """Top-1 over demo/digits/labels.txt, images read from the PNG files."""
    transform = linear_probe_transform(size)
    rows = [line.split("\t") for line in (out / "digits" / "labels.txt").read_text().splitlines()]
    x = torch.stack([read_digit(out / "digits" / name, transform) for name, _ in rows])
    labels = [int(label) for _, label in rows]
    with torch.no_grad():
        logits = torch.cat([classify(x[i:i + 128]) for i in range(0, len(x), 128)])
    preds = logits.argmax(1).tolist()
    correct = sum(int(p == y) for p, y in zip(preds, labels))
    images = [{"file": f"digits/{name}", "label": y, "pred": p, "logits": [round(v, 5) for v in row]}
              for (name, _), y, p, row in zip(rows, labels, preds, logits.tolist())]
    return {"top1": correct / len(labels), "correct": correct, "count": len(labels), "images": images}


# ----------------------------------------------------------------------------------------------------------
# Scenes: procedural generation (seeded numpy), mmseg-style input, heads, sliding window, mIoU.

def _class_colour(rng, cls, avoid, min_dist=90.0):
    """A random colour of class cls: hue within 25 degrees of the class's own, saturation and value in [0.55, 1],
    at least min_dist (RGB distance) from the background colours in avoid when possible."""
    for _ in range(100):
        hue = (CLASS_HUES[cls] + rng.uniform(-25, 25)) % 360 / 360
        colour = 255 * np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1), rng.uniform(0.55, 1)))
        if all(np.linalg.norm(colour - a) >= min_dist for a in avoid):
            break
    return colour


def _background(rng, h, w, yy, xx):
    """A linear gradient between two colours, with stripes or blotches on top (or neither)."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    t = math.cos(angle) * xx + math.sin(angle) * yy
    t = (t - t.min()) / max(t.max() - t.min(), 1.0)
    img = c0.astype(np.float32) + (c1 - c0).astype(np.float32) * t[..., None]
    colours = [c0, c1]
    kind = rng.integers(0, 3)
    if kind == 0:  # sinusoidal stripes of a third colour
        c2 = rng.uniform(0, 255, 3)
        b, period, alpha = rng.uniform(0, np.pi), rng.uniform(8, 40), rng.uniform(0.3, 0.7)
        s = 0.5 + 0.5 * np.sin(2 * math.pi * (math.cos(b) * xx + math.sin(b) * yy) / period + rng.uniform(0, 2 * np.pi))
        img = img * (1 - alpha * s[..., None]) + (c2 * alpha).astype(np.float32) * s[..., None]
        colours.append(c2)
    elif kind == 1:  # coloured blotches: coarse noise upscaled
        coarse = rng.normal(0, 1, (h // 16 + 2, w // 16 + 2, 3))
        coarse = ((coarse - coarse.min()) / (coarse.max() - coarse.min()) * 255).astype(np.uint8)
        blot = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), np.float32)
        alpha = rng.uniform(0.3, 0.6)
        img = img * (1 - alpha) + blot * alpha
    return img, colours


def _inside(cls, dy, dx, r, theta, hole):
    """Pixels inside a shape of class cls (1 disc, 2 square, 3 triangle, 4 ring) centred at the origin: dy, dx are
    the pixel offsets, r the size, theta the rotation, hole the ring's inner radius as a fraction of r."""
    if cls in (1, 4):
        d2 = dy * dy + dx * dx
        return (d2 <= r * r) & (d2 >= (hole * r) ** 2 if cls == 4 else True)
    if cls == 2:
        u, v = math.cos(theta) * dx + math.sin(theta) * dy, -math.sin(theta) * dx + math.cos(theta) * dy
        return (np.abs(u) <= 0.85 * r) & (np.abs(v) <= 0.85 * r)
    inside = np.ones(dy.shape, bool)  # equilateral triangle, circumradius 1.35 r
    for k in range(3):
        phi = theta + 2 * np.pi * k / 3
        inside &= math.cos(phi) * dx + math.sin(phi) * dy <= 0.675 * r
    return inside


def make_scene(rng, h, w, radius):
    """(image [h, w, 3] uint8, mask [h, w] uint8 class indices). Shapes have a radius in [radius[0], radius[1])
    pixels, about one per 10 r² of image area, overlap others by at most 5% of their area, and are filled with a
    colour of their class's hue range under a random linear shading; then noise over everything."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img, colours = _background(rng, h, w, yy, xx)
    mask = np.zeros((h, w), np.uint8)
    mean_r2 = (radius[1] ** 3 - radius[0] ** 3) / (3 * (radius[1] - radius[0]))
    count = max(1, int(rng.uniform(0.6, 1.4) * h * w / (10 * mean_r2) + 0.5))
    for _ in range(count):
        cls = int(rng.integers(1, len(SCENE_CLASSES)))
        for _attempt in range(20):
            r = rng.uniform(*radius)
            cy, cx = rng.uniform(0.8 * r, h - 0.8 * r), rng.uniform(0.8 * r, w - 0.8 * r)
            box = (slice(max(0, int(cy - 1.4 * r)), min(h, int(cy + 1.4 * r) + 2)),
                   slice(max(0, int(cx - 1.4 * r)), min(w, int(cx + 1.4 * r) + 2)))
            m = _inside(cls, yy[box] - cy, xx[box] - cx, r, rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 0.6))
            area = m.sum()
            if area > 200 and (m & (mask[box] > 0)).sum() <= 0.05 * area:
                break
        else:
            continue
        colour = _class_colour(rng, cls, colours)
        shade = rng.uniform(-30, 30) * (xx[box] - cx)[..., None] / r
        img[box] = np.where(m[..., None], np.clip(colour + shade, 0, 255), img[box])
        mask[box][m] = cls
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(4, 16))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


def mmseg_normalize(rgb):
    """mmcv.imnormalize on RGB uint8 [H, W, 3]: float32(v) - mean, then times 1/std in double, rounded to float32.
    Returns [3, H, W] float32."""
    centred = rgb.astype(np.float32) - np.asarray(MMSEG_MEAN, np.float32)
    scaled = (centred.astype(np.float64) * (1.0 / np.asarray(MMSEG_STD, np.float64))).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))


def read_rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class SegLinear(nn.Module):
    """facts §6.1: one block's patch features -> BatchNorm2d(D, eps 1e-5) -> 1x1 conv (bias) at grid resolution."""

    def __init__(self, width, classes):
        super().__init__()
        self.norm = nn.BatchNorm2d(width, eps=1e-5)
        self.conv_seg = nn.Conv2d(width, classes, 1)

    def forward(self, feature):
        return self.conv_seg(self.norm(feature))


class ConvModule(nn.Module):
    """mmcv ConvModule: conv (no bias) -> BatchNorm2d (eps 1e-5) -> ReLU."""

    def __init__(self, cin, cout, kernel):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ChannelsFirstLayerNorm(nn.Module):
    def __init__(self, channels, eps):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels)), eps

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


def resize(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class UperNet(nn.Module):
    """facts §6.2: the backbone's pyramid (up1 4x, up2 2x, identity, maxpool 0.5x) + mmseg's UPerHead."""

    def __init__(self, width, channels, classes, pool_scales=(1, 2, 3, 6)):
        super().__init__()
        self.up1 = nn.Sequential(nn.ConvTranspose2d(width, width, 2, 2), ChannelsFirstLayerNorm(width, 1e-6), nn.GELU(),
                                 nn.ConvTranspose2d(width, width, 2, 2))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(width, width, 2, 2))
        self.psp_modules = nn.ModuleList(nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvModule(width, channels, 1))
                                         for s in pool_scales)
        self.bottleneck = ConvModule(width + len(pool_scales) * channels, channels, 3)
        self.lateral_convs = nn.ModuleList(ConvModule(width, channels, 1) for _ in range(3))
        self.fpn_convs = nn.ModuleList(ConvModule(channels, channels, 3) for _ in range(3))
        self.fpn_bottleneck = ConvModule(4 * channels, channels, 3)
        self.dropout = nn.Dropout2d(0.1)
        self.conv_seg = nn.Conv2d(channels, classes, 1)

    def forward(self, features):
        f1, f2, f3, f4 = self.up1(features[0]), self.up2(features[1]), features[2], F.max_pool2d(features[3], 2, 2)
        ppm = [f4] + [resize(m(f4), f4.shape[2:]) for m in self.psp_modules]
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, (f1, f2, f3))] + [self.bottleneck(torch.cat(ppm, 1))]
        for i in range(3, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(lat) for conv, lat in zip(self.fpn_convs, laterals[:3])] + [laterals[3]]
        outs = [outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]]
        return self.conv_seg(self.dropout(self.fpn_bottleneck(torch.cat(outs, 1))))

    def official_state_dict(self):
        return {("backbone." if k.startswith(("up1.", "up2.")) else "decode_head.") + k: v
                for k, v in self.state_dict().items()}


def slide_logits(pixels, window_logits, crop, stride):
    """mmseg slide inference (facts §6.3): windows of crop² at steps of stride, the last one flush with the border;
    each window's logits bilinearly resized to the window, summed, divided by the per-pixel window count."""
    _, _, h, w = pixels.shape
    rows, cols = max(h - crop + stride - 1, 0) // stride + 1, max(w - crop + stride - 1, 0) // stride + 1
    total, count = None, torch.zeros(1, 1, h, w)
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * stride + crop, h), min(c * stride + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            logits = resize(window_logits(pixels[:, :, y1:y2, x1:x2]), (y2 - y1, x2 - x1))
            if total is None:
                total = torch.zeros(1, logits.shape[1], h, w)
            total[:, :, y1:y2, x1:x2] += logits
            count[:, :, y1:y2, x1:x2] += 1
    return total / count


def confusion(pred, truth, classes):
    return np.bincount(truth.astype(np.int64).ravel() * classes + pred.astype(np.int64).ravel(),
                       minlength=classes * classes).reshape(classes, classes)


def iou_from_confusion(conf):
    """Per-class IoU = TP / (TP + FP + FN) (NaN when the class is absent from both truth and prediction)."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def evaluate_scenes(out, predict_logits, head_name, crop, stride, save_masks, preds=None):
    """mIoU over demo/scenes/list.txt: per-class IoU over the whole held-out set (intersections and unions summed
    over all images), averaged over the classes with a nonzero union (mmseg's definition). The predicted masks are
    saved as PNG files (save_masks) and/or appended to the list preds."""
    classes = len(SCENE_CLASSES)
    rows = [line.split("\t") for line in (out / "scenes" / "list.txt").read_text().splitlines()]
    total = np.zeros((classes, classes), np.int64)
    images = []
    mask_dir = out / "reference" / f"scenes-{head_name}"
    if save_masks:
        mask_dir.mkdir(parents=True, exist_ok=True)
    for image_name, mask_name in rows:
        rgb = read_rgb(out / "scenes" / image_name)
        with Image.open(out / "scenes" / mask_name) as m:
            truth = np.asarray(m)
        with torch.no_grad():
            pred = slide_logits(mmseg_normalize(rgb)[None], predict_logits, crop, stride).argmax(1)[0]
        pred = pred.numpy().astype(np.uint8)
        if preds is not None:
            preds.append(pred)
        conf = confusion(pred, truth, classes)
        total += conf
        iou = iou_from_confusion(conf)
        entry = {"file": f"scenes/{image_name}", "height": int(truth.shape[0]), "width": int(truth.shape[1]),
                 "pixel_accuracy": round(float(np.trace(conf) / conf.sum()), 6),
                 "iou": [None if np.isnan(v) else round(float(v), 6) for v in iou],
                 "pred_sha256": hashlib.sha256(pred.tobytes()).hexdigest()}
        if save_masks:
            Image.fromarray(pred, mode="L").save(mask_dir / image_name)
            entry["pred_mask"] = f"reference/scenes-{head_name}/{image_name}"
        images.append(entry)
    iou = iou_from_confusion(total)
    tp = np.diag(total)
    return {"miou": float(np.nanmean(iou)), "iou": [float(v) for v in iou],
            "intersection": [int(v) for v in tp], "union": [int(v) for v in total.sum(0) + total.sum(1) - tp],
            "pixel_accuracy": float(np.trace(total) / total.sum()), "images": images}


def scene_batch(rng, batch, crop, max_side, radius):
    """Training batch: scenes of random size (crop..max_side per side), a random crop² window of each."""
    images, masks = [], []
    for _ in range(batch):
        h, w = int(rng.integers(crop, max_side + 1)), int(rng.integers(crop, max_side + 1))
        img, mask = make_scene(rng, h, w, radius)
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        images.append(mmseg_normalize(img[y:y + crop, x:x + crop]))
        masks.append(torch.from_numpy(mask[y:y + crop, x:x + crop].astype(np.int64)))
    return torch.stack(images), torch.stack(masks)


def held_out_sizes(crop):
    """(height, width) of the held-out scenes: 28 of crop², 12 larger ones that need several windows. Every
    shorter side is the crop size and every side a multiple of 14, so mmseg's test-time resizes (shorter side ->
    crop, sides -> multiples of 14) leave them unchanged."""
    g = crop // 14
    return ([(g, g)] * 28 + [(g, g * 3 // 2)] * 4 + [(g * 3 // 2, g)] * 4 + [(g, 2 * g)] * 2
            + [(g * 21 // 16, g)] * 2)


def write_held_out_scenes(out, seed, crop, radius):
    """Held-out scenes (PNG), their masks (single-channel PNG of class indices) and list.txt; each scene from its
    own seed."""
    scenes_dir = out / "scenes"
    scenes_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (gh, gw) in enumerate(held_out_sizes(crop)):
        img, mask = make_scene(np.random.default_rng([seed, 1, i]), 14 * gh, 14 * gw, radius)
        Image.fromarray(img, mode="RGB").save(scenes_dir / f"{i:03d}.png")
        Image.fromarray(mask, mode="L").save(scenes_dir / f"{i:03d}_mask.png")
        lines.append(f"{i:03d}.png\t{i:03d}_mask.png")
    (scenes_dir / "list.txt").write_text("\n".join(lines) + "\n")


def train_segmenter(params, forward, steps, lr, rng, args, label):
    """AdamW with a linear warm-up and cosine decay; cross-entropy on logits resized to the crop."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    t0 = time.time()
    running = 0.0
    for step in range(steps):
        x, y = scene_batch(rng, args.scenes_batch, args.scenes_size, args.scenes_max_side, args.scenes_radius)
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, max(1, steps // 20), lr)
        loss = F.cross_entropy(resize(forward(x), y.shape[1:]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running += loss.item()
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print(f"scenes {label} step {step + 1}/{steps} loss {running / ((step % 50) + 1):.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
            running = 0.0


def run_scenes(args, out):
    t0, c0 = time.time(), time.process_time()
    torch.manual_seed(args.seed + 1)
    rng = np.random.default_rng([args.seed, 2])
    crop, stride, width, depth = args.scenes_size, args.scenes_stride, args.scenes_width, args.scenes_depth
    grid = crop // 14
    linear_layer = depth - 1
    upernet_layers = [(i + 1) * depth // 4 - 1 for i in range(4)]  # evenly spaced, ending at the last block
    classes = len(SCENE_CLASSES)
    write_held_out_scenes(out, args.seed, crop, args.scenes_radius)

    vit = new_backbone(crop, width, depth, args.heads)
    linear = SegLinear(width, classes)
    # Phase 1: backbone + linear head, trained together.
    vit.train(), linear.train()
    train_segmenter(list(vit.parameters()) + list(linear.parameters()),
                    lambda x: linear(token_grid(block_outputs(vit, x, [linear_layer])[0], grid, grid)),
                    args.linear_steps, args.scenes_lr, rng, args, "linear")
    linear_wall, linear_cpu = time.time() - t0, time.process_time() - c0
    # Phase 2: the backbone frozen, the UperNet head trained on its features.
    vit.eval()
    for p in vit.parameters():
        p.requires_grad_(False)
    upernet = UperNet(width, args.upernet_channels, classes)
    upernet.train()

    def upernet_forward(x):
        with torch.no_grad():
            feats = [token_grid(t, grid, grid) for t in block_outputs(vit, x, upernet_layers)]
        return upernet(feats)

    train_segmenter(list(upernet.parameters()), upernet_forward, args.upernet_steps, args.upernet_lr, rng, args,
                    "upernet")
    total_wall, total_cpu = time.time() - t0, time.process_time() - c0

    models = out / "models"
    save_backbone(vit, models / "scenes-vit")
    common = {"num_classes": classes, "crop_size": crop, "stride": stride, "labels": SCENE_CLASSES,
              "palette": SCENE_PALETTE}
    save_head(models / "scenes-seg-linear.safetensors", {"decode_head." + k: v for k, v in linear.state_dict().items()},
              {"type": "seg_linear", "layer": linear_layer, "bn_eps": 1e-5, **common})
    save_head(models / "scenes-upernet.safetensors", upernet.official_state_dict(),
              {"type": "seg_upernet", "layers": upernet_layers, "channels": args.upernet_channels,
               "pool_scales": [1, 2, 3, 6], "bn_eps": 1e-5, "ln_eps": 1e-6, **common})
    linear.eval(), upernet.eval()
    heads = {
        "linear": evaluate_scenes(out, lambda x: linear(token_grid(block_outputs(vit, x, [linear_layer])[0],
                                                                   x.shape[2] // 14, x.shape[3] // 14)),
                                  "linear", crop, stride, save_masks=True),
        "upernet": evaluate_scenes(out, lambda x: upernet([token_grid(t, x.shape[2] // 14, x.shape[3] // 14)
                                                           for t in block_outputs(vit, x, upernet_layers)]),
                                   "upernet", crop, stride, save_masks=True),
    }
    heads["linear"]["head"] = "models/scenes-seg-linear.safetensors"
    heads["upernet"]["head"] = "models/scenes-upernet.safetensors"
    for name, r in heads.items():
        print(f"scenes {name}: mIoU {100 * r['miou']:.2f}%  per class "
              + ", ".join(f"{c} {100 * v:.1f}" for c, v in zip(SCENE_CLASSES, r["iou"])), flush=True)
    return {"model": "models/scenes-vit", "classes": SCENE_CLASSES, "crop_size": crop, "stride": stride,
            "normalize": "mmseg", "linear_layer": linear_layer, "upernet_layers": upernet_layers,
            "train_wall_s": {"backbone+linear": round(linear_wall, 1), "total": round(total_wall, 1)},
            "train_cpu_s": {"backbone+linear": round(linear_cpu, 1), "total": round(total_cpu, 1)},
            "steps": {"backbone+linear": args.linear_steps, "upernet": args.upernet_steps}, "batch": args.scenes_batch,
            "heads": heads}


# ----------------------------------------------------------------------------------------------------------
# Verification from the exported files alone: backbone through transformers (names converted back), heads by a
# functional re-implementation of facts §5/§6 that reads only the tensors and the "internvl_head" metadata.

def batch_norm(x, t, prefix, eps):
    return F.batch_norm(x, t[prefix + ".running_mean"], t[prefix + ".running_var"], t[prefix + ".weight"],
                        t[prefix + ".bias"], training=False, eps=eps)


def conv_module(x, t, prefix, eps):
    kernel = t[prefix + ".conv.weight"]
    return F.relu(batch_norm(F.conv2d(x, kernel, padding=kernel.shape[-1] // 2), t, prefix + ".bn", eps))


def functional_linear_probe(tokens, t, d):
    feature = torch.cat([tokens[:, 0], tokens[:, 1:].mean(1)], 1)
    return F.linear(batch_norm(feature, t, "norm", d["bn_eps"]), t["head.weight"], t["head.bias"])


def functional_seg_linear(vit, x, t, d):
    grid = token_grid(block_outputs(vit, x, [d["layer"]])[0], x.shape[2] // 14, x.shape[3] // 14)
    return F.conv2d(batch_norm(grid, t, "decode_head.norm", d["bn_eps"]), t["decode_head.conv_seg.weight"],
                    t["decode_head.conv_seg.bias"])


def functional_upernet(vit, x, t, d):
    eps = d["bn_eps"]
    feats = [token_grid(h, x.shape[2] // 14, x.shape[3] // 14) for h in block_outputs(vit, x, d["layers"])]
    up = F.conv_transpose2d(feats[0], t["backbone.up1.0.weight"], t["backbone.up1.0.bias"], stride=2)
    up = F.layer_norm(up.permute(0, 2, 3, 1), (up.shape[1],), t["backbone.up1.1.weight"], t["backbone.up1.1.bias"],
                      d["ln_eps"]).permute(0, 3, 1, 2)
    f1 = F.conv_transpose2d(F.gelu(up), t["backbone.up1.3.weight"], t["backbone.up1.3.bias"], stride=2)
    f2 = F.conv_transpose2d(feats[1], t["backbone.up2.0.weight"], t["backbone.up2.0.bias"], stride=2)
    f3, f4 = feats[2], F.max_pool2d(feats[3], 2, 2)
    pooled = [resize(conv_module(F.adaptive_avg_pool2d(f4, s), t, f"decode_head.psp_modules.{i}.1", eps), f4.shape[2:])
              for i, s in enumerate(d["pool_scales"])]
    lat = [conv_module(f, t, f"decode_head.lateral_convs.{i}", eps) for i, f in enumerate((f1, f2, f3))]
    lat.append(conv_module(torch.cat([f4] + pooled, 1), t, "decode_head.bottleneck", eps))
    for i in (3, 2, 1):
        lat[i - 1] = lat[i - 1] + resize(lat[i], lat[i - 1].shape[2:])
    fpn = [conv_module(lat[i], t, f"decode_head.fpn_convs.{i}", eps) for i in range(3)] + [lat[3]]
    fused = torch.cat([fpn[0]] + [resize(f, fpn[0].shape[2:]) for f in fpn[1:]], 1)
    return F.conv2d(conv_module(fused, t, "decode_head.fpn_bottleneck", eps), t["decode_head.conv_seg.weight"],
                    t["decode_head.conv_seg.bias"])


def expected_head_names(d):
    """The official tensor names of a head file, from its description alone."""
    bn = lambda p: [f"{p}.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
    conv_module = lambda p: [p + ".conv.weight"] + bn(p + ".bn")
    if d["type"] == "linear_probe":
        return set(bn("norm") + ["head.weight", "head.bias"])
    if d["type"] == "seg_linear":
        return set(bn("decode_head.norm") + ["decode_head.conv_seg.weight", "decode_head.conv_seg.bias"])
    names = [f"backbone.{m}.{k}" for m in ("up1.0", "up1.1", "up1.3", "up2.0") for k in ("weight", "bias")]
    names += [n for i in range(len(d["pool_scales"])) for n in conv_module(f"decode_head.psp_modules.{i}.1")]
    names += conv_module("decode_head.bottleneck") + conv_module("decode_head.fpn_bottleneck")
    names += [n for i in range(3) for m in ("lateral_convs", "fpn_convs") for n in conv_module(f"decode_head.{m}.{i}")]
    return set(names + ["decode_head.conv_seg.weight", "decode_head.conv_seg.bias"])


def run_verify(out):
    reference = json.loads((out / "reference_results.json").read_text())
    failures = []

    def check(what, ok):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    ref = reference["digits"]
    vit = load_backbone(out / ref["model"])
    tensors, desc = read_head(out / ref["head"])
    check("digits head: type linear_probe, 10 classes, exactly the official tensor names",
          desc["type"] == "linear_probe" and desc["num_classes"] == 10 and set(tensors) == expected_head_names(desc))
    got = evaluate_digits(out, lambda x: functional_linear_probe(vit(pixel_values=x).last_hidden_state, tensors, desc),
                          vit.config.image_size[0])
    same = sum(a["pred"] == b["pred"] for a, b in zip(got["images"], ref["images"]))
    worst = max(max(abs(u - v) for u, v in zip(a["logits"], b["logits"])) for a, b in zip(got["images"], ref["images"]))
    check(f"digits top-1 {100 * got['top1']:.2f}% == reference {100 * ref['top1']:.2f}%", got["top1"] == ref["top1"])
    check(f"digits predictions identical on {same}/{len(ref['images'])} images, max |logit diff| {worst:.2e}",
          same == len(ref["images"]) and worst <= 1e-4)

    ref = reference["scenes"]
    vit = load_backbone(out / ref["model"])
    for name, functional in [("linear", functional_seg_linear), ("upernet", functional_upernet)]:
        tensors, desc = read_head(out / ref["heads"][name]["head"])
        check(f"scenes {name} head: type {desc['type']}, exactly the official tensor names",
              desc["type"] == "seg_" + name and set(tensors) == expected_head_names(desc))
        preds = []
        got = evaluate_scenes(out, lambda x: functional(vit, x, tensors, desc), name, desc["crop_size"],
                              desc["stride"], save_masks=False, preds=preds)
        r = ref["heads"][name]
        differing, pixels, checksums = 0, 0, 0
        for entry, pred in zip(r["images"], preds):
            with Image.open(out / entry["pred_mask"]) as m:
                saved = np.asarray(m)
            checksums += hashlib.sha256(saved.tobytes()).hexdigest() == entry["pred_sha256"]
            differing += int((saved != pred).sum())
            pixels += pred.size
        check(f"scenes {name}: mIoU {100 * got['miou']:.4f}% vs reference {100 * r['miou']:.4f}%",
              abs(got["miou"] - r["miou"]) <= 1e-4)
        check(f"scenes {name}: {differing} of {pixels} predicted pixels differ from the saved reference masks "
              f"(whose checksums match on {checksums}/{len(r['images'])} images)",
              differing <= 1e-4 * pixels and checksums == len(r["images"]))
    print("verify: " + ("all checks passed" if not failures else f"{len(failures)} FAILED"), flush=True)
    return not failures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["all", "digits", "scenes", "verify"])
    p.add_argument("--out", default=str(ROOT / "demo"))
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (1 is faster on a busy machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--digits-size", type=int, default=56)
    p.add_argument("--digits-stored", type=int, default=64, help="side of the stored digit PNGs")
    p.add_argument("--digits-width", type=int, default=128)
    p.add_argument("--digits-depth", type=int, default=4)
    p.add_argument("--digits-epochs", type=int, default=30)
    p.add_argument("--digits-batch", type=int, default=64)
    p.add_argument("--digits-lr", type=float, default=1e-3)
    p.add_argument("--digits-shift", type=int, default=4)
    p.add_argument("--scenes-size", type=int, default=224)
    p.add_argument("--scenes-stride", type=int, default=150)
    p.add_argument("--scenes-max-side", type=int, default=308, help="training scenes are crops of up to this size")
    p.add_argument("--scenes-width", type=int, default=128)
    p.add_argument("--scenes-depth", type=int, default=6)
    p.add_argument("--scenes-batch", type=int, default=8)
    p.add_argument("--scenes-radius", type=lambda v: tuple(float(x) for x in v.split(",")), default=(20.0, 56.0),
                   help="shape radius range in pixels: MIN,MAX")
    p.add_argument("--scenes-lr", type=float, default=2e-3)
    p.add_argument("--linear-steps", type=int, default=1000, help="backbone + linear head training steps")
    p.add_argument("--upernet-channels", type=int, default=48)
    p.add_argument("--upernet-steps", type=int, default=500, help="UperNet head steps on the frozen backbone")
    p.add_argument("--upernet-lr", type=float, default=2e-3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "reference_results.json"
    if args.command != "verify":
        results = json.loads(results_path.read_text()) if results_path.exists() else {}
        t0 = time.time()
        if args.command in ("all", "digits"):
            results["digits"] = run_digits(args, out)
        if args.command in ("all", "scenes"):
            results["scenes"] = run_scenes(args, out)
        results["environment"] = {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                                  "threads": args.threads, "machine": platform.machine(),
                                  "command": " ".join(["python3 scripts/train_demo.py"] + sys.argv[1:])}
        results[f"wall_s_{args.command}"] = round(time.time() - t0, 1)
        results_path.write_text(json.dumps(results, indent=1) + "\n")
    if args.command in ("all", "verify"):
        if not run_verify(out):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
