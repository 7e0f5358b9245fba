#!/usr/bin/env python3
"""Fixtures for tests/io/test_image.cpp, test_preprocess.cpp and test_tiling.cpp, made by the libraries the
InternVL reference code runs on: Pillow (decoding, Image.resize BICUBIC), torchvision (Resize, CenterCrop,
ToTensor, Normalize), OpenCV (cv2.resize INTER_LINEAR, cv2.subtract/multiply as mmcv.imnormalize calls them).

Inputs are generated, seeded images (gradients, a checkerboard and a diagonal step for sharp edges, a band of
full-range noise) of odd sizes and extreme aspect ratios, stored as PNG. Small results are stored whole (.npy);
large ones as a digest (shape, sum, position-weighted sum) that the C++ test recomputes. manifest.json lists
every case and the library versions used.

Two facts about the reference that the fixtures pin down:
* Pillow >= 13 runs the vertical pass first when the height shrinks by more than twice what the width shrinks;
  Pillow <= 12 (what InternVL was trained and evaluated with) always ran the horizontal pass first. With any
  Pillow, resize((W, h)) then resize((W, H)) is the horizontal-first result, resize((w, H)) then resize((W, H))
  the vertical-first one; both are stored. torchvision calls Image.resize, so its results follow the
  installed Pillow's order.
* The tile-grid choice and the SETR/mmcv rescale sizes are written below from the InternVL and mmcv Python
  code (dynamic_preprocess / find_closest_aspect_ratio; SETR_Resize + mmcv.rescale_size), which this
  environment does not install.

Needs: numpy, pillow, torch, torchvision, opencv-python-headless (< 5, as mmcv used).
Run: python3 tests/golden/image/make.py   (rewrites tests/golden/image/*, deleting every .npy: run
make_clip_processor.py after it)"""
import io
import json
import math
import pathlib
import struct
import zlib

import cv2
import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms.functional import InterpolationMode

from pixel_digest import digest

out = pathlib.Path(__file__).resolve().parent
for old in list(out.glob("*.npy")) + list(out.glob("*.png")) + list(out.glob("*.jpg")) + list(out.glob("*.p?m")):
    old.unlink()
for old in list(out.glob("bad_*")):
    old.unlink()
manifest = {
    "versions": {"pillow": PIL.__version__, "torchvision": torchvision.__version__, "opencv": cv2.__version__,
                 "numpy": np.__version__},
}
BICUBIC = Image.Resampling.BICUBIC


def save_npy(name, array):
    np.save(out / name, np.ascontiguousarray(array))
    return name


def synth(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3))
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 255 * y / max(h - 1, 1)
    img[..., 2] = 127.5 + 127.5 * np.sin(x / 7.0 + y / 11.0)
    checker = ((x // 5 + y // 5) % 2 == 0) & (x < w / 3) & (y < h / 2)
    img[checker] = [250, 10, 128]
    img[(x + 2 * y) > (w + h) * 0.9] = [0, 0, 0]
    band = (y >= int(h * 0.55)) & (y < int(h * 0.55) + max(2, min(12, int(h * 0.08))))
    img[band] = rng.integers(0, 256, (int(band.sum()), 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------
# Generated inputs.
inputs = {"tall_1x300": (1, 300), "wide_301x7": (301, 7), "square_64x64": (64, 64), "big_513x1023": (513, 1023),
          "strip_2000x40": (2000, 40), "small_37x23": (37, 23)}
pixels = {}
for seed, (name, (w, h)) in enumerate(inputs.items()):
    pixels[name] = synth(w, h, seed + 1)
    Image.fromarray(pixels[name]).save(out / f"{name}.png", optimize=True)
manifest["inputs"] = {name: f"{name}.png" for name in inputs}


def stored(array, name, limit=6000):
    """The expected result: whole when small, a digest otherwise."""
    if array.size <= 3 * limit:
        return {"file": save_npy(name, array)}
    return {"digest": digest(array)}


# ---------------------------------------------------------------------------------------------------------
# Decoding: every PNG/PNM/JPEG flavour against Pillow's Image.open(...).convert('RGB').
decode = []
base = synth(37, 23, 99)
grey = base[..., 1].copy()


def add_decode(file, image_bytes, note=""):
    """A decode case: the file and Pillow's convert('RGB') of it, which read_image must give exactly."""
    (out / file).write_bytes(image_bytes)
    expected = np.array(Image.open(out / file).convert("RGB"))
    decode.append({"file": file, "expected": save_npy(file.replace(".", "_") + ".npy", expected), "note": note})


def pil_bytes(image, fmt, **kw):
    b = io.BytesIO()
    image.save(b, fmt, **kw)
    return b.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def rgb_png(w, h, raw, interlace=0):
    """An 8-bit RGB PNG of the given (filtered, uncompressed) scanline bytes."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, interlace))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def adam7_png(rgb):
    """An interlaced (Adam7) RGB PNG: neither Pillow nor OpenCV writes one."""
    h, w, _ = rgb.shape
    raw = b""
    for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
                           (1, 0, 2, 1)]:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    return rgb_png(w, h, raw, interlace=1)


def with_jpeg_size(jpeg, w, h):
    """The JPEG with the width and height of its SOF0 frame header replaced."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[:sof + 5] + struct.pack(">HH", h, w) + jpeg[sof + 9:]


rgba = np.dstack([base, (np.arange(37 * 23) % 256).reshape(23, 37).astype(np.uint8)])
add_decode("rgb8.png", pil_bytes(Image.fromarray(base), "PNG"))
add_decode("rgba8.png", pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG"), note="alpha dropped, not composited")
add_decode("grey8.png", pil_bytes(Image.fromarray(grey, "L"), "PNG"))
add_decode("grey_alpha8.png", pil_bytes(Image.fromarray(np.dstack([grey, 255 - grey]), "LA"), "PNG"))
palette_image = Image.fromarray(base).quantize(colors=37)
add_decode("palette.png", pil_bytes(palette_image, "PNG"))
add_decode("palette_trns.png", pil_bytes(palette_image, "PNG", transparency=3), note="tRNS ignored by convert")
# Label masks stored as palette PNGs (Pascal VOC's, Pillow mode "P"): read_label_mask gives the indices, as
# np.asarray(Image.open(path)) does. A 4-bit palette PNG is refused.
for file in ["palette.png", "palette_trns.png"]:
    save_npy(file.replace(".", "_") + "_indices.npy", np.asarray(Image.open(out / file)))
(out / "palette4.png").write_bytes(pil_bytes(Image.fromarray(base).quantize(colors=12), "PNG", bits=4))
add_decode("interlaced.png", adam7_png(base))
rgb16 = (base.astype(np.uint16) * 257 + np.arange(37)[None, :, None].astype(np.uint16)).astype(np.uint16)
ok, enc = cv2.imencode(".png", rgb16[..., ::-1])
add_decode("rgb16.png", enc.tobytes(), note="16-bit samples keep their high byte")
bits1 = Image.fromarray((grey > 128).astype(np.uint8) * 255).convert("1")
add_decode("bilevel1.png", pil_bytes(bits1, "PNG"))
add_decode("rgb.ppm", b"P6\n# generated\n37 23\n255\n" + base.tobytes())
add_decode("grey.pgm", b"P5 37 23 255\n" + grey.tobytes())
small_max = (np.arange(37 * 23) % 8).astype(np.uint8).reshape(23, 37)  # 7 > maxval 6 is clamped
add_decode("grey_max6.pgm", b"P5\n37 23\n6\n" + small_max.tobytes(), note="round half to even, clamp to maxval")
wide16 = (np.arange(37 * 23 * 3, dtype=np.uint32) * 37 % 1100).astype(">u2")
add_decode("rgb_max1000.ppm", b"P6\n37 23\n1000\n" + wide16.tobytes(), note="16-bit, clamp to maxval")
full16 = (np.arange(37 * 23 * 3, dtype=np.uint32) * 2654435761 % 65536).astype(">u2")
add_decode("rgb_max65535.ppm", b"P6\n37 23\n65535\n" + full16.tobytes())
for file, kw in [("q90_420.jpg", dict(quality=90, subsampling=2)), ("q95_444.jpg", dict(quality=95, subsampling=0)),
                 ("progressive.jpg", dict(quality=85, progressive=True)), ("grey.jpg", dict(quality=90))]:
    src = Image.fromarray(grey, "L") if file == "grey.jpg" else Image.fromarray(synth(61, 43, 7))
    add_decode(file, pil_bytes(src, "JPEG", **kw), note="libjpeg-turbo, set up as Pillow")
# CMYK (Pillow writes Adobe's inverted form and reads every CMYK JPEG as such): random inks, black included.
cmyk = np.random.default_rng(5).integers(0, 256, (23, 37, 4), dtype=np.uint8)
add_decode("cmyk.jpg", pil_bytes(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=90), note="CMYK;I, Pillow's cmyk2rgb")
manifest["decode"] = decode

# 16-bit grey: Pillow's convert('RGB') clamps the 32-bit 'I' image (white); we keep the high byte instead.
grey16 = (grey.astype(np.uint16) * 256 + 200).astype(np.uint16)
(out / "grey16.png").write_bytes(cv2.imencode(".png", grey16)[1].tobytes())
manifest["grey16"] = {"file": "grey16.png", "high_byte": save_npy("grey16_high_byte.npy", grey)}

FUZZ_HUFFMAN_JPEG = ("ffd8ffe000104a46494600010100000100010000ffdb0043000503040404030504040405050506070c08070707070f0b0b090c11"
                     "0f1212110f111113161c1713141a1511111821181a1d1d1f1f1f13172224221e241c1e1f1effdb0043010505050706070e08080e"
                     "1e1411141e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e"
                     "1e1effc2001108002b003d03012200021101031101ffc4001b00000202030100000000000000000000000004050601020703ffc4"
                     "00190100020301000000000000000000000000050600030407ffda000c03010002100310000001a96fef96a678c565f0a342528d"
                     "4996d697a48ea4cb4365ed100002020202020300000000000000000001020003040511122022061321ffda0008010100010502b0"
                     "8c955f4aeca8a2748954aea8b5ce93a059c0e18160b5caaa895ce93ac28549a9c2fd4e6255f8a8aa79a966c32ce30cbcadad96b2"
                     "72dec6b0a58a500b6c36d8143e46db36eb0ecf38c4dd6cd0748b5cccdce1e34cfd9e5e6797c8f26f39fe5fffc400281100010302"
                     "0404070000000000000000410001000203041105121321102231514261627181c1e1ffda0008010301013f016492ea9cc46adb73"
                     "e12dec3d48ccc6bf9361e7d532b152627182d1f0ffda0008010100063f02c0d04467b8da3c9f3fffd9")
bad = {"bad_empty.png": b"", "bad_text.png": b"hello, this is not an image\n",
       "bad_truncated.png": (out / "rgb8.png").read_bytes()[:60],
       "bad_truncated.jpg": (out / "q90_420.jpg").read_bytes()[:200],
       "bad_ascii.ppm": b"P3\n2 1\n255\n0 0 0 255 255 255\n", "bad_zero.pgm": b"P5\n0 5\n255\n",
       "bad_truncated.ppm": b"P6\n10 10\n255\n" + bytes(50), "bad_maxval.pgm": b"P5\n2 2\n70000\n" + bytes(8),
       # Headers declaring more pixels than Pillow decodes (2 * Image.MAX_IMAGE_PIXELS = 178956970): 20000 x
       # 10000 with one row of data, 15000 x 15000 with a 61 x 43 image's scan, 20000 x 10000 with no raster.
       "bad_bomb.png": rgb_png(20000, 10000, b"\0" + bytes(3 * 20000)),
       "bad_bomb.jpg": with_jpeg_size((out / "q90_420.jpg").read_bytes(), 15000, 15000),
       "bad_bomb.ppm": b"P6\n20000 10000\n255\n",
       # A JPEG cut inside its scan: libjpeg pads it with grey and warns; Pillow and read_image refuse it.
       "bad_truncated_scan.jpg": (out / "q90_420.jpg").read_bytes()[:1200],
       # Found by tests/io/fuzz_image when JPEGs went to stb_image 2.27: a progressive JPEG whose scan uses a
       # Huffman table it never defines; stb_image read the table's uninitialised memory and failed an
       # assertion (abort) on some runs. libjpeg refuses it.
       "bad_fuzz_huffman.jpg": bytes.fromhex(FUZZ_HUFFMAN_JPEG)}
for file, data in bad.items():
    (out / file).write_bytes(data)

# ---------------------------------------------------------------------------------------------------------
# Pillow bicubic resizes, both pass orders.
bicubic_targets = {
    "tall_1x300": [(1, 37), (3, 17), (4, 450), (2, 300)],
    "wide_301x7": [(40, 3), (17, 19), (301, 2), (903, 2)],
    "square_64x64": [(31, 17), (64, 20), (20, 64), (70, 33), (128, 9)],
    "big_513x1023": [(23, 41), (48, 20), (7, 300), (224, 224), (448, 896)],
    "strip_2000x40": [(100, 9), (33, 60), (50, 1), (448, 448)],
    "small_37x23": [(5, 3), (74, 46), (36, 22), (1, 1), (37, 5)],
}
resize_cases = []
for name, targets in bicubic_targets.items():
    im = Image.fromarray(pixels[name])
    w, h = im.size
    for W, H in targets:
        direct = np.array(im.resize((W, H), BICUBIC))
        horizontal_first = np.array(im.resize((W, h), BICUBIC).resize((W, H), BICUBIC))
        vertical_first = np.array(im.resize((w, H), BICUBIC).resize((W, H), BICUBIC))
        case = {"input": name, "width": W, "height": H,
                "horizontal_first": stored(horizontal_first, f"bicubic_{name}_{W}x{H}_h.npy")}
        if not np.array_equal(vertical_first, horizontal_first):
            case["vertical_first"] = stored(vertical_first, f"bicubic_{name}_{W}x{H}_v.npy")
        pillow13_vertical = H < h and (h - H) > 2 * (w - W)
        assert np.array_equal(direct, vertical_first if pillow13_vertical else horizontal_first), (name, W, H)
        resize_cases.append(case)
manifest["resize_bicubic"] = resize_cases

# ---------------------------------------------------------------------------------------------------------
# OpenCV INTER_LINEAR resizes (exact 2x reductions included: OpenCV takes its INTER_AREA path there).
linear_targets = {
    "tall_1x300": [(1, 37), (5, 450), (1, 150)],
    "wide_301x7": [(40, 3), (150, 4), (602, 14)],
    "square_64x64": [(32, 32), (50, 29), (70, 70), (64, 65)],
    "big_513x1023": [(24, 48), (504, 1005)],
    "strip_2000x40": [(100, 2), (25, 50), (1000, 20)],
    "small_37x23": [(74, 46), (36, 22), (504, 313), (1, 1)],
}
manifest["resize_bilinear"] = [
    {"input": name, "width": W, "height": H,
     "expected": stored(cv2.resize(pixels[name], (W, H), interpolation=cv2.INTER_LINEAR), f"linear_{name}_{W}x{H}.npy")}
    for name, targets in linear_targets.items() for W, H in targets]

# ---------------------------------------------------------------------------------------------------------
# Normalisation tables: every 8-bit level through torchvision and through mmcv's cv2 calls.
ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)  # [1, 256, 3]
tv = T.Compose([T.ToTensor(), T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))])
manifest["normalize_torchvision"] = save_npy("normalize_torchvision.npy", tv(Image.fromarray(ramp)).numpy())
# mmseg's Normalize keeps mean and std as float32 arrays; mmcv.imnormalize_ widens them to float64, then (float
# image, BGR->RGB: already RGB) subtracts and multiplies.
mm = ramp.astype(np.float32)
mean = np.float64(np.array([123.675, 116.28, 103.53], dtype=np.float32).reshape(1, -1))
stdinv = 1 / np.float64(np.array([58.395, 57.12, 57.375], dtype=np.float32).reshape(1, -1))
cv2.subtract(mm, mean, mm)
cv2.multiply(mm, stdinv, mm)
manifest["normalize_mmcv"] = save_npy("normalize_mmcv.npy", mm.transpose(2, 0, 1))  # [3, 1, 256]


# ---------------------------------------------------------------------------------------------------------
# torchvision pipelines (InternVL-C/G zero-shot classification and retrieval, linear probing).
def classification_pixels(image, size):
    return np.array(T.Compose([T.Resize(size, interpolation=InterpolationMode.BICUBIC), T.CenterCrop(size)])(image))


def retrieval_pixels(image, size):
    return np.array(T.Resize((size, size), interpolation=InterpolationMode.BICUBIC)(image))


def normalized(pix):
    return tv(Image.fromarray(pix)).numpy()


pipelines = []
for name in inputs:
    im = Image.fromarray(pixels[name])
    for size in [32, 224]:
        if size == 224 and name not in ("big_513x1023", "strip_2000x40", "square_64x64"):
            continue
        for pipeline, fn in [("classification", classification_pixels), ("retrieval", retrieval_pixels)]:
            pix = fn(im, size)
            case = {"input": name, "pipeline": pipeline, "size": size,
                    "pixels": stored(pix, f"{pipeline}_{name}_{size}.npy", limit=32 * 32),
                    "tensor_sum": float(normalized(pix).astype(np.float64).sum())}
            if size == 32 and name == "wide_301x7":
                case["tensor"] = save_npy(f"{pipeline}_{name}_{size}_tensor.npy", normalized(pix))
            pipelines.append(case)
manifest["pipelines"] = pipelines

# CenterCrop offsets (Python's round: half to even) and zero padding of crops larger than the image.
crop_cases = []
for (w, h), (cw, ch) in [((10, 10), (3, 3)), ((10, 10), (5, 5)), ((11, 9), (4, 6)), ((13, 13), (4, 4)),
                         ((7, 4), (10, 3)), ((4, 7), (4, 12)), ((5, 5), (8, 9))]:
    src = synth(w, h, 5)
    crop_cases.append({"width": w, "height": h, "crop_width": cw, "crop_height": ch,
                       "input": save_npy(f"crop_in_{w}x{h}.npy", src),
                       "expected": save_npy(f"crop_{w}x{h}_{cw}x{ch}.npy",
                                            np.array(T.CenterCrop((ch, cw))(Image.fromarray(src))))})
manifest["center_crop"] = crop_cases

# Resize(s) output sizes: int(s * long / short).
resize_sizes = []
rng = np.random.default_rng(2024)
for _ in range(300):
    w, h = (int(v) for v in np.exp(rng.uniform(0, math.log(5000), 2)).round() + 1)
    s = int(rng.choice([224, 448, 32, 7]))
    nw, nh = T.Resize(s)(Image.new("L", (w, h))).size
    resize_sizes.append([w, h, s, nw, nh])
manifest["resize_shorter_side"] = resize_sizes


# ---------------------------------------------------------------------------------------------------------
# Dynamic tiling (InternVL 1.5+), written from InternVL's dynamic_preprocess / find_closest_aspect_ratio.
def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float("inf")
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        ratio_diff = abs(aspect_ratio - ratio[0] / ratio[1])
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff and area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
            best_ratio = ratio
    return best_ratio


def target_ratios(min_num, max_num):
    ratios = set((i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                 if min_num <= i * j <= max_num)
    return sorted(ratios, key=lambda r: r[0] * r[1])


def dynamic_preprocess(image, min_num, max_num, image_size, use_thumbnail):
    w, h = image.size
    i, j = find_closest_aspect_ratio(w / h, target_ratios(min_num, max_num), w, h, image_size)
    resized = image.resize((image_size * i, image_size * j))
    tiles = [resized.crop(((k % i) * image_size, (k // i) * image_size,
                           (k % i + 1) * image_size, (k // i + 1) * image_size)) for k in range(i * j)]
    if use_thumbnail and len(tiles) != 1:
        tiles.append(image.resize((image_size, image_size)))
    return (i, j), tiles


tile_configs = [(1, 6, 448), (1, 12, 448), (2, 12, 448), (1, 12, 224)]  # (min_num, max_num, image_size)
sizes = set()
rng = np.random.default_rng(7)
for _ in range(400):  # log-uniform aspect ratios from 1:80 to 80:1 and areas from 2e3 to 2e7
    aspect = math.exp(rng.uniform(-math.log(80), math.log(80)))
    area = math.exp(rng.uniform(math.log(2e3), math.log(2e7)))
    sizes.add((max(1, round(math.sqrt(area * aspect))), max(1, round(math.sqrt(area / aspect)))))
for i in range(1, 13):  # exact ratios i:j scaled through the 0.5·S²·i·j area thresholds (the tie-break)
    for j in range(1, 13):
        if math.gcd(i, j) == 1 and i * j <= 12:
            for k in range(3, 2000 // max(i, j), 29):
                sizes.add((i * k, j * k))
sizes |= {(1, 300), (300, 1), (2000, 40), (40, 2000), (448, 448), (634, 634), (633, 633), (1, 1)}
sizes = sorted(sizes)
grids = np.zeros((len(sizes), len(tile_configs), 2), dtype=np.uint8)
for n, (w, h) in enumerate(sizes):
    for c, (min_num, max_num, s) in enumerate(tile_configs):
        grids[n, c] = find_closest_aspect_ratio(w / h, target_ratios(min_num, max_num), w, h, s)
        # The order among equal tile counts does not matter: reversing it changes no choice.
        reverse = sorted(target_ratios(min_num, max_num), key=lambda r: (r[0] * r[1], -r[0]))
        assert find_closest_aspect_ratio(w / h, reverse, w, h, s) == tuple(grids[n, c])
manifest["tile_grids"] = {"configs": [list(c) for c in tile_configs],
                          "sizes": save_npy("tile_sizes.npy", np.array(sizes, dtype=np.int32)),
                          "grids": save_npy("tile_grids.npy", grids)}

tiling = []
for name, max_num, s in [("big_513x1023", 6, 32), ("strip_2000x40", 6, 16), ("wide_301x7", 12, 16),
                         ("square_64x64", 12, 16), ("tall_1x300", 6, 16), ("small_37x23", 12, 16),
                         ("big_513x1023", 12, 448), ("strip_2000x40", 12, 448)]:
    grid, tiles = dynamic_preprocess(Image.fromarray(pixels[name]), 1, max_num, s, True)
    stack = np.stack([np.array(t) for t in tiles])
    tensor = torch.stack([tv(t) for t in tiles]).numpy()
    case = {"input": name, "max_tiles": max_num, "tile_size": s, "columns": grid[0], "rows": grid[1],
            "tiles": stored(stack, f"tiles_{name}_{max_num}_{s}.npy", limit=8 * 32 * 32),
            "tensor_sum": float(tensor.astype(np.float64).sum())}
    if name == "square_64x64":
        case["tensor"] = save_npy(f"tiles_{name}_{max_num}_{s}_tensor.npy", tensor)
    tiling.append(case)
manifest["tiling"] = tiling


# ---------------------------------------------------------------------------------------------------------
# Segmentation test pipeline: SETR_Resize + mmcv.imrescale, ResizeToMultiple(14), mmcv normalisation.
def setr_size(w, h, short=504):
    new_h, new_w = (short * h / w, short) if h > w else (short, short * w / h)  # SETR_Resize, setr_multi_scale
    scale = (new_h, new_w)
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))  # mmcv.rescale_size with a tuple scale
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def to_multiple(w, h, d=14):
    return int(np.ceil(w / d)) * d, int(np.ceil(h / d)) * d


seg_sizes = []
rng = np.random.default_rng(11)
ade_like = [(683, 512), (512, 683), (512, 512), (2000, 40), (40, 2000), (1, 300), (503, 1008), (1008, 1512)]
for w, h in ade_like + [tuple(int(v) for v in rng.integers(1, 3000, 2)) for _ in range(300)]:
    seg_sizes.append([w, h, *setr_size(w, h), *to_multiple(*setr_size(w, h))])
manifest["segmentation_sizes"] = seg_sizes

segmentation = []
for name in ["big_513x1023", "square_64x64", "small_37x23", "strip_2000x40", "wide_301x7"]:
    img = pixels[name]
    h, w = img.shape[:2]
    first = cv2.resize(img, setr_size(w, h), interpolation=cv2.INTER_LINEAR)
    size = to_multiple(first.shape[1], first.shape[0])
    second = first if size == (first.shape[1], first.shape[0]) else cv2.resize(first, size,
                                                                                interpolation=cv2.INTER_LINEAR)
    norm = second.astype(np.float32)
    cv2.subtract(norm, mean, norm)
    cv2.multiply(norm, stdinv, norm)
    segmentation.append({"input": name, "pixels": {"digest": digest(second)},
                         "tensor_sum": float(norm.astype(np.float64).sum())})
manifest["segmentation"] = segmentation

(out / "manifest.json").write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
print(f"wrote {len(list(out.iterdir()))} files, {total / 1024:.0f} KiB")
