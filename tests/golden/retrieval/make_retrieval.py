#!/usr/bin/env python3
"""Writes the retrieval fixtures of tests/models/test_retrieval.cpp and tests/examples/test_retrieve.py:
for each case, unit image and text embeddings (<case>_images.npy [N, E], <case>_texts.npy [T, E], float32)
and in retrieval.json the image each text describes, each query's rank and recall@1/5/10 in both
directions. The reference is clip_benchmark's way of scoring retrieval (InternVL's
clip_benchmark/metrics/zeroshot_retrieval.py), written here with numpy in float64: scores = texts · imagesᵀ,
the k best candidates of each query by a full sort, a hit when a right answer is among them. Ranks come from
the same sort (the position of the first right answer), not from counting. Texts are noisy copies of their
image's embedding, so the recalls fall between 0 and 1; a case is drawn again until no wrong candidate
scores within 1e-4 of a query's best right answer, so float32 arithmetic cannot reorder them.
Cases: 'varied' (24 images with 1 to 4 texts each, texts in random order) and 'grouped' (12 images with 3
texts each, texts in image order: rows 3i, 3i + 1, 3i + 2 describe image i).
Run from anywhere: /usr/bin/python3 tests/golden/retrieval/make_retrieval.py"""
import json
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
WIDTH = 32
KS = [1, 5, 10]
MIN_GAP = 1e-4


def unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def first_right_positions(scores, right):
    """For each query row, the position of its first right answer when candidates are sorted by score."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return [int(np.flatnonzero(right[q, order[q]])[0]) for q in range(scores.shape[0])]


def clip_benchmark_recall(scores, right, k):
    """clip_benchmark's recall_at_k, then (recall > 0).mean(): the k best of each query, hit if one is right."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = [right[q, top[q]].any() for q in range(scores.shape[0])]
    return float(np.mean(hits))


def smallest_gap(scores, right):
    gaps = []
    for q in range(scores.shape[0]):
        best = scores[q, right[q]].max()
        gaps.append(np.abs(scores[q, ~right[q]] - best).min())
    return min(gaps)


def make_case(rng, image_of_text, image_count, noise):
    while True:
        images = unit_rows(rng.standard_normal((image_count, WIDTH))).astype(np.float32)
        texts = unit_rows(images[image_of_text] + noise * rng.standard_normal((len(image_of_text), WIDTH)))
        texts = texts.astype(np.float32)
        scores = texts.astype(np.float64) @ images.astype(np.float64).T  # [T, N]
        right = np.zeros(scores.shape, dtype=bool)
        right[np.arange(len(image_of_text)), image_of_text] = True
        if min(smallest_gap(scores, right), smallest_gap(scores.T, right.T)) > MIN_GAP:
            return images, texts, scores, right


def write_case(name, rng, image_of_text, image_count, noise):
    images, texts, scores, right = make_case(rng, np.asarray(image_of_text), image_count, noise)
    np.save(HERE / f"{name}_images.npy", images)
    np.save(HERE / f"{name}_texts.npy", texts)
    case = {
        "image_of_text": [int(g) for g in image_of_text],
        "text_to_image_ranks": first_right_positions(scores, right),
        "image_to_text_ranks": first_right_positions(scores.T, right.T),
        "text_to_image_recall": {str(k): clip_benchmark_recall(scores, right, k) for k in KS},
        "image_to_text_recall": {str(k): clip_benchmark_recall(scores.T, right.T, k) for k in KS},
    }
    for direction in ("text_to_image", "image_to_text"):
        recalls = [case[f"{direction}_recall"][str(k)] for k in KS]
        assert 0 < recalls[0] < recalls[-1], (name, direction, recalls)
    return case


def main():
    rng = np.random.default_rng(20261128)
    varied_images = 24
    varied = [i for i in range(varied_images) for _ in range(int(rng.integers(1, 5)))]
    rng.shuffle(varied)
    grouped_images = 12
    grouped = [i for i in range(grouped_images) for _ in range(3)]
    fixtures = {
        "ks": KS,
        "varied": write_case("varied", rng, varied, varied_images, noise=1.0),
        "grouped": write_case("grouped", rng, grouped, grouped_images, noise=1.0),
    }
    (HERE / "retrieval.json").write_text(json.dumps(fixtures, indent=1) + "\n")
    for name in ("varied", "grouped"):
        print(name, {d: fixtures[name][f"{d}_recall"] for d in ("text_to_image", "image_to_text")})


if __name__ == "__main__":
    main()
