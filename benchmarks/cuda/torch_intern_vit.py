#!/usr/bin/env python3
"""PyTorch on the same GPU, timing what bench_cuda_intern_vit times: InternViT-6B-224px (48 blocks, 257
tokens) and InternViT-6B-448px-V1-5 (45 blocks, 1025 tokens) forward passes in bf16 at batch 1, 8 and 32,
random weights created on the GPU. The model is transformers' InternVLVisionModel with
attn_implementation="sdpa" when transformers can be imported; otherwise `Mirror`, a module-for-module copy
of that model's forward written here (the same torch ops in the same order: python RMSNorm in f32,
separate q/k/v projections, q/k RMSNorm over the full width, F.scaled_dot_product_attention, exact GELU,
LayerScale as a multiply, residual adds); the report says which one ran. Timing as bench_intern_vit:
two warm-up passes, then CUDA events around single passes for about --min-seconds (at least 2), median.
Usage: torch_intern_vit.py --out FILE.json [--batches 1,8,32] [--images 224,448] [--min-seconds S]"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

D, F_MLP, HEADS, PATCH, EPS = 3200, 12800, 25, 14, 1e-6
MODELS = {224: ("InternViT-6B-224px", 48), 448: ("InternViT-6B-448px-V1-5", 45)}


class RMSNorm(nn.Module):  # transformers' InternVLVisionRMSNorm
    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)
        return self.weight * x.to(dtype)


class Layer(nn.Module):  # InternVLVisionLayer with InternVLVisionAttention (sdpa) and InternVLVisionMLP
    def __init__(self):
        super().__init__()
        self.layernorm_before, self.layernorm_after = RMSNorm(D), RMSNorm(D)
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(D, D, bias=False) for _ in range(3))
        self.q_norm, self.k_norm = RMSNorm(D), RMSNorm(D)
        self.projection_layer = nn.Linear(D, D)
        self.fc1, self.fc2 = nn.Linear(D, F_MLP), nn.Linear(F_MLP, D)
        self.lambda_1 = nn.Parameter(0.1 * torch.ones(D))
        self.lambda_2 = nn.Parameter(0.1 * torch.ones(D))

    def forward(self, hidden):
        b, s, _ = hidden.shape
        h = self.layernorm_before(hidden)
        q, k, v = self.q_norm(self.q_proj(h)), self.k_norm(self.k_proj(h)), self.v_proj(h)
        q, k, v = (t.reshape(b, s, HEADS, D // HEADS).transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, scale=(D // HEADS) ** -0.5, is_causal=False)
        o = self.projection_layer(o.transpose(1, 2).contiguous().reshape(b, s, D))
        hidden = self.lambda_1 * o + hidden
        m = self.fc2(F.gelu(self.fc1(self.layernorm_after(hidden))))
        return self.lambda_2 * m + hidden


class Mirror(nn.Module):  # InternVLVisionModel (use_mean_pooling: no final norm)
    def __init__(self, image, layers):
        super().__init__()
        self.projection = nn.Conv2d(3, D, kernel_size=PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.position_embeddings = nn.Parameter(torch.zeros(1, 1 + (image // PATCH) ** 2, D))
        self.layer = nn.ModuleList(Layer() for _ in range(layers))

    def forward(self, pixel_values):
        x = self.projection(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.position_embeddings
        for layer in self.layer:
            x = layer(x)
        return x


def make_model(image, layers):
    """(model, description): transformers' model if it can be built, the mirror otherwise."""
    try:
        import transformers
        from transformers import InternVLVisionConfig, InternVLVisionModel

        config = InternVLVisionConfig(hidden_size=D, intermediate_size=F_MLP, num_attention_heads=HEADS,
                                      num_hidden_layers=layers, image_size=[image, image], patch_size=[PATCH, PATCH],
                                      norm_type="rms_norm", use_qk_norm=True, attention_bias=False,
                                      layer_norm_eps=EPS, use_mean_pooling=True, attn_implementation="sdpa")
        model = InternVLVisionModel(config)
        implementation = getattr(model.config, "_attn_implementation", "?")
        if implementation != "sdpa":
            raise RuntimeError(f"attention implementation is {implementation}, not sdpa")
        return (lambda px: model(pixel_values=px).last_hidden_state), model, \
            f"transformers {transformers.__version__} InternVLVisionModel (sdpa)"
    except Exception as error:  # no transformers on this machine, or an incompatible version
        print(f"torch_intern_vit: transformers unavailable ({type(error).__name__}: {str(error)[:120]}); "
              "using the in-script mirror of its forward", file=sys.stderr)
        model = Mirror(image, layers)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.02)
            for layer in model.layer:
                layer.lambda_1.fill_(0.1)
                layer.lambda_2.fill_(0.1)
        return model, model, "in-script mirror of transformers' InternVLVisionModel (sdpa)"


def time_pass(fn, min_seconds):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    first = start.elapsed_time(stop) * 1e-3
    seconds = []
    for _ in range(int(min(max(min_seconds / max(first, 1e-6), 2), 50))):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        seconds.append(start.elapsed_time(stop) * 1e-3)
    seconds.sort()
    return seconds[len(seconds) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--images", default="224,448")
    parser.add_argument("--min-seconds", type=float, default=0.8)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("torch_intern_vit: no CUDA device", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    report = {"device": torch.cuda.get_device_properties(0).name, "torch": torch.__version__, "models": []}
    torch.set_default_dtype(torch.bfloat16)
    for image in (int(s) for s in args.images.split(",")):
        name, layers = MODELS[image]
        with torch.device("cuda"):
            run, model, report["implementation"] = make_model(image, layers)
        model.eval()
        print(f"{name}: {report['implementation']}, "
              f"{sum(p.numel() for p in model.parameters()) / 1e9:.3f} B parameters", flush=True)
        for batch in (int(s) for s in args.batches.split(",")):
            entry = {"model": name, "image": image, "blocks": layers, "batch": batch}
            try:
                pixels = torch.empty(batch, 3, image, image, device="cuda").uniform_(-2, 2)
                with torch.inference_mode():
                    seconds = time_pass(lambda: run(pixels), args.min_seconds)
                entry.update(ms=seconds * 1e3, images_per_s=batch / seconds)
                print(f"{name} batch {batch}: {seconds * 1e3:.2f} ms, {batch / seconds:.1f} images/s", flush=True)
            except RuntimeError as error:  # e.g. out of memory
                entry["error"] = str(error)[:200]
                print(f"{name} batch {batch}: {entry['error']}", file=sys.stderr, flush=True)
            report["models"].append(entry)
            with open(args.out, "w") as f:  # after every configuration: a run cut short keeps what it measured
                json.dump(report, f, indent=1)
        del run, model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
