#!/usr/bin/env python3
"""Times the operations of bench_image.cpp in the Python reference libraries on this machine (one thread):
Pillow's Image.resize(BICUBIC), torchvision's classification transform, InternVL's dynamic tiling with
build_transform, and the MMSegmentation test resize (cv2 INTER_LINEAR) + normalisation.
Prints CPU time (process time: the machine may be shared) and megapixels of source image per second,
as bench_image reports them (compare with its CPU column). Run: python3 benchmarks/io/compare_python.py"""
import time

import cv2
import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms.functional import InterpolationMode

torch.set_num_threads(1)
cv2.setNumThreads(1)
rng = np.random.default_rng(1)
frame = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
image = Image.fromarray(frame)
mpx = 1920 * 1080 * 1e-6
normalize = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])


def rate(fn, repeat=20):
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return f"{best * 1e3:8.2f} ms  {mpx / best:8.1f} Mpx/s"


def tiles():  # InternVL dynamic_preprocess for a 16:9 frame at max_num 12 picks 4x2 tiles of 448
    resized = image.resize((1792, 896))
    crops = [resized.crop((c * 448, r * 448, c * 448 + 448, r * 448 + 448)) for r in range(2) for c in range(4)]
    crops.append(image.resize((448, 448)))
    return torch.stack([normalize(t) for t in crops])


def segmentation():
    first = cv2.resize(frame, (896, 504), interpolation=cv2.INTER_LINEAR)
    img = first.astype(np.float32)
    cv2.subtract(img, np.float64([[123.675, 116.28, 103.53]]), img)
    cv2.multiply(img, 1 / np.float64([[58.395, 57.12, 57.375]]), img)
    return img


classify = T.Compose([T.Resize(224, interpolation=InterpolationMode.BICUBIC), T.CenterCrop(224), normalize])
print("resize_bicubic 398x224  ", rate(lambda: image.resize((398, 224), Image.BICUBIC)))
print("resize_bicubic 448x448  ", rate(lambda: image.resize((448, 448), Image.BICUBIC)))
print("resize_bicubic 1792x896 ", rate(lambda: image.resize((1792, 896), Image.BICUBIC)))
print("classification 224      ", rate(lambda: classify(image)))
print("tile_image 448 (4x2+1)  ", rate(tiles))
print("segmentation input 504  ", rate(segmentation))
