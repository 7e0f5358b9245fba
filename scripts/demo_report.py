#!/usr/bin/env python3
"""The tables of scripts/demo.sh: the C++ programs' predictions on the held-out demo data next to the truth, with
the overall top-1 (digits) and mIoU (scenes) beside PyTorch's numbers from demo/reference_results.json.
Usage: demo_report.py DEMO_DIR OUTPUT_DIR   (OUTPUT_DIR holds digits.tsv from classify --truth, and the scene masks and
scenes-<head>.tsv from segment --truth-dir, whose own mIoU is shown beside this script's, as scripts/demo.sh
writes them). Needs numpy and Pillow."""
import json
import pathlib
import sys

import numpy as np
from PIL import Image

demo, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
reference = json.loads((demo / "reference_results.json").read_text())


def rows(path):
    return [line.split("\t") for line in path.read_text().splitlines() if line]


# ------------------------------------------------------------------------------------------------------
# Digits: classify's "# <image>" blocks of "label<TAB>probability" (top-1 only), then the accuracy that
# classify --truth counted ("# accuracy against ...", "top-1<TAB>percent<TAB>(N right)").

truth = {name: int(label) for name, label in rows(demo / "digits" / "labels.txt")}
predicted, image, own_top1, accuracy_lines = {}, None, None, False
for line in (out / "digits.tsv").read_text().splitlines():
    if line.startswith("# accuracy against "):
        accuracy_lines = True
    elif accuracy_lines:
        own_top1 = line.split("\t")[1] if line.startswith("top-1\t") else own_top1
    elif line.startswith("# "):
        image = pathlib.Path(line[2:]).name
    elif line:
        label, p = line.split("\t")
        predicted[image] = (int(label), float(p))
missing = set(truth) - set(predicted)
if missing:
    sys.exit(f"demo_report: no prediction for {len(missing)} digit images (e.g. {sorted(missing)[0]})")

shown = sorted(truth)[:16]
print(f"Digits: the first {len(shown)} of {len(truth)} held-out images (all of them: {out / 'digits.tsv'})")
print("image      true  predicted (probability)")
for name in shown:
    label, p = predicted[name]
    print(f"{name:10s} {truth[name]:4d}  {label:4d} ({p:.3f}){'' if label == truth[name] else '   <- wrong'}")
print()

classes = 10
confusion = np.zeros((classes, classes), np.int64)
for name, label in truth.items():
    confusion[label, predicted[name][0]] += 1
correct = int(np.trace(confusion))
print(f"Digits: {len(truth)} held-out images, linear probe; rows = true digit, columns = predicted digit")
print("true |" + "".join(f"{c:5d}" for c in range(classes)) + " | correct")
for t in range(classes):
    cells = "".join(f"{confusion[t, c]:5d}" if confusion[t, c] else "    ." for c in range(classes))
    print(f"{t:4d} |{cells} | {confusion[t, t]:3d}/{confusion[t].sum()}")
mistakes = [(name, label, *predicted[name]) for name, label in sorted(truth.items()) if predicted[name][0] != label]
if mistakes:
    shown = ", ".join(f"{name} {label}->{p} ({prob:.2f})" for name, label, p, prob in mistakes[:24])
    print(f"mistakes (image true->predicted (probability)): {shown}"
          + (f", ... and {len(mistakes) - 24} more" if len(mistakes) > 24 else ""))
ref = reference["digits"]
print(f"digits top-1: C++ {100 * correct / len(truth):.2f}% ({correct}/{len(truth)}; classify's own count "
      f"{own_top1}%),  PyTorch {100 * ref['top1']:.2f}% ({ref['correct']}/{ref['count']})\n")

# ------------------------------------------------------------------------------------------------------
# Scenes: segment's class-index masks against the true masks.

names = reference["scenes"]["classes"]
k = len(names)
scenes = rows(demo / "scenes" / "list.txt")
heads = ["linear", "upernet"]
totals = {h: np.zeros((k, k), np.int64) for h in heads}
print(f"Scenes: {len(scenes)} held-out images, sliding window; pixel accuracy per image, and the classes present "
      "(true / predicted by each head)")
print(f"{'image':10s} {'W x H':>8s} {'linear':>8s} {'upernet':>8s}  classes: true | linear | upernet")
short = [n[:4] for n in names]
for image, mask in scenes:
    true = np.asarray(Image.open(demo / "scenes" / mask))
    cells, present = [], ["+".join(short[c] for c in np.unique(true))]
    for h in heads:
        pred = np.asarray(Image.open(out / f"scenes-{h}" / image))
        conf = np.bincount(true.astype(np.int64).ravel() * k + pred.astype(np.int64).ravel(),
                           minlength=k * k).reshape(k, k)
        totals[h] += conf
        cells.append(f"{100 * np.trace(conf) / conf.sum():7.2f}%")
        present.append("+".join(short[c] for c in np.unique(pred)))
    print(f"{image:10s} {true.shape[1]:>4d}x{true.shape[0]:<3d} {cells[0]:>8s} {cells[1]:>8s}  {' | '.join(present)}")


def iou(conf):
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def segment_miou(head):
    """The mIoU that segment --truth-dir printed for the head (its scores close scenes-<head>.tsv)."""
    lines = (out / f"scenes-{head}.tsv").read_text().splitlines()
    return float(next(line.split("\t")[1] for line in lines if line.startswith("mIoU\t")))


print("\nper-class IoU   " + "".join(f"{n:>11s}" for n in names) + "       mIoU  (segment's own)   PyTorch mIoU")
for h in heads:
    values = iou(totals[h])
    want = reference["scenes"]["heads"][h]["miou"]
    print(f"{h + ' head':15s} " + "".join(f"{100 * v:10.2f}%" for v in values)
          + f"   {100 * np.nanmean(values):7.2f}%   ({segment_miou(h):.2f}%)         {100 * want:7.2f}%")
