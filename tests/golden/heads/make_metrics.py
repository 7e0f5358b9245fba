#!/usr/bin/env python3
"""Writes metrics.json for tests/heads/test_metrics.cpp.
"top_k": a classifier's scores over a set (random logits with the true class pushed up, and exact ties with
the true class placed before and after it; the last class is nobody's true class) and each image's rank and the
top-1 and top-5 accuracy by a stable sort of the scores, highest first (numpy's argsort, ties to the lower class
index, as heads::top_k orders), and the mean per-class recall of the top-1 predictions as scikit-learn's
balanced_accuracy_score computes it (clip_benchmark's mean_per_class_recall), transcribed here in numpy: the
confusion matrix's diagonal over its row sums, the rows of classes that are nobody's truth (NaN) left out, then
the mean.
"real": the same kind of scores with ImageNet-ReaL's kind of truth, a list of true classes per image (empty for
some), scored as the official evaluation's RealLabelsImagenet does: the images with an empty list left out, an
image right at k when any of its first k predictions is in its list.
"segmentation": small segmentation evaluations
(predicted classes and true label masks of a few images) and their scores as mmseg computes them, transcribed
here in numpy from mmseg/core/evaluation/metrics.py (v0.x, which InternVL's segmentation code uses):
intersect_and_union (reduce_zero_label by uint8 arithmetic: 0 -> 255, then - 1, then 254 -> 255; the pixels
whose label is ignore_index dropped; areas by histograms over [0, K - 1]) summed over the images, then
total_area_to_metrics (IoU = intersect / union, Acc = intersect / label, aAcc = sum intersect / sum label;
mIoU and mAcc by np.nanmean, as mmseg's results table averages them). NaN is written as null.
Cases: plain labels with ignored pixels; ADE20K-style reduce_zero_label; a class that is nowhere (IoU NaN)
and one that is predicted but never true (IoU 0, Acc NaN); an ignore index of 0, not 255 (class 0's pixels
are all ignored: IoU 0 where it is predicted, Acc NaN).
Run from anywhere: /usr/bin/python3 tests/golden/heads/make_metrics.py"""
import json
import pathlib
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def intersect_and_union(pred, label, num_classes, ignore_index, reduce_zero_label):
    label = label.copy()
    if reduce_zero_label:
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255
    mask = label != ignore_index
    pred, label = pred[mask], label[mask]
    intersect = pred[pred == label]
    bins = np.arange(num_classes + 1) - 0.5  # histc over [0, K - 1] with K bins: one bin per class
    area_intersect = np.histogram(intersect, bins=bins)[0]
    area_pred = np.histogram(pred, bins=bins)[0]
    area_label = np.histogram(label, bins=bins)[0]
    return area_intersect, area_pred + area_label - area_intersect, area_pred, area_label


def scores(images, num_classes, ignore_index, reduce_zero_label):
    totals = [np.zeros(num_classes, np.int64) for _ in range(4)]
    for pred, label in images:
        for total, area in zip(totals, intersect_and_union(pred, label, num_classes, ignore_index, reduce_zero_label)):
            total += area
    intersect, union, _, label = totals
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = intersect / union
        acc = intersect / label
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"iou": iou, "accuracy": acc, "all_accuracy": intersect.sum() / label.sum(),
                "mean_iou": np.nanmean(iou), "mean_accuracy": np.nanmean(acc)}


def as_json(value):
    if isinstance(value, np.ndarray):
        return [as_json(v) for v in value]
    return None if np.isnan(value) else float(value)


def noisy_prediction(rng, truth, num_classes, keep):
    """The true class where a coin says so, a random class elsewhere."""
    random = rng.integers(0, num_classes, truth.shape)
    return np.where((rng.random(truth.shape) < keep) & (truth < num_classes), truth, random).astype(np.int32)


def case(rng, num_classes, sizes, reduce_zero_label, ignore_index=255, absent=None, never_true=None):
    images = []
    for h, w in sizes:
        if reduce_zero_label:
            label = rng.integers(0, num_classes + 1, (h, w)).astype(np.uint8)  # 0 = other, 1..K
            truth = label.astype(np.int64) - 1
        else:
            label = rng.integers(0, num_classes, (h, w)).astype(np.uint8)
            truth = label.astype(np.int64)
        for k in (absent, never_true):
            if k is not None:
                label[truth == k] = 0 if reduce_zero_label else (k + 1) % num_classes
                truth = label.astype(np.int64) - (1 if reduce_zero_label else 0)
        label[rng.random((h, w)) < 0.1] = ignore_index if not reduce_zero_label else 255
        pred = noisy_prediction(rng, np.where(truth < 0, num_classes, truth), num_classes, keep=0.7)
        if absent is not None:
            pred[pred == absent] = (absent + 1) % num_classes
        if never_true is not None:
            pred[rng.random((h, w)) < 0.05] = never_true
        images.append((pred, label))
    expected = scores(images, num_classes, ignore_index, reduce_zero_label)
    return {
        "num_classes": num_classes, "ignore_index": ignore_index, "reduce_zero_label": reduce_zero_label,
        "images": [{"predicted": pred.tolist(), "labels": label.tolist()} for pred, label in images],
        "expected": {key: as_json(value) for key, value in expected.items()},
    }


def top_k_case(rng, images, classes):
    logits = rng.standard_normal((images, classes))
    truth = rng.integers(0, classes - 1, images)  # the last class is predicted at times, never true
    logits[np.arange(images), truth] += rng.uniform(0, 2.5, images)
    scores = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    for i in range(0, images, 7):  # a tie with the true class, at a lower class index on every other one
        other = (truth[i] + (-1 if i % 2 else 1)) % classes
        scores[i, other] = scores[i, truth[i]]
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = [int(np.flatnonzero(order[i] == truth[i])[0]) for i in range(images)]
    predicted = order[:, 0]
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.diag(confusion) / confusion.sum(axis=1)
    return {"scores": scores.tolist(), "truth": truth.tolist(), "ranks": ranks,
            "top1": float(np.mean(np.asarray(ranks) < 1)), "top5": float(np.mean(np.asarray(ranks) < 5)),
            "mean_per_class_recall": float(np.mean(recall[~np.isnan(recall)]))}


def real_case(rng, images, classes):
    logits = rng.standard_normal((images, classes))
    truths = [sorted(rng.choice(classes, size=rng.integers(0, 4), replace=False).tolist()) for _ in range(images)]
    for i, truth in enumerate(truths):
        logits[i, truth] += rng.uniform(0, 2.5, len(truth))
    scores = logits.astype(np.float32)
    order = np.argsort(-scores, axis=1, kind="stable")
    counted = [i for i in range(images) if truths[i]]
    right = {k: [any(p in truths[i] for p in order[i, :k]) for i in counted] for k in (1, 5)}
    return {"scores": scores.tolist(), "truths": truths, "counted": len(counted),
            "top1": float(np.mean(right[1])), "top5": float(np.mean(right[5]))}


def main():
    rng = np.random.default_rng(20261128)
    cases = {
        "plain": case(rng, 5, [(7, 9), (12, 5), (1, 13)], reduce_zero_label=False),
        "reduce_zero_label": case(rng, 4, [(8, 8), (5, 11)], reduce_zero_label=True),
        "absent_and_never_true": case(rng, 6, [(9, 10), (6, 7)], reduce_zero_label=False, absent=2, never_true=4),
        # An ignore index other than 255 (its own generator, so the other fixtures keep their values).
        "ignore_index_0": case(np.random.default_rng(20261129), 4, [(6, 7), (5, 9)], reduce_zero_label=False,
                               ignore_index=0),
    }
    top_k = top_k_case(rng, 40, 12)
    real = real_case(rng, 30, 9)
    (HERE / "metrics.json").write_text(json.dumps({"segmentation": cases, "top_k": top_k, "real": real},
                                                  separators=(",", ":")) + "\n")
    for name, c in cases.items():
        print(name, c["expected"])
    print("top_k", top_k["top1"], top_k["top5"], top_k["mean_per_class_recall"])
    print("real", real["counted"], real["top1"], real["top5"])


if __name__ == "__main__":
    main()
