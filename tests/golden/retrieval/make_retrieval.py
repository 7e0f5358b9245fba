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
Cases: 'varied' (24 images with 1 to 4 texts each, texts in random order), 'grouped' (12 images with 3
texts each, texts in image order: rows 3i, 3i + 1, 3i + 2 describe image i) and 'paired' (20 videos, text i
describes video i, as MSR-VTT's test pairs are), which also holds under "dual_softmax" the ranks and recalls
of the official video retrieval's scores (InternVL's video_retrieval/test_msrvtt.py with use_dsl: the
text→video scores times their softmax over the texts, scores * scores.softmax(dim=0), and the video→text
scores likewise over the videos), the gap condition holding for those scores too.
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


def softmax_weighted(scores):
    """test_msrvtt.py's use_dsl on a score matrix: scores * scores.softmax(dim=0)."""
    e = np.exp(scores - scores.max(axis=0, keepdims=True))
    return scores * e / e.sum(axis=0, keepdims=True)


def direction_scores(scores, dual_softmax):
    """The text→image [T, N] and image→text [N, T] score matrices."""
    if dual_softmax:
        return softmax_weighted(scores), softmax_weighted(scores.T)
    return scores, scores.T


def make_case(rng, image_of_text, image_count, noise, dual_softmax=False):
    while True:
        images = unit_rows(rng.standard_normal((image_count, WIDTH))).astype(np.float32)
        texts = unit_rows(images[image_of_text] + noise * rng.standard_normal((len(image_of_text), WIDTH)))
        texts = texts.astype(np.float32)
        scores = texts.astype(np.float64) @ images.astype(np.float64).T  # [T, N]
        right = np.zeros(scores.shape, dtype=bool)
        right[np.arange(len(image_of_text)), image_of_text] = True
        gaps = [smallest_gap(s, r) for d in {False, dual_softmax}
                for s, r in zip(direction_scores(scores, d), (right, right.T))]
        if min(gaps) > MIN_GAP:
            return images, texts, scores, right


def scored(name, scores, right, dual_softmax):
    to_image, to_text = direction_scores(scores, dual_softmax)
    case = {
        "text_to_image_ranks": first_right_positions(to_image, right),
        "image_to_text_ranks": first_right_positions(to_text, right.T),
        "text_to_image_recall": {str(k): clip_benchmark_recall(to_image, right, k) for k in KS},
        "image_to_text_recall": {str(k): clip_benchmark_recall(to_text, right.T, k) for k in KS},
    }
    for direction in ("text_to_image", "image_to_text"):
        recalls = [case[f"{direction}_recall"][str(k)] for k in KS]
        assert 0 < recalls[0] < recalls[-1], (name, direction, dual_softmax, recalls)
    return case


def write_case(name, rng, image_of_text, image_count, noise, dual_softmax=False):
    images, texts, scores, right = make_case(rng, np.asarray(image_of_text), image_count, noise, dual_softmax)
    np.save(HERE / f"{name}_images.npy", images)
    np.save(HERE / f"{name}_texts.npy", texts)
    case = {"image_of_text": [int(g) for g in image_of_text], **scored(name, scores, right, False)}
    if dual_softmax:
        case["dual_softmax"] = scored(name, scores, right, True)
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
        "paired": write_case("paired", rng, list(range(20)), 20, noise=1.2, dual_softmax=True),
    }
    (HERE / "retrieval.json").write_text(json.dumps(fixtures, indent=1) + "\n")
    for name in ("varied", "grouped", "paired"):
        print(name, {d: fixtures[name][f"{d}_recall"] for d in ("text_to_image", "image_to_text")})
    print("paired, dual softmax", {d: fixtures["paired"]["dual_softmax"][f"{d}_recall"]
                                   for d in ("text_to_image", "image_to_text")})


if __name__ == "__main__":
    main()
