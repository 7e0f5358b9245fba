#!/usr/bin/env python3
"""Runs the example programs the way a user would: bad arguments and unreadable files must print a
message and exit non-zero; real runs on the golden tiny models must write what transformers computed, and
with --precision bf16 (bf16 operands, f32 sums in the cpu backend's products) come within 1e-2 relative L2
of the f32 run: rounding an operand to bf16 changes it by at most 2^-8 (0.4%), errors that partly cancel
in the sums, and the tiny 300M-style model lands at 2e-3; a broken bf16 kernel is off by O(1).
extract --backend cuda is checked against transformers' bf16 run where the build has CUDA and a GPU is present,
otherwise it must fail with a clean error naming CUDA; --require-cuda (as scripts/device-check passes it) makes
that error a failure.
Usage: check_examples.py BUILD_EXAMPLES_DIR GOLDEN_DIR DEMO_DIR [--require-cuda]"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

from cpu_bf16 import check_bf16_run

examples, golden, demo = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
require_cuda = "--require-cuda" in sys.argv[4:]
vision = golden / "vision"
failures = []


def run(name, *args):
    return subprocess.run([str(examples / name), *map(str, args)], capture_output=True, text=True)


def expect_failure(name, args, message, code=None):
    r = run(name, *args)
    if r.returncode == 0 or (code is not None and r.returncode != code) or message not in r.stderr:
        failures.append(f"{name} {args}: exit {r.returncode}, stderr {r.stderr[:300]!r}; expected '{message}'")


def expect_close(path, reference, tolerance=1e-5):
    a, b = np.load(path), np.load(reference)
    err = np.linalg.norm(a - b) / np.linalg.norm(b) if a.shape == b.shape else np.inf
    if not err <= tolerance:
        failures.append(f"{path}: shape {a.shape} vs {b.shape}, relative L2 {err}")
    return err


def check(condition, what):
    if not condition:
        failures.append(what)


for name, inputs in [("extract", ["--pixels", vision / "pixels_native.npy"]), ("info", [])]:
    expect_failure(name, [], "missing required option --model", 2)
    expect_failure(name, ["--bogus"], "unknown argument '--bogus'", 2)
    expect_failure(name, ["--model", "/nonexistent/dir"] + inputs, "/nonexistent/dir", 1)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32"],
               "give the images with --image or --images, or with --pixels", 2)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", "/nonexistent.npy"], "cannot open", 1)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy",
                           "--layer", "9"], "hidden state 9 does not exist", 1)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy",
                           "--layer", "-99999999999999999999"], "--layer is out of range", 2)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--image", golden / "image" / "big_513x1023.png",
                           "--max-tiles", "0"], "--max-tiles must be at least 1, got 0", 2)
with tempfile.TemporaryDirectory() as tmp:
    np.save(pathlib.Path(tmp) / "no_image.npy", np.zeros((0, 3, 28, 28), dtype=np.float32))
    expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", pathlib.Path(tmp) / "no_image.npy"],
                   "the pixels hold no image", 1)
    expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", pathlib.Path(tmp)],
                   "not a regular file", 1)
    # The output file is checked before anything is read or computed (a missing model is not reached),
    # and the check leaves no file behind.
    expect_failure("extract", ["--model", "/nonexistent/dir", "--pixels", "/nonexistent.npy",
                               "--out", pathlib.Path(tmp) / "no" / "dir" / "f.npy"], "cannot create the file", 1)
    expect_failure("extract", ["--model", "/nonexistent/dir", "--pixels", "/nonexistent.npy",
                               "--out", pathlib.Path(tmp) / "f.npy"], "/nonexistent/dir", 1)
    check(not (pathlib.Path(tmp) / "f.npy").exists(), "extract's check of --out left the file behind")
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy",
                           "--backend", "tpu"], "unknown backend 'tpu' (reference, cpu, cuda)", 2)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy",
                           "--projector"], "no chat projector weights", 1)
# --precision (support/backend.hpp, shared by every example program): f32 or bf16; bf16 on cpu or cuda only,
# f32 not on cuda.
for args, message in [(["--precision", "fp16"], "--precision must be f32 or bf16, got 'fp16'"),
                      (["--backend", "reference", "--precision", "bf16"], "--precision bf16 needs --backend cpu"),
                      (["--backend", "cuda", "--precision", "f32"], "--precision f32 is not available with --backend cuda")]:
    expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy", *args],
                   message, 2)
expect_failure("extract", ["--model", vision / "tiny6b_orig_f32", "--pixels", vision / "pixels_native.npy",
                           "--backend", "reference", "--profile"], "--profile needs --backend cpu", 2)

with tempfile.TemporaryDirectory() as tmp:
    out = pathlib.Path(tmp) / "features.npy"
    f32_out, bf16_out = pathlib.Path(tmp) / "f32.npy", pathlib.Path(tmp) / "bf16.npy"
    for backend, out in [("cpu", f32_out), ("reference", out)]:
        r = run("extract", "--model", vision / "tiny300m_hf_bf16", "--pixels", vision / "pixels_interp.npy",
                "--layer", "-1", "--out", out, "--backend", backend)
        if r.returncode != 0 or "encoder" not in r.stderr:
            failures.append(f"extract {backend}: {r.stderr}")
        else:
            expect_close(out, vision / "tiny300m_bf16w_interp_hidden2.npy")
    r = run("extract", "--model", vision / "tiny300m_hf_bf16", "--pixels", vision / "pixels_interp.npy",
            "--out", bf16_out, "--precision", "bf16")
    if r.returncode != 0:
        failures.append(f"extract --precision bf16: {r.stderr}")
    else:
        check_bf16_run(check, "extract", expect_close(bf16_out, f32_out, 1e-2))
    # --profile: the same features, and the op table on stderr. The cpu backend's 2 blocks run q, k and v
    # apart in this Hugging Face layout (6 ops::linear, plus the patch embedding's), proj and fc2 with
    # their LayerScale residuals (4 ops::scaled_residual_linear) and fc1 with Norm₂ (2 ops::norm_linear).
    r = run("extract", "--model", vision / "tiny300m_hf_bf16", "--pixels", vision / "pixels_interp.npy",
            "--out", out, "--profile")
    lines = r.stderr.splitlines()
    calls = {fields[0]: fields[1] for fields in (line.split() for line in lines) if fields and fields[0].startswith("ops::")}
    if r.returncode != 0 or not any(line.startswith("op ") and "GFLOP/s" in line for line in lines) or \
            calls.get("ops::linear") != "7" or calls.get("ops::scaled_residual_linear") != "4" or \
            calls.get("ops::norm_linear") != "2" or \
            not any(line.startswith("all ops ") for line in lines):
        failures.append(f"extract --profile: {r.stderr}")
    else:
        expect_close(out, vision / "tiny300m_bf16w_interp_hidden2.npy")
    # --backend cuda: the bf16 result where the build has CUDA and a GPU is present (transformers' bf16
    # run, 2e-2 as in tests/cuda/test_intern_vit.cu); otherwise a clean error that names the reason.
    # --precision bf16 only states what the CUDA path does.
    r = run("extract", "--model", vision / "tiny300m_hf_bf16", "--pixels", vision / "pixels_interp.npy",
            "--out", out, "--backend", "cuda", "--precision", "bf16")
    if r.returncode == 0:
        expect_close(out, vision / "tiny300m_bf16c_interp_hidden2.npy", 2e-2)
    elif require_cuda or r.returncode not in (1, 2) or not any(word in r.stderr for word in ("CUDA", "cuda")):
        failures.append(f"extract --backend cuda: exit {r.returncode}, stderr {r.stderr[:300]!r}")
    r = run("extract", "--model", vision / "chat_orig_f32", "--pixels", vision / "pixels_native.npy", "--projector", "--out", out)
    if r.returncode != 0:
        failures.append(f"extract --projector: {r.stderr}")
    else:
        expect_close(out, vision / "chat_f32_native_projected.npy")
    r = run("info", "--model", vision / "tinydyn_hf_f32")
    if r.returncode != 0 or "runtime-shaped" not in r.stdout or "(equal)" not in r.stdout:
        failures.append(f"info tinydyn: {r.stdout} {r.stderr}")
    # A config with fewer blocks than the checkpoint: the extra tensors are named, not counted as equal.
    one_block = pathlib.Path(tmp) / "one_block"
    one_block.mkdir()
    (one_block / "model.safetensors").symlink_to((vision / "tinydyn_hf_f32" / "model.safetensors").resolve())
    config = json.loads((vision / "tinydyn_hf_f32" / "config.json").read_text())
    (one_block / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}))
    expect_failure("info", ["--model", one_block], "unexpected tensor 'encoder.layer.1.", 1)
    r = run("info", "--model", vision / "tiny6b_orig_bf16")
    if r.returncode != 0 or "compiled preset tiny-6B-style" not in r.stdout:
        failures.append(f"info tiny6b: {r.stdout} {r.stderr}")
    # How the cpu backend will run it here: the pool's threads and the kernels of each precision, as the
    # environment steers them (avx2 is the build's baseline, so every machine that runs it has that path).
    r = subprocess.run([str(examples / "info"), "--model", str(vision / "tiny6b_orig_bf16")], capture_output=True,
                       text=True, env={**os.environ, "INTERNVL_CPU_ISA": "avx2", "INTERNVL_NUM_THREADS": "3"})
    want = "cpu        3 threads; matrix products on the avx2 kernels, with --precision bf16 on the avx2 kernels"
    check(r.returncode == 0 and want in r.stdout.splitlines(), f"info's cpu line: {r.stdout} {r.stderr}")

# scripts/make_random_checkpoint.py (the benchmarks' models): a directory info loads with the parameter count its
# config implies; a broken config is named, and nothing is written.
scripts = pathlib.Path(__file__).resolve().parents[2] / "scripts"
with tempfile.TemporaryDirectory() as tmp:
    random_model = pathlib.Path(tmp) / "random"
    r = subprocess.run([sys.executable, scripts / "make_random_checkpoint.py", "--config",
                        scripts.parent / "configs" / "tiny-6B-style.json", "--out", random_model, "--shards", "2"],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"make_random_checkpoint: {r.stderr}")
    r = run("info", "--model", random_model)
    check(r.returncode == 0 and "(equal)" in r.stdout, f"info on a random checkpoint: {r.stdout} {r.stderr}")
    bad = pathlib.Path(tmp) / "bad.json"
    bad.write_text(json.dumps({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": "2"}))
    r = subprocess.run([sys.executable, scripts / "make_random_checkpoint.py", "--config", bad, "--out",
                        pathlib.Path(tmp) / "never"], capture_output=True, text=True)
    check(r.returncode == 1 and "bad.json: field 'num_hidden_layers' must be a positive integer" in r.stderr
          and not (pathlib.Path(tmp) / "never").exists(), f"make_random_checkpoint on a bad config: {r.stderr}")
    # A config whose weights cannot fit (6.8 PB in bf16) is refused before anything is written.
    huge = pathlib.Path(tmp) / "huge.json"
    huge.write_text(json.dumps({**json.loads((scripts.parent / "configs" / "tiny-6B-style.json").read_text()),
                                "hidden_size": 1 << 20, "intermediate_size": 1 << 22, "num_attention_heads": 1 << 10,
                                "num_hidden_layers": 256}))
    r = subprocess.run([sys.executable, scripts / "make_random_checkpoint.py", "--config", huge, "--out",
                        pathlib.Path(tmp) / "never" / "deeper"], capture_output=True, text=True)
    check(r.returncode == 1 and "the weights need" in r.stderr and "GB free" in r.stderr
          and not (pathlib.Path(tmp) / "never").exists(), f"make_random_checkpoint on a huge config: {r.stderr}")
    # make_random_internvl.py checks the tokenizer against the config's vocabulary before writing 27 GB.
    config = json.loads((scripts.parent / "configs" / "InternVL-14B-224px.json").read_text())
    config["qllama_config"]["vocab_size"] = 32000
    internvl = pathlib.Path(tmp) / "internvl.json"
    internvl.write_text(json.dumps(config))
    for tokenizer, message in [(huge, "huge.json: not a SentencePiece model (no protobuf field at byte 0)"),
                               (scripts.parent / "tests" / "golden" / "text" / "qllama-tokenizer.model",
                                f"qllama-tokenizer.model: 49954 pieces, but {internvl} has qllama vocab_size 32000")]:
        r = subprocess.run([sys.executable, scripts / "make_random_internvl.py", "--config", internvl,
                            "--tokenizer", tokenizer, "--out", pathlib.Path(tmp) / "never"], capture_output=True, text=True)
        check(r.returncode == 1 and message in r.stderr and not (pathlib.Path(tmp) / "never").exists(),
              f"make_random_internvl --tokenizer {tokenizer}: {r.stderr}")

# The numbered teaching examples check themselves and exit non-zero on a mismatch.
for name, args in [("00_tensor_views", []), ("01_rms_norm_by_hand", []), ("02_attention_from_scratch", []),
                   ("03_vision_block", [vision / "tiny6b_orig_f32"]), ("03_vision_block", [vision / "tiny300m_hf_f32"]),
                   ("04_intern_vit", [vision / "tiny6b_orig_bf16"]),
                   ("05_linear_probe_by_hand", [demo / "models" / "digits-vit",
                                                demo / "models" / "digits-linear-probe.safetensors",
                                                demo / "digits" / "0021.png"])]:
    r = run(name, *args)
    if r.returncode != 0:
        failures.append(f"{name} {args}: exit {r.returncode}: {r.stdout[-500:]} {r.stderr[-500:]}")

probe = [demo / "models" / "digits-vit", demo / "models" / "digits-linear-probe.safetensors"]
expect_failure("05_linear_probe_by_hand", ["only-one-argument"], "usage: 05_linear_probe_by_hand", 2)
expect_failure("05_linear_probe_by_hand", [*probe, "/nonexistent.png"], "/nonexistent.png", 1)
expect_failure("05_linear_probe_by_hand", [probe[0], golden / "heads" / "seg_linear.safetensors",
                                           demo / "digits" / "0021.png"], "is a seg_linear head", 1)

for f in failures:
    print("FAIL:", f)
# extract on several images in one run (--image, then --images LIST), --batch 1: each image's features as a
# run on it alone writes them, byte for byte (cpu), in order; --pool cls is each image's class token and
# --pool mean the mean of its patch tokens; --max-tiles tiles an image (a 1 x 2 grid and the thumbnail).
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    tiny = vision / "tiny6b_orig_f32"
    images = [golden / "image" / "big_513x1023.png", golden / "image" / "rgb8.png"]
    singles = []
    for i, image in enumerate(images):
        r = run("extract", "--model", tiny, "--image", image, "--out", tmp / f"single{i}.npy")
        check(r.returncode == 0, f"extract --image {image}: {r.stderr}")
        singles.append(np.load(tmp / f"single{i}.npy"))
    (tmp / "list.txt").write_text(f"{images[1]}\n")
    r = run("extract", "--model", tiny, "--image", images[0], "--images", tmp / "list.txt", "--batch", "1",
            "--out", tmp / "both.npy")
    both = np.load(tmp / "both.npy") if r.returncode == 0 else np.zeros(0)
    check(both.shape == (2,) + singles[0].shape[1:] and (both == np.concatenate(singles)).all(),
          f"extract on two images: exit {r.returncode}, shape {both.shape}: {r.stderr}")
    for pool, want in [("cls", both[:, 0]), ("mean", both[:, 1:].mean(axis=1))]:
        r = run("extract", "--model", tiny, "--image", images[0], "--image", images[1], "--pool", pool,
                "--out", tmp / f"{pool}.npy")
        got = np.load(tmp / f"{pool}.npy") if r.returncode == 0 else np.zeros(0)
        check(got.shape == want.shape and np.abs(got - want).max() <= 1e-6 * np.abs(want).max(),
              f"extract --pool {pool}: exit {r.returncode}, shape {got.shape} vs {want.shape}: {r.stderr}")
    r = run("extract", "--model", tiny, "--image", images[0], "--max-tiles", "6", "--out", tmp / "tiles.npy")
    check(r.returncode == 0 and np.load(tmp / "tiles.npy").shape == (3,) + singles[0].shape[1:]
          and "tiling: 1 x 2 grid, 3 tiles" in r.stderr, f"extract --max-tiles 6: {r.stderr}")
    # --out-dir: each image's rows in DIR/<stem>.npy, as a run on that image alone writes them: its tiles
    # with --max-tiles (3 and 7 here, so one array could not hold both), else its one row, pooled or not.
    r = run("extract", "--model", tiny, "--image", images[1], "--max-tiles", "6", "--out", tmp / "tiles1.npy")
    check(r.returncode == 0, f"extract --max-tiles 6 on {images[1]}: {r.stderr}")
    r = run("extract", "--model", tiny, "--image", images[0], "--images", tmp / "list.txt", "--max-tiles", "6",
            "--out-dir", tmp / "out")  # created by extract
    for stem, single in [("big_513x1023", tmp / "tiles.npy"), ("rgb8", tmp / "tiles1.npy")]:
        got = tmp / "out" / f"{stem}.npy"
        check(r.returncode == 0 and got.exists() and got.read_bytes() == single.read_bytes(),
              f"extract --max-tiles 6 --out-dir: {stem}.npy differs from the single run: {r.stderr}")
    r = run("extract", "--model", tiny, "--image", images[0], "--image", images[1], "--pool", "cls", "--batch", "2",
            "--out-dir", tmp / "out")
    for i, stem in enumerate(["big_513x1023", "rgb8"]):
        got = np.load(tmp / "out" / f"{stem}.npy") if r.returncode == 0 else np.zeros(0)
        check(got.shape == (1, both.shape[2]) and (got[0] == both[i, 0]).all(),
              f"extract --pool cls --out-dir: {stem}.npy, shape {got.shape}: {r.stderr}")
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--image", images[1], "--max-tiles", "2"],
                   "--max-tiles on several images needs --out-dir", 2)
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--max-tiles", "2", "--batch", "4"],
                   "--batch goes with whole images", 2)
    expect_failure("extract", ["--model", tiny, "--pixels", vision / "pixels_native.npy", "--max-tiles", "2"],
                   "--max-tiles tiles image files", 2)
    expect_failure("extract", ["--model", tiny, "--pixels", vision / "pixels_native.npy", "--out-dir", tmp],
                   "--out-dir names each file after its image", 2)
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--out", tmp / "f.npy", "--out-dir", tmp],
                   "give --out or --out-dir, not both", 2)
    (tmp / "again").mkdir()
    (tmp / "again" / "rgb8.png").write_bytes(images[1].read_bytes())
    expect_failure("extract", ["--model", tiny, "--image", images[1], "--image", tmp / "again" / "rgb8.png",
                               "--out-dir", tmp], "would both be written as " + str(tmp / "rgb8.npy"), 2)
    (tmp / "plain_file").write_text("")  # an --out-dir that cannot be made is refused before the model is read
    expect_failure("extract", ["--model", "/nonexistent/dir", "--image", images[0], "--out-dir",
                               tmp / "plain_file" / "dir"], "cannot create the directory", 1)
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--pool", "max"],
                   "--pool must be cls or mean, got 'max'", 2)
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--pool", "cls", "--projector"],
                   "--pool goes with InternViT's hidden states", 2)
    expect_failure("extract", ["--model", tiny, "--image", images[0], "--image", tmp / "none.png"],
                   "none.png: no such file", 1)

print(f"{'ok' if not failures else 'FAILED'}: example programs")
sys.exit(1 if failures else 0)
