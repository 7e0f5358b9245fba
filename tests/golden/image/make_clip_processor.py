#!/usr/bin/env python3
"""Fixtures of io::Pipeline::clip_processor (tests/io/test_preprocess.cpp): transformers' CLIPImageProcessor as
the official video retrieval (video_retrieval/test_msrvtt.py) and the InternVL model cards build it from the
224px repositories' preprocessor_config.json (facts 4.1: shortest edge and crop 224, bicubic, ImageNet mean and
std), run on make.py's input images at 32 and 224 pixels. Its crop starts at (size - crop) // 2, where
torchvision's CenterCrop rounds half to even: the two differ on big_513x1023 and small_37x23 at 32 pixels
(margins 31 and 19), which the cases include. Each case stores the 8-bit pixels before rescaling (whole when
small, else make.py's digest) and the normalised tensor's sum; clip_processor.json lists them with the versions.

Needs: numpy, pillow, transformers (run after make.py, whose inputs it reads).
Run: python3 tests/golden/image/make_clip_processor.py   (rewrites tests/golden/image/clip_processor*)"""
import json
import pathlib

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers import CLIPImageProcessor

from pixel_digest import digest

out = pathlib.Path(__file__).resolve().parent
for old in out.glob("clip_processor_*.npy"):
    old.unlink()
inputs = json.loads((out / "manifest.json").read_text())["inputs"]

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def processor(size, **kwargs):
    return CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                              do_center_crop=True, resample=3, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD,
                              **kwargs)


cases = []
for name in ["big_513x1023", "small_37x23", "strip_2000x40", "wide_301x7", "square_64x64", "tall_1x300"]:
    image = Image.open(out / inputs[name]).convert("RGB")
    for size in [32, 224]:
        if size == 224 and name not in ("big_513x1023", "strip_2000x40"):
            continue
        pixels = processor(size, do_rescale=False, do_normalize=False)(image, return_tensors="np")["pixel_values"][0]
        pixels = np.round(pixels).astype(np.uint8).transpose(1, 2, 0)  # [S, S, 3], the 8-bit values it rescales
        tensor = processor(size)(image, return_tensors="np")["pixel_values"][0]  # [3, S, S] float32
        case = {"input": name, "size": size, "tensor_sum": float(tensor.astype(np.float64).sum())}
        if pixels.size <= 3 * 32 * 32:
            case["pixels"] = {"file": f"clip_processor_{name}_{size}.npy"}
            np.save(out / case["pixels"]["file"], np.ascontiguousarray(pixels))
        else:
            case["pixels"] = {"digest": digest(pixels)}
        cases.append(case)

manifest = {"versions": {"pillow": PIL.__version__, "transformers": transformers.__version__, "numpy": np.__version__},
            "cases": cases}
(out / "clip_processor.json").write_text(json.dumps(manifest, indent=1) + "\n")
print(f"{len(cases)} cases")
