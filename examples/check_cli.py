#!/usr/bin/env python3
"""The example programs' behaviour on bad arguments and unreadable files: each case must exit with the
expected status, print the expected message on stderr and the usage, and print nothing on stdout; plus
one good run of each program on the tiny fixtures (tests/golden) as a control, and --backend cuda: where
the build has CUDA and a GPU is present, the same output as the cpu run (bf16 against f32 on random
weights: the same top class, probabilities within 2e-2, logits within 5e-2 relative L2, masks equal in 95%
of the pixels; a wrong kernel is off by far more); otherwise a clean failure (status 1 or 2, a message
naming CUDA, the usage) rather than a crash; and with CUDA, that a cpu run loads no CUDA library (the
CUDA tasks are a module loaded only for --backend cuda) and that a program without that module still runs on
the cpu. The trained demo models get the closer comparison
(tests/examples/check_heads_examples.py); segment --truth-dir scores their scenes as PyTorch's evaluation did.
Usage: check_cli.py BUILD_EXAMPLES_DIR SOURCE_ROOT"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

build, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
golden = root / "tests" / "golden"
model = str(golden / "vision" / "tiny6b_orig_f32")
probe = str(golden / "heads" / "probe_e2e_last.safetensors")
seg = str(golden / "heads" / "segment.safetensors")
image = str(golden / "heads" / "segment_image.png")
failures = []
tmp = pathlib.Path(tempfile.mkdtemp())


def run(program, args, status, message):
    result = subprocess.run([str(build / program)] + args, capture_output=True, text=True)
    problems = []
    if result.returncode != status:
        problems.append(f"exit status {result.returncode}, expected {status}")
    if message not in result.stderr:
        problems.append(f"stderr lacks {message!r}")
    if status == 2 and f"usage: {program}" not in result.stderr:
        problems.append("no usage on stderr")
    if status == 1 and "usage:" in result.stderr:
        problems.append("the usage printed for an error that is not one of usage")
    if status != 0 and result.stdout:
        problems.append(f"stdout not empty: {result.stdout[:200]!r}")
    what = f"{program} {' '.join(args)}"
    print(("ok   " if not problems else "FAIL ") + what + ("" if not problems else ": " + "; ".join(problems)))
    if problems:
        failures.append(what)
        print(result.stderr[:2000])
    return result


# Bad arguments: status 2.
run("classify", [], 2, "missing required option --model")
run("classify", ["--model"], 2, "option --model needs a value")
run("classify", ["--model", model, "--bogus"], 2, "unknown argument '--bogus'")
run("classify", ["--model", model, "--head", probe], 2, "give the images with --image or --images, or with --pixels")
run("classify", ["--model", model, "--image", image, "--pixels", "x.npy"], 2, "give the images with --image or --images, or with --pixels")
run("classify", ["--model", model, "--image", image, "--topk", "two"], 2, "--topk expects an integer, got 'two'")
run("classify", ["--model", model, "--image", image, "--topk", "0"], 2, "--topk must be at least 1")
run("classify", ["--model", model, "--image", image, "--topk", "4294967297"], 2, "--topk is out of range")
run("classify", ["--model", model, "--image", image, "--backend", "gpu"], 2, "unknown backend 'gpu' (reference, cpu, cuda)")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", "m.png", "--backend", "tpu"], 2,
    "unknown backend 'tpu' (reference, cpu, cuda)")
run("classify", ["--model", model, "--image", image, "--precision", "half"], 2,
    "--precision must be f32 or bf16, got 'half'")
run("classify", ["--model", model, "--image", image, "--backend", "cuda", "--precision", "f32"], 2,
    "--precision f32 is not available with --backend cuda")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", "m.png", "--backend", "reference",
                "--precision", "bf16"], 2, "--precision bf16 needs --backend cpu")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", "m.png", "--backend", "reference",
                "--profile"], 2, "--profile needs --backend cpu")
run("segment", ["--model", model, "--head", seg, "--image", image], 2, "give exactly one of --out and --out-dir")
run("segment", ["--model", model, "--head", seg, "--out", "m.png"], 2, "missing required option --image")
run("segment", ["--model", model, "--head", seg, "--image", image, "--image", image, "--out", "m.png"], 2,
    "several images need --out-dir")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out-dir", str(tmp), "--overlay", "o.png"], 2,
    "--overlay and --out-npy go with --out")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", "m.png", "--logits"], 2,
    "--overlays and --logits go with --out-dir")
run("segment", ["--model", model, "--head", seg, "--image", image, "--image", str(tmp / "segment_image.jpg"),
                "--out-dir", str(tmp)], 2, "would both be written as " + str(tmp / "segment_image.png"))
run("segment", ["--model", model, "--image", image, "--out", "m.png"], 2, "missing required option --head")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", "m.png", "--slide", "yes"], 2,
    "unknown argument 'yes'")
# Outputs that would overwrite an input or each other, empty paths, repeated options and options taken for
# values: status 2, before any file is written (support/outputs.hpp, support/cli.hpp).
(tmp / "inputs").mkdir()
for name in ("a.png", "b.png"):
    shutil.copy(image, tmp / "inputs" / name)
run("segment", ["--model", model, "--head", seg, "--image", str(tmp / "inputs" / "a.png"), "--image",
                str(tmp / "inputs" / "b.png"), "--out-dir", str(tmp / "inputs")], 2,
    f"--out-dir {tmp / 'inputs' / 'a.png'} would overwrite --image {tmp / 'inputs' / 'a.png'}")
(tmp / "truth").mkdir()
shutil.copy(image, tmp / "truth" / "segment_image.png")  # the label mask of `image`, as --truth-dir finds it
shutil.copy(image, tmp / "truth" / "segment_image_overlay.png")
run("segment", ["--model", model, "--head", seg, "--image", image, "--truth-dir", str(tmp / "truth"), "--out-dir",
                str(tmp / "truth")], 2, f"would overwrite the input {tmp / 'truth' / 'segment_image.png'}")
run("segment", ["--model", model, "--head", seg, "--image", image, "--truth-dir", str(tmp / "truth"), "--truth-suffix",
                "_overlay.png", "--out-dir", str(tmp / "truth"), "--overlays"], 2,
    f"--overlays {tmp / 'truth' / 'segment_image_overlay.png'} would overwrite the input")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", str(tmp / "m.png"), "--out-npy",
                str(tmp / "." / "m.png")], 2, f"--out {tmp / 'm.png'} and --out-npy {tmp / '.' / 'm.png'} are the same file")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", ""], 2, "--out names no file (an empty path)")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out-dir", ""], 2,
    "--out-dir names no directory (an empty path)")
(tmp / "plain_file").write_text("")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out-dir", str(tmp / "plain_file")], 1,
    f"--out-dir {tmp / 'plain_file'}: cannot create the directory")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out-dir", str(tmp / "plain_file" / "below")], 1,
    f"--out-dir {tmp / 'plain_file' / 'below'}: cannot create the directory")
run("extract", ["--model", model, "--image", str(tmp / "inputs" / "a.png"), "--out", str(tmp / "inputs" / "a.png")], 2,
    "would overwrite --image")
run("segment", ["--model", model, "--head", seg, "--image", image, "--truth-dir", str(tmp / "truth"), "--ignore-index",
                "-1"], 2, "--ignore-index must lie in [0, 255] (a label of the 8-bit masks), got -1")
(tmp / "blank_label.txt").write_text("a\n\nc\n")
run("classify", ["--model", model, "--head", probe, "--image", image, "--labels", str(tmp / "blank_label.txt")], 1,
    "blank_label.txt:2: an empty label")
run("extract", ["--model", model, "--image", image, "--out", "--projector"], 2,
    "option --out needs a value, got the option --projector")
run("extract", ["--model", model, "--image", image, "--layer", "1", "--layer", "2"], 2, "option --layer was given 2 times")
if not all(path.read_bytes() == pathlib.Path(image).read_bytes()
           for path in [tmp / "inputs" / "a.png", tmp / "inputs" / "b.png", *(tmp / "truth").iterdir()]):
    failures.append("an input image was overwritten")
    print("FAIL an input image was overwritten")
# Unreadable or unsuitable files: status 1, the message names the file.
run("classify", ["--model", str(tmp / "none"), "--image", image], 1, "none: not a directory")
run("classify", ["--model", model, "--image", image], 1, "head.safetensors: no such head file")
run("classify", ["--model", model, "--head", probe, "--image", str(tmp / "absent.png")], 1, "absent.png: no such file")
run("classify", ["--model", model, "--head", probe, "--image", probe], 1, "not an image")
run("classify", ["--model", model, "--head", probe, "--pixels", image], 1, "segment_image.png")
np.save(tmp / "no_image.npy", np.zeros((0, 3, 28, 28), dtype=np.float32))
run("classify", ["--model", model, "--head", probe, "--pixels", str(tmp / "no_image.npy")], 1,
    "no_image.npy: the pixels hold no image")
nan_pixels = np.zeros((3, 28, 28), dtype=np.float32)
nan_pixels[0, 0, 5] = np.nan
np.save(tmp / "nan_pixels.npy", nan_pixels)
run("classify", ["--model", model, "--head", probe, "--pixels", str(tmp / "nan_pixels.npy")], 1,
    "nan_pixels.npy: pixel value 5 (in C order) is nan, not a finite number")
np.save(tmp / "bytes.npy", np.zeros((3, 28, 28), dtype=np.uint8))
run("classify", ["--model", model, "--head", probe, "--pixels", str(tmp / "bytes.npy")], 1,
    "pixels must be normalised floating-point values, got .npy dtype '|u1'")
run("classify", ["--model", model, "--head", probe, "--image", image, "--labels", str(tmp)], 1,
    "is a directory, not the labels file")
run("classify", ["--model", model, "--head", seg, "--image", image], 1, "is a segmentation head")
run("classify", ["--model", model, "--head", probe, "--image", image, "--labels", str(tmp / "nolabels")], 1,
    "cannot read the labels file")
(tmp / "latin1_labels.txt").write_bytes(b"cat\ncaf\xe9\n")
run("classify", ["--model", model, "--head", probe, "--image", image, "--labels", str(tmp / "latin1_labels.txt")], 1,
    "latin1_labels.txt:2: the labels file is not UTF-8 text (byte 4 ")
run("segment", ["--model", model, "--head", probe, "--image", image, "--out", str(tmp / "m.png")], 1,
    "is a classification head")
run("segment", ["--model", model, "--head", seg, "--image", image, "--out", str(tmp / "no" / "dir" / "m.png")], 1,
    "cannot create the file")
# Every output is checked before the model is read (a missing model is not reached).
for output in ["--overlay", "--out-npy"]:
    run("segment", ["--model", "/nonexistent/dir", "--head", seg, "--image", image, "--out", str(tmp / "m.png"),
                    output, str(tmp / "no" / "dir" / "x")], 1, "cannot create the file")
if os.path.exists("/dev/full"):  # refuses every write: small outputs too must not be reported as written
    run("segment", ["--model", model, "--head", seg, "--image", image, "--out", str(tmp / "m.png"),
                    "--out-npy", "/dev/full"], 1, "writing the file failed")
# Controls: good runs.
good = run("classify", ["--model", model, "--head", probe, "--image", image, "--topk", "2"], 0, "")
if len(good.stdout.splitlines()) != 2 or "\t" not in good.stdout:
    failures.append("classify output")
    print(f"FAIL classify output: {good.stdout!r}")
# --profile: the same output on stdout, and the op table (support/backend.hpp) on stderr.
profiled = run("classify", ["--model", model, "--head", probe, "--image", image, "--topk", "2", "--profile"], 0,
               "ops on the cpu backend")
if profiled.stdout != good.stdout or not any(line.startswith("ops::linear ") for line in profiled.stderr.splitlines()):
    failures.append("classify --profile")
    print(f"FAIL classify --profile: {profiled.stdout!r} {profiled.stderr!r}")
good = run("segment", ["--model", model, "--head", seg, "--image", image, "--out", str(tmp / "m.png"), "--slide",
                       "--overlay", str(tmp / "o.png"), "--out-npy", str(tmp / "l.npy")], 0, "")
if not all((tmp / f).is_file() for f in ("m.png", "o.png", "l.npy")):
    failures.append("segment outputs")
    print("FAIL segment outputs missing")
else:  # the mask: a palette PNG whose pixel values are the argmax of the logits
    with Image.open(tmp / "m.png") as mask:
        mode, indices = mask.mode, np.asarray(mask)
    if mode != "P" or not np.array_equal(indices, np.load(tmp / "l.npy").argmax(0)):
        failures.append("segment mask")
        print(f"FAIL segment mask: mode {mode}, indices differ from the logits' argmax")
# Several images with --out-dir, in one run (one --image, one more listed in --images): each image's mask,
# overlay and logits under its stem, the same bytes as a run on that image alone, and its class shares after
# a header "# <image>".
with Image.open(image) as original:
    original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp / "flipped.png")
(tmp / "two_images.txt").write_text(f"{tmp / 'flipped.png'}\n")
several = run("segment", ["--model", model, "--head", seg, "--image", image, "--images", str(tmp / "two_images.txt"),
                          "--slide", "--out-dir", str(tmp / "several" / "created"), "--overlays", "--logits"], 0,
              "")
alone_ok = several.stdout.startswith(f"# {image}\n") and f"# {tmp / 'flipped.png'}\n" in several.stdout
for source in [image, str(tmp / "flipped.png")]:
    stem = pathlib.Path(source).stem
    alone = run("segment", ["--model", model, "--head", seg, "--image", source, "--slide", "--out", str(tmp / "a.png"),
                            "--overlay", str(tmp / "a_overlay.png"), "--out-npy", str(tmp / "a.npy")], 0, "")
    alone_ok = alone_ok and alone.stdout in several.stdout and all(
        (tmp / "several" / "created" / f"{stem}{suffix}").read_bytes() == (tmp / f"a{suffix}").read_bytes()
        for suffix in (".png", "_overlay.png", ".npy"))
print(("ok   " if alone_ok else "FAIL ") + "segment --out-dir: each image's files as a run on it alone")
if not alone_ok:
    failures.append("segment --out-dir")
    print(several.stdout)
# A JPEG whose EXIF says "turned 90 degrees clockwise" (orientation 6) is segmented as mmseg's OpenCV reads it:
# the same mask as the stored pixels turned by numpy and given as a PNG.
with Image.open(image) as original:
    exif = original.getexif()
    exif[0x0112] = 6
    original.convert("RGB").save(tmp / "exif6.jpg", quality=95, exif=exif.tobytes())
with Image.open(tmp / "exif6.jpg") as stored:
    Image.fromarray(np.rot90(np.asarray(stored.convert("RGB")), k=-1)).save(tmp / "turned.png")
for source, mask in [(tmp / "exif6.jpg", tmp / "exif6_mask.png"), (tmp / "turned.png", tmp / "turned_mask.png")]:
    run("segment", ["--model", model, "--head", seg, "--image", str(source), "--out", str(mask)], 0, "")
with Image.open(image) as original, Image.open(tmp / "exif6_mask.png") as turned_mask:
    exif_ok = turned_mask.size == original.size[::-1] and (
        (tmp / "exif6_mask.png").read_bytes() == (tmp / "turned_mask.png").read_bytes())
print(("ok   " if exif_ok else "FAIL ") + "segment: an EXIF-turned JPEG gives the mask of its turned pixels")
if not exif_ok:
    failures.append("segment EXIF orientation")
# Whole-image inference on an image far longer than wide says what it costs and how to avoid it.
Image.new("RGB", (1, 60), (40, 80, 120)).save(tmp / "tall.png")
run("segment", ["--model", model, "--head", seg, "--image", str(tmp / "tall.png"), "--out", str(tmp / "m.png")], 0,
    "note: whole-image inference over 540 tokens (42x2520 input, 60 crops' worth)")
# One whose resized image would not fit in memory at all is refused by name, with --slide too (its windows
# are cut from that resized image).
Image.new("RGB", (1, 600000)).save(tmp / "extreme.png")
for extra in ([], ["--slide"]):
    run("segment", ["--model", model, "--head", seg, "--image", str(tmp / "extreme.png"), "--out", str(tmp / "m.png")]
        + extra, 1, f"{tmp / 'extreme.png'}: resized for segmentation (shorter side to the head's crop size 42, "
        "sides to multiples of 14) this 1x600000 image would be 42x25200000 pixels")
if "note:" in run("segment", ["--model", model, "--head", seg, "--image", image, "--out", str(tmp / "m.png")], 0,
                  "").stderr:
    failures.append("segment note")
    print("FAIL segment: a note about whole-image inference on an ordinary image")

# The number of threads changes how the work is split, never the result: the demo's segmenter (its scenes
# model and UperNet head, every kind of op the heads use) writes the same logits, byte for byte, on 1 and on
# 7 threads (7 cut its GEMMs into 2 x 3 blocks of C), with f32 and with bf16 products.
demo = root / "demo"
for precision in ["f32", "bf16"]:
    logits = []
    for threads in ["1", "7"]:
        out = tmp / f"threads{threads}.npy"
        result = subprocess.run([str(build / "segment"), "--model", str(demo / "models" / "scenes-vit"), "--head",
                                 str(demo / "models" / "scenes-upernet.safetensors"), "--image",
                                 str(demo / "scenes" / "000.png"), "--slide", "--precision", precision, "--out",
                                 str(tmp / "threads.png"), "--out-npy", str(out)],
                                capture_output=True, text=True, env={**os.environ, "INTERNVL_NUM_THREADS": threads})
        logits.append(out.read_bytes() if result.returncode == 0 else result.stderr)
    same = isinstance(logits[0], bytes) and logits[0] == logits[1]
    print(("ok   " if same else "FAIL ") + f"segment --precision {precision}: the same logits on 1 and 7 threads")
    if not same:
        failures.append(f"segment --precision {precision} on 1 and 7 threads")

# --batch changes how many images share a forward pass, not the cpu backend's output: five digits in batches
# of 1, 2 and the default 16 print the same lines, and so do 3 images of a --pixels file in batches of 2 (the
# last one smaller) and of 16.
classify_digits = [str(build / "classify"), "--model", str(demo / "models" / "digits-vit"), "--head",
                   str(demo / "models" / "digits-linear-probe.safetensors"), "--topk", "3"]
for line in (demo / "digits" / "labels.txt").read_text().splitlines()[:5]:
    classify_digits += ["--image", str(demo / "digits" / line.split("\t")[0])]
np.save(tmp / "three.npy", np.random.default_rng(3).standard_normal((3, 3, 28, 28)).astype(np.float32))
classify_pixels = [str(build / "classify"), "--model", model, "--head", probe, "--pixels", str(tmp / "three.npy")]
# --images: the same five digits listed in a file (CRLF line ends and a blank line included), with --batch 2.
(tmp / "digits.txt").write_bytes(b"\r\n".join(a.encode() for a in classify_digits[-9::2]) + b"\r\n\r\n")
classify_listed = classify_digits[:classify_digits.index("--image")] + ["--images", str(tmp / "digits.txt")]
for command, batches in [(classify_digits, ["1", "2"]), (classify_pixels, ["2"]), (classify_listed, ["2"])]:
    outputs = [subprocess.run(command + extra, capture_output=True, text=True)
               for extra in [[]] + [["--batch", b] for b in batches]]
    if command is classify_listed:  # compared with the run that names the images as arguments
        outputs[0] = subprocess.run(classify_digits, capture_output=True, text=True)
    same = outputs[0].returncode == 0 and outputs[0].stdout.count("# ") in (3, 5) and all(
        o.returncode == 0 and o.stdout == outputs[0].stdout for o in outputs)
    print(("ok   " if same else "FAIL ") + f"classify {command[-1]}: the same output with --batch {', '.join(batches)} "
          "and the default")
    if not same:
        failures.append(f"classify --batch ({command[-1]})")
        print([(o.returncode, o.stderr[:500]) for o in outputs])
run("classify", ["--model", model, "--image", image, "--batch", "0"], 2, "--batch must be at least 1")
run("classify", ["--model", model, "--head", probe, "--images", str(tmp / "no_list.txt")], 1,
    "no_list.txt: cannot read the list of image files")
(tmp / "empty_list.txt").write_text("\n\n")
run("classify", ["--model", model, "--head", probe, "--images", str(tmp / "empty_list.txt")], 1,
    "the list of image files names no file")
(tmp / "missing_in_list.txt").write_text(f"{image}\n\n{tmp / 'gone.png'}\n")
run("classify", ["--model", model, "--head", probe, "--images", str(tmp / "missing_in_list.txt")], 1,
    f"missing_in_list.txt:3: {tmp / 'gone.png'}: no such file")

# --truth: the demo's 360 held-out digits against their labels, top-1 as PyTorch's evaluation counted it
# (demo/reference_results.json), and top-5 where the true class is among the five classes printed first.
digits = [line.split("\t") for line in (demo / "digits" / "labels.txt").read_text().splitlines()]
classify_all = classify_digits[:classify_digits.index("--topk")] + [
    arg for name, _ in digits for arg in ("--image", str(demo / "digits" / name))]
result = subprocess.run(classify_all + ["--topk", "5", "--truth", str(demo / "digits" / "labels.txt")],
                        capture_output=True, text=True)
blocks = result.stdout.split("# ")[1:-1]
true_class = dict((name, label) for name, label in digits)
top5 = sum(true_class[pathlib.Path(b.split("\n")[0]).name] in [line.split("\t")[0] for line in b.strip().split("\n")[1:]]
           for b in blocks)
digits_reference = json.loads((demo / "reference_results.json").read_text())["digits"]
# The mean per-class recall as scikit-learn's balanced_accuracy_score (clip_benchmark's mean_per_class_recall):
# per true class, the share of its images whose first printed class is right; then the mean over the classes.
recall = {}
for b in blocks:
    truth_label = true_class[pathlib.Path(b.split("\n")[0]).name]
    recall.setdefault(truth_label, []).append(b.strip().split("\n")[1].split("\t")[0] == truth_label)
mean_recall = 100 * np.mean([np.mean(right) for right in recall.values()])
want = [f"# accuracy against {demo / 'digits' / 'labels.txt'} (360 images, in percent)",
        f"top-1\t{100 * digits_reference['top1']:.2f}\t({digits_reference['correct']} right)",
        f"top-5\t{100 * top5 / 360:.2f}\t({top5} right)", f"mean per-class recall\t{mean_recall:.2f}"]
ok = result.returncode == 0 and len(blocks) == 360 and result.stdout.strip().split("\n")[-4:] == want
print(("ok   " if ok else "FAIL ") + "classify --truth on the demo digits: top-1 as PyTorch's, top-5 and the mean "
      "per-class recall as printed")
if not ok:
    failures.append("classify --truth")
    print(result.returncode, result.stdout[-400:], want, result.stderr[:500])
one_digit = classify_digits[:classify_digits.index("--image") + 2]  # 0021.png
for content, status, message in [
        ("0021.png 1\n", 0, ""),
        ("0021.png\t1\r\n\n", 0, ""),
        ("  0021.png  1 \n", 0, ""),
        ("  0021.png\n", 1, "labels.txt:1: expected an image name and a class index"),
        ("other.png 3\n", 1, "labels.txt: has no class for image"),
        ("0021.png 10\n", 1, "labels.txt:1: '10' is not a class index (0 to 9)"),
        ("0021.png one\n", 1, "labels.txt:1: 'one' is not a class index"),
        ("0021.png\n", 1, "labels.txt:1: expected an image name and a class index"),
        ("0021.png 1\n0021.png 2\n", 1, "labels.txt:2: image 0021.png has a class already, on line 1")]:
    (tmp / "labels.txt").write_text(content)
    run("classify", one_digit[1:] + ["--truth", str(tmp / "labels.txt")], status, message)
(tmp / "copy").mkdir()
shutil.copy(demo / "digits" / "0021.png", tmp / "copy" / "0021.png")
(tmp / "labels.txt").write_text("0021.png 1\n")
run("classify", one_digit[1:] + ["--image", str(tmp / "copy" / "0021.png"), "--truth", str(tmp / "labels.txt")], 1,
    "would both take the class of 0021.png: name them by their paths")
(tmp / "labels.txt").write_text(f"0021.png 1\n{tmp / 'copy' / '0021.png'} 1\n")
run("classify", one_digit[1:] + ["--image", str(tmp / "copy" / "0021.png"), "--truth", str(tmp / "labels.txt")], 0, "")


# ImageNet's evaluation sets on a 1000-class head (random weights on the tiny model): ImageNet-A's 200 classes
# (configs/labels/imagenet_a.json) keep 200 of the head's outputs, as the official evaluation masks the others,
# so each kept probability is the full softmax's renormalised over the kept classes; --truth-folders finds each
# image's class by its folder (a WordNet id of the labels file, or a class index as ImageNetV2's folders);
# ImageNet-ReaL's real.json gives several right classes per image, or none (the image is then not counted).
def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": {np.float32: "F32", np.int64: "I64"}[array.dtype.type], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"".join(blobs))


def class_blocks(stdout):
    """classify's lines per image: {image: [(label, probability)]}, most probable first."""
    blocks = {}
    for block in stdout.split("# ")[1:]:
        lines = block.strip().split("\n")
        if not lines[0].startswith("accuracy"):
            blocks[lines[0]] = [(label, float(p)) for label, p in (line.split("\t") for line in lines[1:])]
    return blocks


imagenet_a = json.loads((root / "configs" / "labels" / "imagenet_a.json").read_text())
rng = np.random.default_rng(1000)
write_safetensors(tmp / "head1000.safetensors", {
    "head.weight": (rng.standard_normal((1000, 128)) * 0.5).astype(np.float32),
    "head.bias": (rng.standard_normal(1000) + 8 * np.isin(np.arange(1000), imagenet_a["imagenet1k_classes"])).astype(
        np.float32),  # most of the mass on ImageNet-A's classes, so that their printed probabilities have digits
    "norm.weight": np.ones(128, np.float32), "norm.bias": np.zeros(128, np.float32),
    "norm.running_mean": np.zeros(128, np.float32), "norm.running_var": np.ones(128, np.float32),
    "norm.num_batches_tracked": np.zeros((), np.int64)},
    {"format": "pt", "internvl_head": json.dumps({"type": "linear_probe", "num_classes": 1000, "bn_eps": 1e-6})})
# The full softmax of 8 digits, then each digit copied into the folder of a class chosen by its rank among the
# kept classes in the full run's order: its best (right at top-1) for 4 of them, its 4th best (right at top-5
# only) for 2 and its 11th best (wrong) for 2, so the accuracy printed depends on every folder being read right.
(tmp / "eight.txt").write_text("".join(str(demo / "digits" / name) + "\n" for name, _ in digits[:8]))
head1000 = ["--model", model, "--head", str(tmp / "head1000.safetensors")]
full = subprocess.run([str(build / "classify")] + head1000 + ["--images", str(tmp / "eight.txt"), "--topk", "1000"],
                      capture_output=True, text=True)
full_p = {pathlib.Path(path).name: got for path, got in class_blocks(full.stdout).items()}
renormalised, sorted_images = {}, []  # file name -> kept probabilities; (copied path, class among the 200)
for i, (name, _) in enumerate(digits[:8] if len(full_p) == 8 else []):
    p = dict(full_p[name])
    kept_p = np.array([p[str(k)] for k in imagenet_a["imagenet1k_classes"]])
    renormalised[name] = kept_p / kept_p.sum()
    kept_order = [imagenet_a["imagenet1k_classes"].index(int(k)) for k, _ in full_p[name]
                  if int(k) in imagenet_a["imagenet1k_classes"]]
    c = kept_order[[0, 3, 0, 10, 0, 3, 0, 10][i]]
    folder = tmp / "imagenet-a" / imagenet_a["folders"][c]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(demo / "digits" / name, folder / name)
    sorted_images.append((str(folder / name), c))
(tmp / "imagenet-a.txt").write_text("".join(path + "\n" for path, _ in sorted_images))
kept = subprocess.run([str(build / "classify")] + head1000 + ["--images", str(tmp / "imagenet-a.txt"), "--topk", "200",
                      "--labels", str(root / "configs" / "labels" / "imagenet_a.json"), "--truth-folders"],
                      capture_output=True, text=True)
kept_p = class_blocks(kept.stdout)
ok = full.returncode == 0 and kept.returncode == 0 and len(renormalised) == len(kept_p) == 8
right1 = right5 = 0
per_class = {}
for path, c in sorted_images if ok else []:
    got = kept_p[path]
    names = [label for label, _ in got]
    ok &= sorted(names) == sorted(imagenet_a["labels"]) and all(
        abs(q - renormalised[pathlib.Path(path).name][imagenet_a["labels"].index(label)]) <= 2e-6 + 3e-4 * q
        for label, q in got)
    right1 += names[0] == imagenet_a["labels"][c]
    right5 += imagenet_a["labels"][c] in names[:5]
    per_class.setdefault(c, []).append(names[0] == imagenet_a["labels"][c])
want = ["# accuracy against the images' folders (8 images, in percent)", "top-1\t50.00\t(4 right)",
        "top-5\t75.00\t(6 right)", f"mean per-class recall\t{100 * np.mean([np.mean(r) for r in per_class.values()]):.2f}"]
ok &= (right1, right5) == (4, 6) and kept.stdout.strip().split("\n")[-4:] == want
print(("ok   " if ok else "FAIL ") + "classify --labels imagenet_a.json --truth-folders: the 200 kept classes' softmax is "
      "the full one renormalised; top-1, top-5 and mean per-class recall by folder")
if not ok:
    failures.append("classify --labels imagenet_a.json --truth-folders")
    print(full.stderr[:500], kept.stderr[:500], kept.stdout[-300:], want)
# ImageNetV2's layout: folders named by the ImageNet-1K class index. Two digits in the folders of their own best
# and fourth best classes (in the full run's order), and the same two with imagenet_a.json, whose 200 classes a
# numeric folder names by its ImageNet-1K index: each time one right at top-1 and both at top-5.
full_order = {name: [int(k) for k, _ in full_p[name]] for name in full_p}
v2_images = []
for i, (name, _) in enumerate(digits[:2] if len(full_p) == 8 else []):
    for tree, order in [("imagenet-v2", full_order[name]),
                        ("imagenet-v2-a", [k for k in full_order[name] if k in imagenet_a["imagenet1k_classes"]])]:
        (tmp / tree / str(order[3 * i])).mkdir(parents=True, exist_ok=True)
        shutil.copy(demo / "digits" / name, tmp / tree / str(order[3 * i]) / name)
    v2_images.append(name)
for tree, labels in [("imagenet-v2", []), ("imagenet-v2-a", ["--labels", str(root / "configs" / "labels" / "imagenet_a.json")])]:
    listed = [str(path) for path in sorted((tmp / tree).glob("*/*.png"))]
    v2 = subprocess.run([str(build / "classify")] + head1000 + labels + ["--truth-folders"] +
                        [arg for path in listed for arg in ("--image", path)], capture_output=True, text=True)
    ok = len(listed) == 2 and v2.stdout.strip().split("\n")[-3:] == ["top-1\t50.00\t(1 right)", "top-5\t100.00\t(2 right)",
                                                                     "mean per-class recall\t50.00"]
    print(("ok   " if ok else "FAIL ") + f"classify --truth-folders on ImageNetV2's layout ({tree}): folders as class indices")
    if not ok:
        failures.append(f"classify --truth-folders ({tree})")
        print(v2.stdout[-300:], v2.stderr[:500])
(tmp / "imagenet-v2-a" / "1").mkdir(exist_ok=True)  # ImageNet-1K class 1 (goldfish) is not one of ImageNet-A's
shutil.copy(demo / "digits" / digits[0][0], tmp / "imagenet-v2-a" / "1" / "x.png")
run("classify", head1000 + ["--labels", str(root / "configs" / "labels" / "imagenet_a.json"), "--truth-folders", "--image",
                            str(tmp / "imagenet-v2-a" / "1" / "x.png")], 1,
    "x.png: --truth-folders: its folder names ImageNet-1K class 1, which is not one of the labels file's imagenet1k_classes")
# ImageNet-ReaL: three val images, the second with no ReaL label; the first right at k when either of its two
# classes is among its k best.
real_images = []
for i, (name, _) in enumerate(digits[:3]):
    real_images.append(tmp / "real" / f"ILSVRC2012_val_{i + 1:08d}.JPEG")
    real_images[-1].parent.mkdir(exist_ok=True)
    shutil.copy(demo / "digits" / name, real_images[-1])
real_full = subprocess.run([str(build / "classify")] + head1000 + ["--topk", "1000"] +
                           [arg for path in real_images for arg in ("--image", str(path))], capture_output=True, text=True)
ranked = {path: [int(label) for label, _ in got] for path, got in class_blocks(real_full.stdout).items()}
first, third = ranked.get(str(real_images[0]), []), ranked.get(str(real_images[2]), [])
real_labels = [[first[3], first[40]], [], [third[0]]] if first and third else [[0], [], [0]]
(tmp / "real.json").write_text(json.dumps(real_labels))
real = subprocess.run([str(build / "classify")] + head1000 + ["--topk", "1", "--truth", str(tmp / "real.json")] +
                      [arg for path in real_images for arg in ("--image", str(path))], capture_output=True, text=True)
want = [f"# accuracy against {tmp / 'real.json'} (2 images of 3: the others have no true class, in percent)",
        "top-1\t50.00\t(1 right)", "top-5\t100.00\t(2 right)"]
ok = real.returncode == 0 and real.stdout.strip().split("\n")[-3:] == want
print(("ok   " if ok else "FAIL ") + "classify --truth real.json: several right classes per image, an image without "
      "one not counted")
if not ok:
    failures.append("classify --truth real.json")
    print(real.stdout[-300:], real.stderr[:500])
a_image = pathlib.Path(sorted_images[0][0] if sorted_images else image)
one_a = head1000 + ["--image", str(a_image)]
run("classify", one_a + ["--truth", str(tmp / "real.json"), "--truth-folders"], 2,
    "give the true classes with --truth or with --truth-folders, not both")
run("classify", ["--model", model, "--head", probe, "--pixels", str(tmp / "three.npy"), "--truth-folders"], 2,
    "--truth-folders needs image files")
run("classify", one_a + ["--truth-folders"], 1,
    f"{a_image}: --truth-folders: its folder '{a_image.parent.name}' is not a class index (the labels file names no "
    "folders) (0 to 999)")
run("classify", ["--model", model, "--head", probe, "--image", image, "--labels",
                 str(root / "configs" / "labels" / "imagenet_a.json")], 1,
    "imagenet_a.json: keeps 200 of ImageNet-1K's classes, for a head of 1000; this head has 6")
for name, content, message in [
        ("dup.json", {"labels": ["a", "b"], "folders": ["x", "x"]}, "dup.json: folders[1]: folder \"x\" is another class's"),
        ("short.json", {"labels": ["a", "b"], "folders": ["x"]}, "short.json: \"folders\" must be an array with one entry "
                                                                "per label (2)"),
        ("order.json", {"labels": ["a", "b"], "imagenet1k_classes": [5, 5]},
         "order.json: imagenet1k_classes[1]: expected an ImageNet-1K class index above 5 and below 1000, got 5")]:
    (tmp / name).write_text(json.dumps(content))
    run("classify", one_a + ["--labels", str(tmp / name)], 1, message)
(tmp / "real_none.json").write_text(json.dumps([[], [], []]))
run("classify", head1000 + ["--truth", str(tmp / "real_none.json")] + [arg for p in real_images for arg in ("--image", str(p))],
    1, "real_none.json: none of the 3 images has a ReaL label: there is nothing to score")
run("classify", head1000 + ["--truth", str(tmp / "real.json"), "--pixels", str(tmp / "three.npy")], 1,
    "real.json: has no ReaL entry for image 0 (its entries are ImageNet's validation files")
run("classify", one_a + ["--image", str(a_image), "--truth-folders"], 1,
    f"{a_image}: is given twice (images 1 and 2): it would count twice in the accuracy")
shutil.copy(demo / "digits" / digits[0][0], tmp / "top.png")  # named from its own directory: no folder
no_folder = subprocess.run([str(build / "classify")] + head1000 + ["--image", "top.png", "--truth-folders"], cwd=tmp,
                           capture_output=True, text=True)
ok = no_folder.returncode == 1 and "top.png: --truth-folders: the image has no folder to take its class from" in \
    no_folder.stderr and not no_folder.stdout
print(("ok   " if ok else "FAIL ") + "classify --truth-folders on an image named without a folder")
if not ok:
    failures.append("classify --truth-folders without a folder")
    print(no_folder.stderr[:500])
(tmp / "real_bad.json").write_text(json.dumps([[1], [1000]]))
run("classify", one_a + ["--truth", str(tmp / "real_bad.json")], 1, "real_bad.json: [1]: 1000 is not a class index (0 to 999)")

# --truth-dir: the demo's 40 held-out scenes against their label masks, scored as mmseg scores them; the
# per-class IoU and the mIoU equal PyTorch's (demo/reference_results.json) to the printed 0.01%. The same
# masks with every label l stored as l + 1 and --reduce-zero-label (ADE20K's convention) score the same.
scenes = [line.split("\t") for line in (demo / "scenes" / "list.txt").read_text().splitlines()]
segment_scenes = ["--model", str(demo / "models" / "scenes-vit"), "--head",
                  str(demo / "models" / "scenes-seg-linear.safetensors"), "--slide"]
for name, _ in scenes:
    segment_scenes += ["--image", str(demo / "scenes" / name)]
scores = subprocess.run([str(build / "segment")] + segment_scenes + ["--truth-dir", str(demo / "scenes"),
                                                                     "--truth-suffix", "_mask.png"],
                        capture_output=True, text=True)
reference = json.loads((demo / "reference_results.json").read_text())["scenes"]
table = scores.stdout[scores.stdout.find("# scores against"):].splitlines()
want = [f"{c}\t{100 * v:.2f}" for c, v in zip(reference["classes"], reference["heads"]["linear"]["iou"])]
ok = (scores.returncode == 0 and [line.rsplit("\t", 1)[0] for line in table[2:2 + len(want)]] == want
      and f"mIoU\t{100 * reference['heads']['linear']['miou']:.2f}" in table)
print(("ok   " if ok else "FAIL ") + "segment --truth-dir on the demo scenes: IoU per class and mIoU as PyTorch's")
if not ok:
    failures.append("segment --truth-dir")
    print(scores.returncode, table, want, scores.stderr[:1000])
shifted = tmp / "shifted"
shifted.mkdir()
for name, mask in scenes:
    labels = np.asarray(Image.open(demo / "scenes" / mask))
    Image.fromarray((labels + 1).astype(np.uint8)).save(shifted / (pathlib.Path(name).stem + ".png"))
reduced = subprocess.run([str(build / "segment")] + segment_scenes + ["--truth-dir", str(shifted), "--reduce-zero-label"],
                         capture_output=True, text=True)
scores_of = [run.stdout[run.stdout.find("class\tIoU"):] for run in (scores, reduced)]  # the tables, not the paths
ok = reduced.returncode == 0 and "mIoU" in scores_of[1] and scores_of[0] == scores_of[1]
print(("ok   " if ok else "FAIL ") + "segment --reduce-zero-label on masks stored as label + 1: the same scores")
if not ok:
    failures.append("segment --reduce-zero-label")
    print(reduced.stderr[:1000])
# The same masks as palette PNGs (Pillow mode "P", as Pascal VOC stores them): the indices are the labels,
# whatever colours the palette gives them.
paletted_dir = tmp / "paletted"
paletted_dir.mkdir()
for name, mask in scenes:
    palette_mask = Image.fromarray(np.asarray(Image.open(demo / "scenes" / mask)), mode="P")
    palette_mask.putpalette([(c * k + 50) % 256 for k in range(256) for c in (37, 91, 53)])
    palette_mask.save(paletted_dir / (pathlib.Path(name).stem + ".png"))
paletted = subprocess.run([str(build / "segment")] + segment_scenes + ["--truth-dir", str(paletted_dir)],
                          capture_output=True, text=True)
ok = paletted.returncode == 0 and scores_of[0] == paletted.stdout[paletted.stdout.find("class\tIoU"):]
print(("ok   " if ok else "FAIL ") + "segment --truth-dir on the masks as palette PNGs: the same scores")
if not ok:
    failures.append("segment --truth-dir on palette PNGs")
    print(paletted.stderr[:1000])
# Its bad arguments and files.
one_scene = segment_scenes[:segment_scenes.index("--image") + 2]
run("segment", one_scene + ["--out", "m.png", "--reduce-zero-label"], 2,
    "--truth-suffix, --reduce-zero-label and --ignore-index go with --truth-dir")
run("segment", one_scene + ["--truth-dir", str(shifted), "--ignore-index", "x"], 2, "--ignore-index expects an integer")
run("segment", one_scene + ["--truth-dir", str(shifted), "--overlays"], 2,
    "--overlay, --out-npy, --overlays and --logits need --out or --out-dir")
shutil.copy(demo / "scenes" / "000.png", tmp / "000.png")
run("segment", one_scene + ["--image", str(tmp / "000.png"), "--truth-dir", str(shifted)], 2,
    "would both be scored against " + str(shifted / "000.png"))
run("segment", one_scene + ["--truth-dir", str(tmp / "none")], 1, str(tmp / "none" / "000.png") + ": no such file")
bad_masks = tmp / "bad_masks"
bad_masks.mkdir()
Image.fromarray(np.zeros((224, 224, 3), np.uint8)).save(bad_masks / "000.png")
run("segment", one_scene + ["--truth-dir", str(bad_masks)], 1, "000.png: a label mask must be an 8-bit greyscale or palette PNG")
Image.fromarray(np.zeros((224, 225), np.uint8)).save(bad_masks / "000.png")
run("segment", one_scene + ["--truth-dir", str(bad_masks)], 1, "000.png: the mask is 225x224 pixels, the image 224x224")
Image.fromarray(np.full((224, 224), 5, np.uint8)).save(bad_masks / "000.png")
run("segment", one_scene + ["--truth-dir", str(bad_masks)], 1,
    "000.png: pixel (0, 0) has label 5, which is no class (0 to 4) and not the ignore index 255")
run("segment", one_scene + ["--truth-dir", str(bad_masks), "--ignore-index", "5"], 0, "")


def cuda_unavailable(program, result):
    """True (and a failure recorded unless the failure is clean) when --backend cuda did not run."""
    if result.returncode == 0:
        return False
    clean = (result.returncode in (1, 2) and ("CUDA" in result.stderr or "cuda" in result.stderr)
             and (result.returncode == 1 or f"usage: {program}" in result.stderr) and not result.stdout)
    print(("ok   " if clean else "FAIL ") + f"{program} --backend cuda without a usable GPU: exit {result.returncode}")
    if not clean:
        failures.append(f"{program} --backend cuda")
        print(result.stderr[:2000])
    return True


def top_classes(stdout):
    return [(label, float(p)) for label, p in (line.split("\t") for line in stdout.splitlines())]


classify_args = ["--model", model, "--head", probe, "--image", image, "--topk", "6"]  # all 6 classes
cpu = subprocess.run([str(build / "classify")] + classify_args, capture_output=True, text=True)
# With CUDA, the CUDA tasks are a module beside the programs, loaded only for --backend cuda: a cpu run loads
# no CUDA library, and a program without the module runs on the cpu and names the module it cannot load.
if (build / "internvl_tasks_cuda.so").exists():
    traced = subprocess.run([str(build / "classify")] + classify_args, capture_output=True, text=True,
                            env={**os.environ, "LD_DEBUG": "files"})
    cuda_libraries = sorted({word for word in traced.stderr.split() if word.startswith(("file=libcu", "file=libnv"))})
    ok = traced.returncode == 0 and not cuda_libraries
    print(("ok   " if ok else "FAIL ") + f"classify --backend cpu loads no CUDA library {cuda_libraries}")
    if not ok:
        failures.append("classify --backend cpu loads CUDA")
    alone = tmp / "alone"
    alone.mkdir()
    shutil.copy(build / "classify", alone / "classify")
    missing = subprocess.run([str(alone / "classify")] + classify_args + ["--backend", "cuda"], capture_output=True, text=True)
    on_cpu = subprocess.run([str(alone / "classify")] + classify_args, capture_output=True, text=True)
    ok = (missing.returncode == 1 and f"the CUDA tasks module {alone / 'internvl_tasks_cuda.so'} was not built" in missing.stderr
          and not missing.stdout and on_cpu.returncode == 0 and on_cpu.stdout == cpu.stdout)
    print(("ok   " if ok else "FAIL ") + "classify without the CUDA tasks module: cpu runs, --backend cuda names the module")
    if not ok:
        failures.append("classify without the CUDA tasks module")
        print(missing.stderr[:2000])
    (alone / "internvl_tasks_cuda.so").write_bytes(b"not a shared object, but long enough for the loader to read its header" * 4)
    broken = subprocess.run([str(alone / "classify")] + classify_args + ["--backend", "cuda"], capture_output=True, text=True)
    ok = (broken.returncode == 1 and f"cannot load the CUDA tasks {alone / 'internvl_tasks_cuda.so'}" in broken.stderr
          and "invalid ELF header" in broken.stderr and not broken.stdout)
    print(("ok   " if ok else "FAIL ") + "classify with a broken CUDA tasks module: --backend cuda says why it cannot load it")
    if not ok:
        failures.append("classify with a broken CUDA tasks module")
        print(broken.stderr[:2000])
gpu = subprocess.run([str(build / "classify")] + classify_args + ["--backend", "cuda"], capture_output=True, text=True)
if not cuda_unavailable("classify", gpu):
    want, got = top_classes(cpu.stdout), top_classes(gpu.stdout)
    ok = (len(got) == len(want) and got[0][0] == want[0][0] and dict(got).keys() == dict(want).keys()
          and all(abs(p - dict(want)[label]) <= 2e-2 for label, p in got))
    print(("ok   " if ok else "FAIL ") + f"classify --backend cuda: {got} vs cpu {want}")
    if not ok:
        failures.append("classify --backend cuda")
segment_args = ["--model", model, "--head", seg, "--image", image, "--slide"]
subprocess.run([str(build / "segment")] + segment_args + ["--out", str(tmp / "cpu.png"), "--out-npy", str(tmp / "cpu.npy")],
               capture_output=True, text=True)
gpu = subprocess.run([str(build / "segment")] + segment_args + ["--out", str(tmp / "gpu.png"), "--out-npy",
                                                                str(tmp / "gpu.npy"), "--backend", "cuda"],
                     capture_output=True, text=True)
if not cuda_unavailable("segment", gpu):
    want, got = np.load(tmp / "cpu.npy"), np.load(tmp / "gpu.npy")
    err = float(np.linalg.norm(got - want) / np.linalg.norm(want)) if got.shape == want.shape else float("inf")
    agree = float((got.argmax(0) == want.argmax(0)).mean()) if got.shape == want.shape else 0.0
    ok = err <= 5e-2 and agree >= 0.95
    print(("ok   " if ok else "FAIL ") + f"segment --backend cuda: logits relative L2 {err:.2e}, mask agreement {agree:.4f}")
    if not ok:
        failures.append("segment --backend cuda")
shutil.rmtree(tmp)
print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
