#!/usr/bin/env python3
"""Writes the safetensors fixtures for tests/io/ with Python's `safetensors` package (the independent
writer and the reference reader), plus a corpus of broken files and model directories that the C++
reader must refuse. Hand-written files are checked with the reference reader: it accepts the valid
ones and refuses every file in bad/.

  single/     config.json + model.safetensors, remote-code (original) InternViT names, F32/BF16/F16,
              a BatchNorm-style I64 scalar, and __metadata__
  sharded/    config.json + model.safetensors.index.json + two shards, transformers names
  expected.json  every tensor of both: dtype, shape and values (I64 as integers, floats as f32 bits)
  all_dtypes.safetensors  one tensor of every dtype torch can write (the reader must list them all)
  misaligned.safetensors  valid but unaligned float data
  extra_field.safetensors  valid, with a per-tensor field the format does not define
  no_config/  model.safetensors (the misaligned file) without a config.json
  bad/        broken files and directories, one problem each (see BAD below)
  differential.bin  seeded mutants of two small valid files, each with the reference reader's verdict

Seeded; re-run from anywhere with: python3 tests/golden/safetensors/make.py"""
import json
import pathlib
import random
import re
import shutil
import struct

import torch
from safetensors import deserialize
from safetensors.torch import load_file, save_file

out = pathlib.Path(__file__).resolve().parent
torch.manual_seed(20240601)
D, F, TOKENS = 8, 16, 5


def rand(shape, dtype):
    return torch.randn(shape).to(dtype)


def describe(tensors):
    """dtype, shape, and the values: I64 as integers, floats as the bit patterns of their f32 values
    (exact, and JSON has no Infinity)."""
    result = {}
    for name, t in tensors.items():
        dtype = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}[t.dtype]
        if t.dtype == torch.int64:
            values = {"values": t.flatten().tolist()}
        else:
            values = {"f32_bits": [b & 0xFFFFFFFF for b in t.float().flatten().view(torch.int32).tolist()]}
        result[name] = {"dtype": dtype, "shape": list(t.shape), **values}
    return result


def reference_accepts(b):
    try:
        deserialize(bytes(b))
        return True
    except Exception:  # noqa: BLE001 -- safetensors raises several types
        return False


def reset(path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


# --- single file, original (remote-code) names -------------------------------------------------------
single = {
    "embeddings.class_embedding": rand((1, 1, D), torch.float32),
    "embeddings.patch_embedding.weight": rand((D, 3, 2, 2), torch.bfloat16),
    "embeddings.patch_embedding.bias": rand((D,), torch.float32),
    "embeddings.position_embedding": rand((1, TOKENS, D), torch.float32),
    "encoder.layers.0.norm1.weight": rand((D,), torch.float16),
    "encoder.layers.0.attn.qkv.weight": rand((3 * D, D), torch.bfloat16),
    "encoder.layers.0.attn.q_norm.weight": rand((D,), torch.float32),
    "encoder.layers.0.attn.k_norm.weight": rand((D,), torch.float32),
    "encoder.layers.0.attn.proj.weight": rand((D, D), torch.float16),
    "encoder.layers.0.attn.proj.bias": rand((D,), torch.bfloat16),
    "encoder.layers.0.ls1": rand((D,), torch.float32),
    "encoder.layers.0.norm2.weight": rand((D,), torch.float16),
    "encoder.layers.0.mlp.fc1.weight": rand((F, D), torch.bfloat16),
    "encoder.layers.0.mlp.fc1.bias": rand((F,), torch.bfloat16),
    "encoder.layers.0.mlp.fc2.weight": rand((D, F), torch.bfloat16),
    "encoder.layers.0.mlp.fc2.bias": rand((D,), torch.bfloat16),
    "encoder.layers.0.ls2": rand((D,), torch.float32),
    "norm.running_mean": rand((D,), torch.float32),
    "norm.num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
}
single["embeddings.position_embedding"][0, 0, :3] = torch.tensor([float("inf"), float("-inf"), -0.0])
reset(out / "single")
save_file(single, out / "single" / "model.safetensors", metadata={"format": "pt"})  # one key: Rust orders a map randomly
(out / "single" / "config.json").write_text(json.dumps({
    "architectures": ["InternVisionModel"], "hidden_size": D, "intermediate_size": F, "num_hidden_layers": 1,
    "num_attention_heads": 2, "qkv_bias": False, "qk_normalization": True, "norm_type": "rms_norm",
    "layer_norm_eps": 1e-6, "image_size": 4, "patch_size": 2, "torch_dtype": "bfloat16"}, indent=2) + "\n")

# --- two shards, transformers names -----------------------------------------------------------------
prefix = "vision_tower.encoder.layer.0."
shard1 = {
    "vision_tower.embeddings.cls_token": rand((1, 1, D), torch.bfloat16),
    "vision_tower.embeddings.position_embeddings": rand((1, TOKENS, D), torch.bfloat16),
    "vision_tower.embeddings.patch_embeddings.projection.weight": rand((D, 3, 2, 2), torch.bfloat16),
    "vision_tower.embeddings.patch_embeddings.projection.bias": rand((D,), torch.float32),
    prefix + "attention.q_proj.weight": rand((D, D), torch.float16),
    prefix + "attention.k_proj.weight": rand((D, D), torch.float16),
    prefix + "attention.v_proj.weight": rand((D, D), torch.float16),
    prefix + "attention.q_norm.weight": rand((D,), torch.float32),
    prefix + "attention.k_norm.weight": rand((D,), torch.float32),
    prefix + "layernorm_before.weight": rand((D,), torch.bfloat16),
}
shard2 = {
    prefix + "attention.projection_layer.weight": rand((D, D), torch.bfloat16),
    prefix + "attention.projection_layer.bias": rand((D,), torch.bfloat16),
    prefix + "lambda_1": rand((D,), torch.float32),
    prefix + "layernorm_after.weight": rand((D,), torch.float16),
    prefix + "mlp.fc1.weight": rand((F, D), torch.bfloat16),
    prefix + "mlp.fc1.bias": rand((F,), torch.float32),
    prefix + "mlp.fc2.weight": rand((D, F), torch.bfloat16),
    prefix + "mlp.fc2.bias": rand((D,), torch.float32),
    prefix + "lambda_2": rand((D,), torch.float32),
    "multi_modal_projector.layer_norm.weight": rand((4 * D,), torch.float32),
    "multi_modal_projector.layer_norm.bias": rand((4 * D,), torch.float32),
    "multi_modal_projector.linear_1.weight": rand((D, 4 * D), torch.bfloat16),
    "decode_head.norm.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
}
shards = {"model-00001-of-00002.safetensors": shard1, "model-00002-of-00002.safetensors": shard2}


def write_sharded(path, shards, weight_map=None):
    reset(path)
    for file, tensors in shards.items():
        save_file(tensors, path / file, metadata={"format": "pt"})
    if weight_map is None:
        weight_map = {name: file for file, tensors in shards.items() for name in tensors}
    total = sum(t.numel() * t.element_size() for tensors in shards.values() for t in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (path / "config.json").write_text(json.dumps({
        "architectures": ["InternVLForConditionalGeneration"], "downsample_ratio": 0.5,
        "vision_config": {"hidden_size": D, "intermediate_size": F, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "attention_bias": False, "use_qk_norm": True,
                          "norm_type": "rms_norm", "layer_norm_eps": 1e-6}}, indent=2) + "\n")


write_sharded(out / "sharded", shards)
expected = {"single": describe(single), "sharded": describe({**shard1, **shard2})}
(out / "expected.json").write_text("{\n" + ",\n".join(  # one tensor a line
    f' "{set_name}": {{\n' + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in tensors.items()) + "\n }"
    for set_name, tensors in expected.items()) + "\n}\n")
assert json.loads((out / "expected.json").read_text()) == expected

# --- every dtype torch writes -----------------------------------------------------------------------
all_dtypes = {
    "f64": torch.tensor([1.5, -2.0], dtype=torch.float64), "f32": torch.tensor([0.25], dtype=torch.float32),
    "f16": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16), "bf16": torch.tensor([-1.0], dtype=torch.bfloat16),
    "i64": torch.tensor([-3], dtype=torch.int64), "i32": torch.tensor([4, 5], dtype=torch.int32),
    "i16": torch.tensor([-6], dtype=torch.int16), "i8": torch.tensor([7, -8, 9], dtype=torch.int8),
    "u8": torch.tensor([250], dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
    "f8_e4m3": torch.tensor([0.5, 1.0], dtype=torch.float8_e4m3fn),
    "f8_e5m2": torch.tensor([2.0], dtype=torch.float8_e5m2),
    "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
    "u16": torch.tensor([65535], dtype=torch.uint16), "u32": torch.tensor([1], dtype=torch.uint32),
    "u64": torch.tensor([2], dtype=torch.uint64), "empty_f32": torch.zeros((0, 3), dtype=torch.float32),
}
save_file(all_dtypes, out / "all_dtypes.safetensors")


# --- hand-written files (raw layout) ----------------------------------------------------------------
def raw(header, data=b"", header_length=None):
    """A safetensors file from a header (dict, or JSON text used verbatim) and a data section."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if header_length is None else header_length) + text + data


def f32(*values):
    return struct.pack(f"<{len(values)}f", *values)


# Valid but unaligned: 3 bytes of U8 first, and the header padded so that, counted from the start of
# the file, neither float tensor starts at a multiple of its element size.
misaligned_header = json.dumps({"__metadata__": {"writer": "make.py", "purpose": "alignment"},
                                "bytes": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
                                "w": {"dtype": "F32", "shape": [2], "data_offsets": [3, 11]},
                                "h": {"dtype": "BF16", "shape": [3], "data_offsets": [11, 17]}})
while (8 + len(misaligned_header) + 3) % 4 == 0 or (8 + len(misaligned_header) + 11) % 2 == 0:
    misaligned_header += " "
misaligned = raw(misaligned_header.encode(),
                 bytes([1, 2, 3]) + f32(1.5, -2.25) + struct.pack("<3H", 0x3F80, 0xC000, 0x4040))
(out / "misaligned.safetensors").write_bytes(misaligned)
back = load_file(out / "misaligned.safetensors")
assert back["w"].tolist() == [1.5, -2.25] and back["h"].float().tolist() == [1.0, -2.0, 3.0]

# Valid: an entry with a field the format does not define (the reference reader ignores it).
extra_field = raw({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "strides": [1]}}, f32(0.5, 4.0))
assert reference_accepts(extra_field)
(out / "extra_field.safetensors").write_bytes(extra_field)

reset(out / "no_config")  # a directory with weights but no config.json (as head checkpoints may come)
shutil.copy(out / "misaligned.safetensors", out / "no_config" / "model.safetensors")

good = (out / "single" / "model.safetensors").read_bytes()
good_header_length = struct.unpack("<Q", good[:8])[0]
good_header = good[8:8 + good_header_length]


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


# file name -> bytes; tests/io/test_safetensors.cpp lists the message each must produce.
BAD = {
    "empty": b"",
    "short": good[:5],
    "truncated": good[:-10],
    "header_past_end": struct.pack("<Q", len(good)) + good[8:],
    "header_absurd": struct.pack("<Q", 1 << 62) + good[8:],
    "malformed_json": good[:8] + good_header.replace(b"}", b"]", 1) + good[8 + good_header_length:],
    "not_utf8": raw(b'{"\xff\xfe": ' + json.dumps(entry("F32", [1], 0, 4)).encode() + b"}", f32(1)),
    "nul_in_header": raw(b'{}\x00{"w": ' + json.dumps(entry("F32", [1], 0, 4)).encode() + b"}", f32(1)),
    "header_not_object": raw([1, 2, 3]),
    "entry_not_object": raw({"w": 5}),
    "missing_offsets": raw({"w": {"dtype": "F32", "shape": [1]}}, f32(1)),
    "unknown_dtype": raw({"w": entry("F128", [1], 0, 16)}, bytes(16)),
    "dtype_not_string": raw({"w": entry(32, [1], 0, 4)}, f32(1)),
    "negative_dim": raw({"w": entry("F32", [-1], 0, 4)}, f32(1)),
    "fractional_dim": raw({"w": entry("F32", [2.5], 0, 10)}, bytes(10)),
    "shape_not_array": raw({"w": entry("F32", 1, 0, 4)}, f32(1)),
    "shape_overflow": raw({"w": entry("U8", [1 << 40, 1 << 40], 0, 4)}, bytes(4)),
    "subbyte_not_whole": raw({"w": entry("F4", [3], 0, 2)}, bytes(2)),
    "offsets_not_pair": raw({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, f32(1)),
    "negative_offset": raw({"w": entry("F32", [1], -4, 0)}, f32(1)),
    "wrong_byte_length": raw({"w": entry("F32", [3], 0, 8)}, f32(1, 2)),
    "reversed_offsets": raw({"w": entry("F32", [0], 8, 0)}, f32(1, 2)),
    "out_of_range": raw({"w": entry("F32", [2], 0, 8), "v": entry("F32", [2], 8, 16)}, f32(1, 2, 3)),
    "overlapping": raw({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, f32(1, 2, 3)),
    "hole": raw({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, f32(1, 2, 3, 4, 5)),
    "hole_at_start": raw({"a": entry("F32", [1], 4, 8)}, f32(1, 2)),
    "trailing_bytes": raw({"a": entry("F32", [1], 0, 4)}, f32(1, 2)),
    "duplicate_name": raw(b'{"w": ' + json.dumps(entry("F32", [1], 0, 4)).encode() + b', "w": '
                          + json.dumps(entry("F32", [1], 4, 8)).encode() + b"}", f32(1, 2)),
    "duplicate_field": raw(b'{"w": {"dtype": "F32", "dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}', f32(1)),
    "metadata_not_strings": raw({"__metadata__": {"format": 1}, "w": entry("F32", [1], 0, 4)}, f32(1)),
    "deep_nesting": raw(b'{"__metadata__": ' + b"[" * 100 + b"]" * 100 + b"}"),
}
reset(out / "bad")
for name, data in BAD.items():
    (out / "bad" / f"{name}.safetensors").write_bytes(data)
    assert not reference_accepts(data), f"the reference reader accepts bad/{name}"

# Broken model directories (sharded unless noted), one problem each.
one, two = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
write_sharded(out / "bad" / "dir_missing_shard", shards)
(out / "bad" / "dir_missing_shard" / two).unlink()
write_sharded(out / "bad" / "dir_index_names_absent_tensor", shards,
              {**{n: f for f, t in shards.items() for n in t}, "vision_tower.ghost.weight": one})
write_sharded(out / "bad" / "dir_tensor_in_two_shards",
              {one: shard1, two: {**shard2, "vision_tower.embeddings.cls_token": rand((1, 1, D), torch.bfloat16)}})
write_sharded(out / "bad" / "dir_unlisted_tensor", shards,
              {n: f for f, t in shards.items() for n in t if n != prefix + "lambda_2"})
write_sharded(out / "bad" / "dir_wrong_shard", shards,
              {**{n: f for f, t in shards.items() for n in t}, prefix + "lambda_2": one})
write_sharded(out / "bad" / "dir_shard_path_escapes", shards,
              {**{n: f for f, t in shards.items() for n in t}, prefix + "lambda_2": "../" + two})
write_sharded(out / "bad" / "dir_malformed_index", shards)
(out / "bad" / "dir_malformed_index" / "model.safetensors.index.json").write_text('{"weight_map": {"a": "b",}}\n')
write_sharded(out / "bad" / "dir_malformed_config", shards)
(out / "bad" / "dir_malformed_config" / "config.json").write_text(
    '{\n  "hidden_size": 8,\n  "num_hidden_layers": 1\n  "norm_type": "rms_norm"\n}\n')
reset(out / "bad" / "dir_no_weights")
(out / "bad" / "dir_no_weights" / "config.json").write_text("{}\n")
(out / "bad" / "dir_no_weights" / "pytorch_model.bin").write_bytes(b"not read")
reset(out / "bad" / "dir_bad_shard")
shutil.copy(out / "bad" / "overlapping.safetensors", out / "bad" / "dir_bad_shard" / "model.safetensors")


# --- differential corpus: mutants and the reference reader's verdict on each --------------------------
# Record: u8 verdict (1 = safetensors.deserialize accepts the bytes) | u32 LE length | bytes.
# tests/io/test_safetensors_differential.cpp requires the C++ reader to agree on every one.
rng = random.Random(20240601)
save_file({"a": rand((2, 3), torch.float32), "b": rand((4,), torch.bfloat16), "c": rand((3,), torch.float16),
           "n": torch.tensor(5, dtype=torch.int64)}, out / "small.tmp")
bases = [misaligned, (out / "small.tmp").read_bytes()]
(out / "small.tmp").unlink()


def with_header(b, header):
    return struct.pack("<Q", len(header)) + header + b[8 + struct.unpack("<Q", b[:8])[0]:]


def mutate(b):
    n = struct.unpack("<Q", b[:8])[0]
    header = b[8:8 + n]
    kind = rng.randrange(7)
    if kind == 0:  # one number of the header replaced
        spans = [(m.start(), m.end()) for m in re.finditer(rb"\d+", header)]
        start, end = rng.choice(spans)
        value = int(header[start:end])
        new = rng.choice([value + 1, value - 1, value + 2, value * 2, 0, -1, 2**64, value + 4, "1e1", "2.0"])
        return with_header(b, header[:start] + str(new).encode() + header[end:])
    if kind == 1:  # one dtype replaced by another of the format, or a near miss
        dtypes = [b"F32", b"BF16", b"F16", b"I32", b"I16", b"U8", b"F64", b"I64", b"F4", b"BOOL", b"f32", b"F31"]
        for old in sorted(dtypes, key=lambda d: rng.random()):
            if b'"' + old + b'"' in header:
                return with_header(b, header.replace(b'"' + old + b'"', b'"' + rng.choice(dtypes) + b'"', 1))
        return b
    if kind == 2:  # one header byte replaced by a JSON-significant or invalid one
        at = rng.randrange(len(header))
        byte = rng.choice(b'{}[],:" 019-.eE\\\x00\x80\xff\t')
        return with_header(b, header[:at] + bytes([byte]) + header[at + 1:])
    if kind == 3:  # a stretch of the header deleted or duplicated
        at = rng.randrange(len(header))
        stretch = header[at:at + rng.randrange(1, 24)]
        return with_header(b, header[:at] + (stretch * 2 if rng.random() < 0.5 else b"") + header[at + len(stretch):])
    if kind == 4:  # whitespace or padding added
        at = rng.randrange(len(header) + 1)
        return with_header(b, header[:at] + rng.choice([b" ", b"\n", b"  ", b"\t"]) + header[at:])
    if kind == 5:  # the length field off by a little
        return struct.pack("<Q", max(0, n + rng.randrange(-3, 4))) + b[8:]
    return b[:rng.randrange(len(b))] if rng.random() < 0.5 else b + bytes(rng.randrange(1, 5))  # resized


records = bytearray()
verdicts = []
for _ in range(300):
    mutant = mutate(rng.choice(bases))
    verdicts.append(reference_accepts(mutant))
    records += bytes([verdicts[-1]]) + struct.pack("<I", len(mutant)) + mutant
(out / "differential.bin").write_bytes(records)
print(f"differential.bin: {len(verdicts)} mutants, {sum(verdicts)} accepted by the reference")
