#!/usr/bin/env python3
"""Golden fixtures for the classification and segmentation heads (include/internvl/heads), computed by
PyTorch's own modules (nn.BatchNorm1d/2d in eval mode, nn.Linear, nn.LayerNorm, nn.Conv2d, nn.ConvTranspose2d,
nn.GELU, nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d, F.interpolate bilinear align_corners=False) on random
weights, in float32, written independently of the C++ code from the facts sheet (§5, §6):

  head-only (random features X [B, 1 + Gh*Gw, D], D = 24):
    linear_probe          concat(CLS, mean patch) -> BatchNorm1d(eps 1e-6) -> Linear
    attention_pool_probe  AttentionPoolingBlock(D, 4 heads, LayerNorm eps 1e-5, out D) -> BatchNorm1d -> Linear
    seg_linear            BatchNorm2d(eps 1e-5) -> 1x1 conv, on a 3x4 grid
    seg_upernet           up1/up2/identity/maxpool pyramid + mmseg UPerHead (C = 8, pool scales 1, 2, 3, 6)
                          on a 6x5 grid (odd: the max pooling drops a column)
  through the tiny 6B-style backbone of tests/golden/vision (tiny6b_hf_f32, 3 blocks, D = 64), run by
  transformers' InternVLVisionModel:
    probe_e2e             linear probe on block 1 (hidden state 2) of pixels_native.npy, probabilities
    slide                 seg_linear on block 1, mmseg slide inference (crop 28, stride 14) over a 45x60 input:
                          3 x 4 windows of 2x2 patches (position-embedding interpolation), the last row and
                          column of windows flush with the border
    segment               seg_upernet on blocks [0, 1, 1, 2] (one block feeds two levels), the whole evaluation
                          procedure on a 50x90 RGB PNG: mmseg resize (short side -> crop 42, sides -> multiples
                          of 14, cv2 bilinear) + normalisation, slide (crop 42, stride 20: 4 windows on 42x84,
                          grids of 3x3 that need position-embedding interpolation), resize to 50x90, argmax;
                          and the same in whole-image mode

  bad/                    malformed head files for the loader's errors

Head files carry the official tensor names (num_batches_tracked included) and the "internvl_head" description.
Run: python3 tests/golden/heads/make.py   (writes tests/golden/heads/*)"""
import json
import pathlib

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file
from transformers import InternVLVisionModel

out = pathlib.Path(__file__).resolve().parent
vision = out.parent / "vision"
torch.manual_seed(31337)
rng = np.random.default_rng(31337)


def save(name, t):
    np.save(out / f"{name}.npy", (t.detach() if isinstance(t, torch.Tensor) else torch.as_tensor(t)).to(torch.float32).numpy())


def save_head(name, module_state, description):
    tensors = {k: v.detach().contiguous() for k, v in module_state.items()}
    save_file(tensors, out / f"{name}.safetensors", metadata={"format": "pt", "internvl_head": json.dumps(description)})


def randomize(module):
    """Random weights of a realistic scale (unit-variance outputs); BatchNorm statistics away from 0 / 1."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.copy_(0.5 * torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + 1.5 * torch.rand_like(m.running_var))
                m.num_batches_tracked.fill_(1234)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
            elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight.shape[0] if isinstance(m, nn.ConvTranspose2d) else m.weight[0].numel()
                m.weight.copy_(torch.randn_like(m.weight) / fan_in ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.2 * torch.randn_like(m.bias))
            for name, p in m.named_parameters(recurse=False):  # free-standing vectors (q_bias, ...)
                if name.endswith("_bias"):
                    p.copy_(0.2 * torch.randn_like(p))
    return module.eval()


def grid(tokens, gh, gw):
    """[B, 1 + gh*gw, D] -> [B, D, gh, gw] without the class token."""
    return tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], gh, gw)


def resize(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


# ------------------------------------------------------------------------------------------------------
# The heads as PyTorch modules.

class LinearProbe(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.norm = nn.BatchNorm1d(2 * d, eps=1e-6)
        self.head = nn.Linear(2 * d, k)

    def forward(self, x):
        return self.head(self.norm(torch.cat([x[:, 0], x[:, 1:].mean(1)], 1)))


class CrossAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.q_bias, self.k_bias, self.v_bias = (nn.Parameter(torch.zeros(d)) for _ in range(3))
        self.proj = nn.Linear(d, d)

    def forward(self, xq, xk, xv):
        b, d = xq.shape[0], xq.shape[-1]
        split = lambda t: t.reshape(b, t.shape[1], self.heads, d // self.heads).transpose(1, 2)
        q = split(F.linear(xq, self.q.weight, self.q_bias)) * (d // self.heads) ** -0.5
        k, v = split(F.linear(xk, self.k.weight, self.k_bias)), split(F.linear(xv, self.v.weight, self.v_bias))
        o = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, -1, d))


class AttentionPooling(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.norm1_q, self.norm1_k, self.norm1_v = (nn.LayerNorm(d, eps=1e-5) for _ in range(3))
        self.cross_attn = CrossAttention(d, heads)

    def forward(self, x):
        xq = x.mean(1, keepdim=True)
        return self.cross_attn(self.norm1_q(xq), self.norm1_k(x), self.norm1_v(x)).squeeze(1)


class AttentionPoolProbe(nn.Module):
    def __init__(self, d, heads, k):
        super().__init__()
        self.attn_pooling = AttentionPooling(d, heads)
        self.norm = nn.BatchNorm1d(d, eps=1e-6)
        self.head = nn.Linear(d, k)

    def forward(self, x):
        return self.head(self.norm(self.attn_pooling(x)))


class SegLinear(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.norm = nn.BatchNorm2d(d, eps=1e-5)
        self.conv_seg = nn.Conv2d(d, k, 1)

    def forward(self, f):
        return self.conv_seg(self.norm(f))


class ConvModule(nn.Module):
    def __init__(self, cin, cout, kernel):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class ChannelsFirstLayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class UperNet(nn.Module):
    def __init__(self, d, c, k, scales=(1, 2, 3, 6)):
        super().__init__()
        self.up1 = nn.Sequential(nn.ConvTranspose2d(d, d, 2, 2), ChannelsFirstLayerNorm(d, eps=1e-6), nn.GELU(),
                                 nn.ConvTranspose2d(d, d, 2, 2))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(d, d, 2, 2))
        self.up4 = nn.MaxPool2d(2, 2)
        self.psp_modules = nn.ModuleList(nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvModule(d, c, 1)) for s in scales)
        self.bottleneck = ConvModule(d + len(scales) * c, c, 3)
        self.lateral_convs = nn.ModuleList(ConvModule(d, c, 1) for _ in range(3))
        self.fpn_convs = nn.ModuleList(ConvModule(c, c, 3) for _ in range(3))
        self.fpn_bottleneck = ConvModule(4 * c, c, 3)
        self.conv_seg = nn.Conv2d(c, k, 1)

    def forward(self, maps):
        f = [self.up1(maps[0]), self.up2(maps[1]), maps[2], self.up4(maps[3])]
        ppm = [f[3]] + [resize(m(f[3]), f[3].shape[2:]) for m in self.psp_modules]
        lat = [conv(x) for conv, x in zip(self.lateral_convs, f[:3])] + [self.bottleneck(torch.cat(ppm, 1))]
        for i in (3, 2, 1):
            lat[i - 1] = lat[i - 1] + resize(lat[i], lat[i - 1].shape[2:])
        outs = [self.fpn_convs[i](lat[i]) for i in range(3)] + [lat[3]]
        fused = torch.cat([outs[0]] + [resize(o, outs[0].shape[2:]) for o in outs[1:]], 1)
        return self.conv_seg(self.fpn_bottleneck(fused))

    def official_state(self):
        return {("backbone." if k.startswith(("up1.", "up2.")) else "decode_head.") + k: v
                for k, v in self.state_dict().items()}


def description(kind, k, **fields):
    return {"type": kind, "num_classes": k, **fields}


# ------------------------------------------------------------------------------------------------------
# Head-only fixtures on random features.

D, K = 24, 7
with torch.no_grad():
    x = torch.randn(3, 10, D)
    probe = randomize(LinearProbe(D, K))
    probe.norm.running_var[:3] = 1e-6  # variances near eps: leaving eps out changes these channels by 1.4x
    save_head("linear_probe", probe.state_dict(),
              description("linear_probe", K, bn_eps=1e-6, labels=[f"class {i}" for i in range(K)]))
    save("linear_probe_tokens", x)
    save("linear_probe_logits", probe(x))

    x = torch.randn(2, 10, D) + 3.0
    pool = randomize(AttentionPoolProbe(D, 4, K))
    save_head("attention_pool_probe", pool.state_dict(),
              description("attention_pool_probe", K, bn_eps=1e-6, ln_eps=1e-5, num_heads=4))
    save("attention_pool_probe_tokens", x)
    save("attention_pool_probe_logits", pool(x))

    KS = 5
    x = torch.randn(2, 1 + 3 * 4, D)
    seg = randomize(SegLinear(D, KS))
    seg.norm.running_var[:3] = 1e-5  # as for the probe
    save_head("seg_linear", {"decode_head." + k: v for k, v in seg.state_dict().items()},
              description("seg_linear", KS, bn_eps=1e-5, layer=0, crop_size=56, stride=28))
    save("seg_linear_tokens", x)
    save("seg_linear_logits", seg(grid(x, 3, 4)))

    tokens = [torch.randn(2, 1 + 6 * 5, D) for _ in range(4)]
    uper = randomize(UperNet(D, 8, KS))
    save_head("seg_upernet", uper.official_state(),
              description("seg_upernet", KS, bn_eps=1e-5, ln_eps=1e-6, layers=[0, 1, 2, 3], channels=8,
                          pool_scales=[1, 2, 3, 6], crop_size=56, stride=28,
                          labels=["a", "b", "c", "d", "e"], palette=[[i * 50, 255 - i * 50, 7] for i in range(KS)]))
    for i, t in enumerate(tokens):
        save(f"seg_upernet_tokens{i}", t)
    save("seg_upernet_logits", uper([grid(t, 6, 5) for t in tokens]))

# ------------------------------------------------------------------------------------------------------
# Through the tiny backbone (tests/golden/vision/tiny6b_hf_f32, 3 blocks, width 64).

vit = InternVLVisionModel.from_pretrained(vision / "tiny6b_hf_f32").eval()
WIDTH = vit.config.hidden_size


def hidden(pixels, blocks):
    states = vit(pixel_values=pixels, output_hidden_states=True).hidden_states
    return [states[b + 1] for b in blocks]


def slide(pixels, crop, stride, logits_of, classes):
    """mmseg's slide inference, written out: windows, logits resized to the window, summed, averaged."""
    _, _, h, w = pixels.shape
    rows, cols = max(h - crop + stride - 1, 0) // stride + 1, max(w - crop + stride - 1, 0) // stride + 1
    total, count = torch.zeros(1, classes, h, w), torch.zeros(1, 1, h, w)
    windows = []
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * stride + crop, h), min(c * stride + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            windows.append([y1, x1, y2 - y1, x2 - x1])
            total[:, :, y1:y2, x1:x2] += resize(logits_of(pixels[:, :, y1:y2, x1:x2]), (y2 - y1, x2 - x1))
            count[:, :, y1:y2, x1:x2] += 1
    return total / count, windows


with torch.no_grad():
    probe = randomize(LinearProbe(WIDTH, 6))
    save_head("probe_e2e", probe.state_dict(), description("linear_probe", 6, bn_eps=1e-6, layer=1))
    pixels = torch.from_numpy(np.load(vision / "pixels_native.npy"))
    save("probe_e2e_probabilities", probe(hidden(pixels, [1])[0]).softmax(-1))
    save_head("probe_e2e_last", probe.state_dict(), description("linear_probe", 6, bn_eps=1e-6))
    save("probe_e2e_last_probabilities", probe(hidden(pixels, [2])[0]).softmax(-1))

    seg = randomize(SegLinear(WIDTH, 4))
    save_head("slide", {"decode_head." + k: v for k, v in seg.state_dict().items()},
              description("seg_linear", 4, bn_eps=1e-5, layer=1, crop_size=28, stride=14))
    pixels = torch.randn(1, 3, 45, 60)
    logits, windows = slide(pixels, 28, 14, lambda p: seg(grid(hidden(p, [1])[0], p.shape[2] // 14, p.shape[3] // 14)), 4)
    save("slide_pixels", pixels)
    save("slide_logits", logits[0])
    save("slide_windows", torch.tensor(windows))

    uper = randomize(UperNet(WIDTH, 8, 4))
    uper.conv_seg.weight.mul_(4)  # class scores that vary over the image more than the biases do
    uper.conv_seg.bias.mul_(0.1)
    blocks = [0, 1, 1, 2]
    save_head("segment", uper.official_state(),
              description("seg_upernet", 4, bn_eps=1e-5, ln_eps=1e-6, layers=blocks, channels=8,
                          pool_scales=[1, 2, 3, 6], crop_size=42, stride=20))
    # A smooth colourful 50x90 image, so the resizes have something to interpolate.
    yy, xx = np.mgrid[0:50, 0:90].astype(np.float64)
    rgb = np.stack([128 + 100 * np.sin(xx / 7 + c) * np.cos(yy / 5 - c) for c in range(3)], -1)
    rgb = np.clip(np.rint(rgb + rng.normal(0, 10, rgb.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(rgb, mode="RGB").save(out / "segment_image.png")
    # mmseg's test pipeline (facts §6.3): SETR_Resize short side -> 42 (mmcv.imrescale, cv2 bilinear),
    # ResizeToMultiple(14) (cv2 bilinear), Normalize(to_rgb) on the RGB image in float32.
    h, w = rgb.shape[:2]
    scale = min((42 * max(h, w) / min(h, w)) / max(h, w), 42 / min(h, w))
    size = (int(w * scale + 0.5), int(h * scale + 0.5))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    img = cv2.resize(img, (-(-img.shape[1] // 14) * 14, -(-img.shape[0] // 14) * 14), interpolation=cv2.INTER_LINEAR)
    # Normalize: mmseg keeps mean and std as float32; mmcv subtracts in float32 and multiplies by 1 / float64(std).
    mean, std = np.array([123.675, 116.28, 103.53], np.float32), np.array([58.395, 57.12, 57.375], np.float32)
    normalised = ((img.astype(np.float32) - mean).astype(np.float64) * (1 / std.astype(np.float64))).astype(np.float32)
    pixels = torch.from_numpy(normalised.transpose(2, 0, 1).copy())[None]
    logits_of = lambda p: uper([grid(t, p.shape[2] // 14, p.shape[3] // 14) for t in hidden(p, blocks)])
    assert pixels.shape[2:] == (42, 84), pixels.shape
    logits, windows = slide(pixels, 42, 20, logits_of, 4)
    assert len(windows) == 4, windows
    logits = resize(logits, (h, w))[0]
    save("segment_logits", logits)
    save("segment_classes", logits.argmax(0))
    whole = resize(resize(logits_of(pixels), pixels.shape[2:]), (h, w))[0]
    save("segment_whole_logits", whole)

# ------------------------------------------------------------------------------------------------------
# Malformed head files (tiny linear probes of width 4, 3 classes).

bad = out / "bad"
bad.mkdir(exist_ok=True)
with torch.no_grad():
    good = randomize(LinearProbe(4, 3)).state_dict()
ok = description("linear_probe", 3, bn_eps=1e-6)
save_head("bad/missing_tensor", {k: v for k, v in good.items() if k != "head.bias"}, ok)
save_head("bad/extra_tensor", {**good, "decode_head.conv_seg.bias": torch.zeros(3)}, ok)
save_head("bad/int_weight", {**good, "head.weight": good["head.weight"].to(torch.int32)}, ok)
save_head("bad/negative_variance", {**good, "norm.running_var": good["norm.running_var"] * torch.tensor([1, 1, -1, 1, 1, 1, 1, 1])}, ok)
save_file({k: v.contiguous() for k, v in good.items()}, bad / "no_description.safetensors", metadata={"format": "pt"})
save_file({k: v.contiguous() for k, v in good.items()}, bad / "broken_json.safetensors",
          metadata={"internvl_head": '{"type": "linear_probe", "num_classes": 3,'})
save_head("bad/unknown_field", good, {**ok, "bn_epsilon": 1e-6})
