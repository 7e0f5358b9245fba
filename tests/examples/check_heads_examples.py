#!/usr/bin/env python3
"""classify and segment with --backend cuda (a bf16 backbone, f32 heads) on the trained demo models
(demo/README.md) against their cpu runs (f32): classify on the first 40 held-out digits in one run (each digit's
top class equal to the cpu's, or where the cpu's two best probabilities are within 0.05 of each other one of
those two; the top probability within 2e-2), segment on four held-out scenes (224×224; 336×224, two windows;
448×224, three; 224×294) with the linear and the UperNet head, all four through one loaded model, with the
sliding window and in whole-image mode (a position table per image size), each scene's logits within 3e-2
relative L2 and the same class in at least 99% of the pixels.
Where --backend cuda cannot run (a build without CUDA, or no GPU) it must fail cleanly (status 1 or 2, a
message naming CUDA) and the script exits 77 (skipped); with --require-cuda (scripts/device-check's
heads_examples step) that is a failure instead.
With --cpu-bf16 the runs compared with the cpu's are the cpu backend's own with --precision bf16 (bf16
operands, f32 sums and activations), under the same criteria, which they meet with a wide margin (logits
within 1e-3 relative L2 of the f32 runs, against the CUDA runs' 3e-2 from their bf16 backbone), and they must run; on a
CPU with AVX512-BF16 their logits must differ from the f32 runs' (tests/examples/cpu_bf16.py).
Standard library only.
Usage: check_heads_examples.py BUILD_EXAMPLES_DIR DEMO_DIR [--require-cuda | --cpu-bf16]"""
import pathlib
import subprocess
import sys
import tempfile

from cpu_bf16 import check_bf16_run
from float_npy import read_npy, relative_l2

examples, demo = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
require_cuda = "--require-cuda" in sys.argv[3:]
cpu_bf16 = "--cpu-bf16" in sys.argv[3:]
flags = {"cpu": ["--backend", "cpu"], "cuda": ["--backend", "cuda"],
         "cpu-bf16": ["--backend", "cpu", "--precision", "bf16"]}
candidate = "cpu-bf16" if cpu_bf16 else "cuda"  # the runs compared with the cpu's
models = demo / "models"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def run(program, args, backend):
    result = subprocess.run([str(examples / program)] + [str(a) for a in args] + flags[backend],
                            capture_output=True, text=True)
    if backend != "cuda" and result.returncode != 0:
        sys.exit(f"FAIL {program} {' '.join(flags[backend])}: exit {result.returncode}\n{result.stderr[:2000]}")
    return result


def top_two(stdout):
    """classify's output for several images: per image, [(label, probability)] most probable first."""
    images = []
    for line in stdout.splitlines():
        if line.startswith("# "):
            images.append([])
        else:
            label, probability = line.split("\t")
            images[-1].append((label, float(probability)))
    return images


def argmax_classes(shape, flat):
    """The class of each pixel of logits [K, H, W] (the first maximum on ties)."""
    classes, plane = shape[0], shape[1] * shape[2]
    return [max(range(classes), key=lambda k: flat[k * plane + p]) for p in range(plane)]


digits = [line.split("\t")[0] for line in (demo / "digits" / "labels.txt").read_text().splitlines()[:40]]
classify_args = ["--model", models / "digits-vit", "--head", models / "digits-linear-probe.safetensors", "--topk", "2"]
for digit in digits:
    classify_args += ["--image", demo / "digits" / digit]
cpu = run("classify", classify_args, "cpu")
other = run("classify", classify_args, candidate)
if other.returncode != 0:
    clean = other.returncode in (1, 2) and ("CUDA" in other.stderr or "cuda" in other.stderr) and not other.stdout
    check(clean and not require_cuda,
          f"classify --backend cuda: exit {other.returncode}, {other.stderr.strip()[:300]!r}")
    sys.exit(1 if failures else 77)
want, got = top_two(cpu.stdout), top_two(other.stdout)
check(len(got) == len(want) == len(digits), f"classify {candidate}: {len(got)} images, cpu {len(want)}")
for digit, w, g in zip(digits, want, got):
    near_tie = w[0][1] - w[1][1] <= 0.05
    same = g[0][0] == w[0][0] or (near_tie and g[0][0] == w[1][0])
    check(same and abs(g[0][1] - dict(w).get(g[0][0], -1.0)) <= 2e-2, f"classify {digit}: {candidate} {g}, cpu {w}")

scenes = ["000.png", "030.png", "036.png", "038.png"]
with tempfile.TemporaryDirectory() as tmp:
    for head in ["scenes-seg-linear", "scenes-upernet"]:
        for mode in (["--slide"], []):  # sliding windows, then whole images (a grid of its own per image size)
            # All four scenes through one loaded model per backend, each one's logits in DIR/<stem>.npy.
            done = {}
            for backend in ["cpu", candidate]:
                out_dir = pathlib.Path(tmp) / f"{head}_{backend}_{len(mode)}"
                out_dir.mkdir()
                args = ["--model", models / "scenes-vit", "--head", models / f"{head}.safetensors", *mode,
                        "--out-dir", out_dir, "--logits"]
                for scene in scenes:
                    args += ["--image", demo / "scenes" / scene]
                r = run("segment", args, backend)
                done[backend] = out_dir if r.returncode == 0 else None
                if r.returncode != 0:
                    check(False, f"segment {head} {' '.join(mode)} {backend}: exit {r.returncode}, {r.stderr[:300]!r}")
            if done[candidate] is None:
                continue
            for scene in scenes:
                name = f"segment {head} {'slide' if mode else 'whole'} {scene}"
                stem = pathlib.Path(scene).stem + ".npy"
                (want_shape, want), (got_shape, got) = read_npy(done["cpu"] / stem), read_npy(done[candidate] / stem)
                if got_shape != want_shape:
                    check(False, f"{name}: {candidate} logits {got_shape}, cpu {want_shape}")
                    continue
                err = relative_l2(got, want)
                if cpu_bf16:
                    check_bf16_run(check, name, err)
                agree = sum(a == b for a, b in zip(argmax_classes(got_shape, got), argmax_classes(want_shape, want)))
                share = agree / (want_shape[1] * want_shape[2])
                check(err <= 3e-2 and share >= 0.99,
                      f"{name}: logits relative L2 {err:.2e}, same class in {100 * share:.2f}% of the pixels")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
