#!/usr/bin/env python3
"""Writes a random-weight InternVL-C/G model directory in InternVL-14B-224px's layout (for memory and
speed measurements; kept out of git): config.json from configs/, InternViT under vision_model., QLLaMA
under qllama., query_tokens, clip_projector*, text_projection, logit_scale, itm_head.*, plus a copy of
QLLaMA's tokenizer.model (checked first: a SentencePiece model with as many pieces as the config's
vocab_size); bf16 by default, sharded like the official checkpoint (3 shards). The full
model is 13.8 B parameters, 27.7 GB in bf16; values are written in slices, so memory stays small.

  python3 scripts/make_random_internvl.py --config configs/InternVL-14B-224px.json --out /tmp/internvl14b
"""
import pathlib
import shutil
import sys

from make_random_checkpoint import (ConfigError, check_fields, check_flags, check_vision_config, command_line,
                                    read_config, run, vision_tensors, write_checkpoint)


def qllama_tensors(cfg):
    """(name, shape, kind) of QLLaMA and the InternVL heads, as in the official InternVLModel."""
    q, v = cfg["qllama_config"], cfg["vision_config"]
    D, F, L, V = q["hidden_size"], q["intermediate_size"], q["num_hidden_layers"], q["vocab_size"]
    Dv, E = v["hidden_size"], cfg.get("clip_embed_dim", 768)
    Q, every = cfg.get("num_query_token", 96), cfg.get("cross_attention_frequency", 2)
    tensors = [("query_tokens", (1, Q, D), "unit"), ("qllama.model.embed_tokens.weight", (V, D), "unit")]
    for i in range(L):
        p = f"qllama.model.layers.{i}."
        tensors += [(p + "input_layernorm.weight", (D,), "norm")]
        tensors += [(p + f"self_attn.{x}_proj.weight", (D, D), "matrix") for x in "qkvo"]
        if i % every == 0:
            tensors += [(p + "cross_attn.q_proj.weight", (D, D), "matrix"), (p + "cross_attn.k_proj.weight", (D, Dv), "matrix"),
                        (p + "cross_attn.v_proj.weight", (D, Dv), "matrix"), (p + "cross_attn.o_proj.weight", (D, D), "matrix"),
                        (p + "cross_attn.norm1.weight", (D,), "norm"), (p + "cross_attn.norm2.weight", (Dv,), "norm")]
        tensors += [(p + "post_attention_layernorm.weight", (D,), "norm"), (p + "mlp.gate_proj.weight", (F, D), "matrix"),
                    (p + "mlp.up_proj.weight", (F, D), "matrix"), (p + "mlp.down_proj.weight", (D, F), "matrix")]
    tensors += [("qllama.model.norm.weight", (D,), "norm")]
    if not q.get("tie_word_embeddings", False):
        tensors += [("qllama.lm_head.weight", (V, D), "matrix")]
    for name, dim in [("clip_projector.", Dv), ("clip_projector2.", D)]:
        for norm in ("norm1_q", "norm1_k", "norm1_v"):
            tensors += [(f"{name}{norm}.weight", (dim,), "norm"), (f"{name}{norm}.bias", (dim,), "bias")]
        for x in "qkv":
            tensors += [(f"{name}cross_attn.{x}.weight", (dim, dim), "matrix"), (f"{name}cross_attn.{x}_bias", (dim,), "bias")]
        tensors += [(f"{name}cross_attn.proj.weight", (E, dim), "matrix"), (f"{name}cross_attn.proj.bias", (E,), "bias")]
    tensors += [("text_projection", (D, E), "matrix"), ("logit_scale", (), "scale"),
                ("itm_head.weight", (2, D), "matrix"), ("itm_head.bias", (2,), "bias")]
    return tensors


def check_internvl_config(cfg, where):
    check_fields(cfg, where, optional_positive=("clip_embed_dim", "num_query_token", "cross_attention_frequency"))
    for part in ("vision_config", "qllama_config"):
        if not isinstance(cfg.get(part), dict):
            raise ConfigError(f"{where}: expected a '{part}' object (an InternVL-C/G config, e.g. "
                              "configs/InternVL-14B-224px.json)")
    check_vision_config(cfg["vision_config"], f"{where}: vision_config")
    check_fields(cfg["qllama_config"], f"{where}: qllama_config",
                 ("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size"), flags=("tie_word_embeddings",))


def sentencepiece_piece_count(path):
    """The number of pieces (ModelProto field 1) of a SentencePiece model file, found by walking the
    protobuf's top-level fields; ConfigError naming the file and byte where it is not such a message."""
    data, pos, pieces = path.read_bytes(), 0, 0

    def varint():
        nonlocal pos
        value = shift = 0
        while pos < len(data) and shift < 64:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value
        raise ConfigError(f"{path}: not a SentencePiece model (a varint runs past byte {pos})")

    while pos < len(data):
        start = pos
        key = varint()
        field, wire = key >> 3, key & 7
        if field == 0 or wire not in (0, 1, 2, 5):
            raise ConfigError(f"{path}: not a SentencePiece model (no protobuf field at byte {start})")
        if wire == 0:
            varint()
        elif wire == 2:
            length = varint()
            pos += length
        else:
            pos += 8 if wire == 1 else 4
        if pos > len(data):
            raise ConfigError(f"{path}: not a SentencePiece model (the field at byte {start} runs past the end)")
        pieces += field == 1 and wire == 2
    return pieces


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    parser = command_line(__doc__, default_shards=3)
    parser.add_argument("--tokenizer", default=str(root / "tests" / "golden" / "text" / "qllama-tokenizer.model"))
    args = parser.parse_args()
    cfg = read_config(args.config)
    check_internvl_config(cfg, args.config)
    tensors = vision_tensors(cfg["vision_config"], "vision_model.") + qllama_tensors(cfg)
    check_flags(parser, args, len(tensors))
    tokenizer = pathlib.Path(args.tokenizer)
    if not tokenizer.is_file():
        parser.error(f"--tokenizer {tokenizer}: not a file")
    pieces, vocab = sentencepiece_piece_count(tokenizer), cfg["qllama_config"]["vocab_size"]
    if pieces != vocab:
        raise ConfigError(f"{tokenizer}: {pieces} pieces, but {args.config} has qllama vocab_size {vocab}")
    count = write_checkpoint(args.out, cfg, tensors, args.dtype, args.shards, args.seed)
    shutil.copyfile(tokenizer, pathlib.Path(args.out) / "tokenizer.model")
    print(f"wrote {args.out}: {count:,} parameters, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
