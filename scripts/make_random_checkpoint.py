#!/usr/bin/env python3
"""Writes a random-weight InternViT model directory of a real size (for benchmarks and memory checks;
kept out of git): config.json copied from configs/, weights in the original remote-code naming, bf16,
f16 or f32, optionally sharded with a model.safetensors.index.json. Values are a tiled random block
(norm weights near 1, layer scales 0.1), written tensor by tensor and in slices, so memory stays small.
scripts/make_random_internvl.py builds on the functions here.

  python3 scripts/make_random_checkpoint.py --config configs/InternViT-6B-224px.json --out /tmp/vit6b --dtype bf16
"""
import argparse
import json
import pathlib
import shutil
import struct
import sys

import numpy as np

NP_DTYPE = {"bf16": np.uint16, "f16": np.float16, "f32": np.float32}
ST_DTYPE = {"bf16": "BF16", "f16": "F16", "f32": "F32"}
TORCH_DTYPE = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


class ConfigError(Exception):
    pass


def check_fields(cfg, where, positive=(), optional_positive=(), flags=()):
    """Errors naming `where` and the field: a missing or non-positive integer, a flag that is not true/false."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(cfg).__name__}")
    for name in positive + optional_positive:
        value = cfg.get(name)
        if value is None and name in optional_positive:
            continue
        if type(value) is not int or value < 1:
            raise ConfigError(f"{where}: field '{name}' must be a positive integer, got {json.dumps(value)}")
    for name in flags:
        if name in cfg and type(cfg[name]) is not bool:
            raise ConfigError(f"{where}: field '{name}' must be true or false, got {json.dumps(cfg[name])}")


def check_vision_config(cfg, where):
    check_fields(cfg, where, ("hidden_size", "intermediate_size", "num_hidden_layers"),
                 ("patch_size", "image_size", "num_channels", "num_attention_heads"), ("qkv_bias", "qk_normalization"))
    if cfg.get("norm_type", "rms_norm") not in ("rms_norm", "layer_norm"):
        raise ConfigError(f"{where}: field 'norm_type' must be rms_norm or layer_norm, got {json.dumps(cfg['norm_type'])}")
    if cfg.get("image_size", 224) % cfg.get("patch_size", 14) != 0:
        raise ConfigError(f"{where}: image_size {cfg.get('image_size', 224)} is not a multiple of patch_size "
                          f"{cfg.get('patch_size', 14)}")
    if cfg["hidden_size"] % cfg.get("num_attention_heads", 1) != 0:
        raise ConfigError(f"{where}: num_attention_heads {cfg['num_attention_heads']} does not divide hidden_size "
                          f"{cfg['hidden_size']}")


def read_config(path):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config: {e}") from e


def command_line(description, default_shards):
    """The flags both scripts share, checked: --config, --out, --dtype, --shards, --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dtype", choices=["bf16", "f16", "f32"], default="bf16")
    parser.add_argument("--shards", type=int, default=default_shards)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def check_flags(parser, args, tensor_count):
    if not 1 <= args.shards <= tensor_count:
        parser.error(f"--shards must be between 1 and the {tensor_count} tensors")
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: exists and is not a directory")


def vision_tensors(cfg, prefix=""):
    """(name, shape, kind) of every InternViT tensor the config describes, remote-code names."""
    D, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    P, C, image = cfg.get("patch_size", 14), cfg.get("num_channels", 3), cfg.get("image_size", 224)
    rms = cfg.get("norm_type", "rms_norm") == "rms_norm"
    qkv_bias, qk_norm = cfg.get("qkv_bias", False), cfg.get("qk_normalization", True)
    tokens = 1 + (image // P) ** 2
    tensors = [("embeddings.class_embedding", (1, 1, D), "embed"), ("embeddings.patch_embedding.weight", (D, C, P, P), "matrix"),
               ("embeddings.patch_embedding.bias", (D,), "bias"), ("embeddings.position_embedding", (1, tokens, D), "embed")]
    for i in range(L):
        p = f"encoder.layers.{i}."
        tensors += [(p + "norm1.weight", (D,), "norm"), (p + "attn.qkv.weight", (3 * D, D), "matrix")]
        if not rms:
            tensors += [(p + "norm1.bias", (D,), "bias")]
        if qkv_bias:
            tensors += [(p + "attn.qkv.bias", (3 * D,), "bias")]
        if qk_norm:
            tensors += [(p + "attn.q_norm.weight", (D,), "norm"), (p + "attn.k_norm.weight", (D,), "norm")]
        tensors += [(p + "attn.proj.weight", (D, D), "matrix"), (p + "attn.proj.bias", (D,), "bias"), (p + "ls1", (D,), "scale"),
                    (p + "norm2.weight", (D,), "norm"), (p + "mlp.fc1.weight", (F, D), "matrix"), (p + "mlp.fc1.bias", (F,), "bias"),
                    (p + "mlp.fc2.weight", (D, F), "matrix"), (p + "mlp.fc2.bias", (D,), "bias"), (p + "ls2", (D,), "scale")]
        if not rms:
            tensors += [(p + "norm2.bias", (D,), "bias")]
    return [(prefix + name, shape, kind) for name, shape, kind in tensors]


class Values:
    """Deterministic pseudo-random values by kind: a random block tiled (shifted per tensor), scaled."""

    def __init__(self, dtype, seed):
        self.dtype = dtype
        self.block = np.random.default_rng(seed).standard_normal(1 << 22).astype(np.float32)

    def encode(self, v):
        v = v.astype(np.float32)
        if self.dtype == "bf16":
            return (v.view(np.uint32) >> 16).astype(np.uint16)  # truncation is fine for random data
        return v.astype(NP_DTYPE[self.dtype])

    def chunks(self, shape, kind, chunk=1 << 24):
        """The tensor's values in slices of at most `chunk` elements, encoded."""
        n = int(np.prod(shape))
        if kind == "norm":
            scale, offset = 0.1, 1.0
        elif kind == "scale":
            scale, offset = 0.0, 0.1
        else:
            fan_in = shape[-1] if len(shape) == 2 else int(np.prod(shape[1:])) if len(shape) > 2 else 1
            scale, offset = {"matrix": 1 / np.sqrt(fan_in), "bias": 0.02, "embed": 0.5, "unit": 1.0}[kind], 0.0
        shift = n % 9973
        for start in range(0, max(n, 1), chunk):
            count = min(chunk, n - start)
            index = (np.arange(start, start + count, dtype=np.int64) - shift) % self.block.size
            yield self.encode(self.block[index] * scale + offset)


def check_free_space(out, weight_bytes):
    """ConfigError unless the file system of `out` has room for the weights (the safetensors files already
    in `out`, which are rewritten, count as room)."""
    existing = out.absolute()
    while not existing.exists():
        existing = existing.parent
    reusable = sum(f.stat().st_size for f in out.glob("model*.safetensors") if f.is_file())
    free = shutil.disk_usage(existing).free + reusable
    if weight_bytes > free:
        raise ConfigError(f"{out}: the weights need {weight_bytes / 1e9:.2f} GB, the file system has "
                          f"{free / 1e9:.2f} GB free")


def write_checkpoint(out, config, tensors, dtype="bf16", shards=1, seed=0):
    """Writes the tensors as safetensors, optionally sharded, then config.json (with torch_dtype set): a
    directory with a config.json is complete (benchmarks/compare_pytorch.py reuses such directories)."""
    out = pathlib.Path(out)
    itemsize = np.dtype(NP_DTYPE[dtype]).itemsize
    total_bytes = sum(int(np.prod(s)) for _, s, _ in tensors) * itemsize
    check_free_space(out, total_bytes)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").unlink(missing_ok=True)
    values = Values(dtype, seed)
    weight_map = {}
    for s in range(shards):
        part = tensors[s::shards]
        name = "model.safetensors" if shards == 1 else f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for tname, shape, _ in part:
            size = int(np.prod(shape)) * itemsize
            header[tname] = {"dtype": ST_DTYPE[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[tname] = name
        blob = json.dumps(header).encode()
        blob += b" " * ((8 - len(blob) % 8) % 8)
        with open(out / name, "wb") as f:
            f.write(struct.pack("<Q", len(blob)))
            f.write(blob)
            for tname, shape, kind in part:
                for chunk in values.chunks(shape, kind):
                    f.write(chunk.tobytes())
    if shards > 1:
        (out / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total_bytes}, "weight_map": weight_map}, indent=2))
    (out / "config.json").write_text(json.dumps(dict(config, torch_dtype=TORCH_DTYPE[dtype]), indent=2) + "\n")
    return sum(int(np.prod(s)) for _, s, _ in tensors)


def run(main):
    """main()'s exit status; a bad config or a failed write is one line on stderr and status 1."""
    try:
        return main()
    except (ConfigError, OSError) as e:
        print(f"{pathlib.Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        return 1


def main():
    parser = command_line(__doc__, default_shards=1)
    args = parser.parse_args()
    cfg = read_config(args.config)
    if isinstance(cfg, dict) and "vision_config" in cfg:
        raise ConfigError(f"{args.config}: an InternVL config (vision_config, qllama_config): use "
                          "scripts/make_random_internvl.py")
    check_vision_config(cfg, args.config)
    tensors = vision_tensors(cfg)
    check_flags(parser, args, len(tensors))
    count = write_checkpoint(args.out, cfg, tensors, args.dtype, args.shards, args.seed)
    print(f"wrote {args.out}: {count:,} parameters, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
