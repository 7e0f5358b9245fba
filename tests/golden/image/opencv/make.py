#!/usr/bin/env python3
"""Fixtures for io::Decoder::opencv in tests/io/test_image.cpp: how OpenCV reads an image, as MMSegmentation's
LoadImageFromFile reads it (mmcv.imfrombytes, flag 'color', cv2 backend: cv2.imdecode(bytes, cv2.IMREAD_COLOR)).

1. EXIF orientation: images that say they are to be turned, turned by OpenCV, and the pixels as stored
(IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION, which are also Pillow's: the decoders agree bit for bit on these files).

Inputs: a small image of distinct pixels (7 wide, 4 high, so that a turn changes the shape) stored as JPEG
with each orientation 1..8 in an APP1 "Exif" segment (little-endian TIFF, as Pillow writes it), and as variants:
big-endian TIFF with the orientation after another entry, an XMP APP1 segment before the Exif one, an
out-of-range value (9), an IFD cut short after the orientation entry, a first Exif segment without the orientation
and a second with it, stray bytes before a segment, a byte order mark that is neither II nor MM, a PNG with
an eXIf chunk, a PNG whose first eXIf chunk libpng discards (it starts "Exif") before a valid one, and
string and rational entries before or after the orientation whose data lies inside, at the end of or outside
the EXIF. Every
expected image is stored whole, RGB, as .npy; manifest.json lists the cases and the library versions.

2. The decode fixtures of tests/golden/image (its manifest's "decode" list: every PNG colour type, JPEG
subsamplings, progressive, grey and CMYK JPEG, PNM with several maxvals, and the 16-bit grey PNG), as OpenCV
decodes them, in RGB order: decode/<file>.npy, listed under "decode" here with whether Pillow's pixels differ.

Needs: numpy, pillow, opencv-python-headless (< 5, as mmcv used).
Run: python3 tests/golden/image/opencv/make.py   (rewrites tests/golden/image/opencv/*)"""
import io
import json
import pathlib
import struct
import zlib

import cv2
import numpy as np
import PIL
from PIL import Image

out = pathlib.Path(__file__).resolve().parent
for old in list(out.glob("*.npy")) + list(out.glob("*.jpg")) + list(out.glob("*.png")) + list(out.glob("decode/*")):
    old.unlink()

rows, cols = 4, 7
y, x = np.mgrid[0:rows, 0:cols]
pixels = np.stack([x * 36, y * 80, (x + y * cols) * 9], axis=-1).astype(np.uint8)


ASCII, RATIONAL = 2, 5


def tiff(entries, order="<"):
    """A TIFF structure of one IFD: entries = [(tag, type, count, value)]; a SHORT value (type 3) is stored in
    place, an ASCII or RATIONAL one is a 32-bit offset into the structure, pointing wherever the case needs."""
    ifd = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if kind in (ASCII, RATIONAL):
            ifd += struct.pack(order + "HHII", tag, kind, count, value)
        else:
            ifd += struct.pack(order + "HHIHH", tag, kind, count, value, 0)
    return (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 8) + ifd + struct.pack(order + "I", 0)


def jpeg_with_app1(segments):
    """A baseline JPEG of `pixels` (Pillow, quality 95) with APP1 segments inserted after APP0."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    assert data[2:4] == b"\xff\xe0"
    app0_end = 4 + struct.unpack(">H", data[4:6])[0]
    app1 = b"".join(b"\xff\xe1" + struct.pack(">H", len(s) + 2) + s for s in segments)
    return data[:app0_end] + app1 + data[app0_end:]


ORIENTATION = (0x0112, 3, 1)
cases = {f"orientation{o}.jpg": jpeg_with_app1([b"Exif\0\0" + tiff([ORIENTATION + (o,)])]) for o in range(1, 9)}
cases["big_endian_second_entry.jpg"] = jpeg_with_app1(
    [b"Exif\0\0" + tiff([(0x0100, 3, 1, cols), ORIENTATION + (6,)], order=">")])
cases["xmp_before_exif.jpg"] = jpeg_with_app1(
    [b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", b"Exif\0\0" + tiff([ORIENTATION + (8,)])])
cases["out_of_range.jpg"] = jpeg_with_app1([b"Exif\0\0" + tiff([ORIENTATION + (9,)])])
cut = tiff([ORIENTATION + (3,), (0x0100, 3, 1, cols), (0x0101, 3, 1, rows)])
cases["ifd_cut_short.jpg"] = jpeg_with_app1([b"Exif\0\0" + cut[:8 + 2 + 12 + 5]])
cases["second_exif_segment.jpg"] = jpeg_with_app1(
    [b"Exif\0\0" + tiff([(0x0100, 3, 1, cols)]), b"Exif\0\0" + tiff([ORIENTATION + (6,)])])
junk = jpeg_with_app1([b"Exif\0\0" + tiff([ORIENTATION + (8,)])])
app1 = junk.index(b"\xff\xe1")
cases["stray_bytes_before_segment.jpg"] = junk[:app1] + b"\0\0" + junk[app1:]
cases["unusual_byte_order.jpg"] = jpeg_with_app1([b"Exif\0\0IM" + tiff([ORIENTATION + (6,)], order=">")[2:]])
# Entries OpenCV reads from elsewhere in the EXIF (strings longer than 4 bytes, rationals) stop its reading of
# IFD0 where that data lies outside the EXIF: an orientation after them is not seen, one before them is. The
# structure here is 38 bytes (header 8, count 2, two entries 24, next-IFD offset 4).
MAKE, XRESOLUTION, WHITE_POINT, PRIMARY_CHROMATICITIES, EXIF_IFD = 0x010F, 0x011A, 0x013E, 0x013F, 0x8769
for name, entry, first in [("string_out_of_bounds", (MAKE, ASCII, 100, 8), False),
                           ("string_in_bounds", (MAKE, ASCII, 30, 8), False),
                           ("rational_half_out_of_bounds", (XRESOLUTION, RATIONAL, 1, 34), False),
                           ("rationals_end_at_the_end", (WHITE_POINT, RATIONAL, 2, 22), False),
                           ("rationals_out_of_bounds", (PRIMARY_CHROMATICITIES, RATIONAL, 6, 8), False),
                           ("string_out_of_bounds_after", (MAKE, ASCII, 100, 8), True),
                           ("other_tag_out_of_bounds", (EXIF_IFD, ASCII, 100, 4096), False)]:
    entries = [ORIENTATION + (6,), entry] if first else [entry, ORIENTATION + (6,)]
    cases[f"{name}.jpg"] = jpeg_with_app1([b"Exif\0\0" + tiff(entries)])
    assert len(tiff(entries)) == 38
png = io.BytesIO()
Image.fromarray(pixels).save(png, "PNG", exif=b"Exif\0\0" + tiff([ORIENTATION + (5,)]))
cases["exif_chunk.png"] = png.getvalue()
assert b"eXIf" in cases["exif_chunk.png"]


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


plain = io.BytesIO()
Image.fromarray(pixels).save(plain, "PNG")
idat = plain.getvalue().index(b"IDAT") - 4
cases["second_exif_chunk.png"] = (plain.getvalue()[:idat] + png_chunk(b"eXIf", b"Exif\0\0" + tiff([ORIENTATION + (3,)]))
                                  + png_chunk(b"eXIf", tiff([ORIENTATION + (7,)])) + plain.getvalue()[idat:])

manifest = {"versions": {"opencv": cv2.__version__, "pillow": PIL.__version__, "numpy": np.__version__}, "cases": []}
for name, data in cases.items():
    (out / name).write_bytes(data)
    buffer = np.frombuffer(data, np.uint8)
    turned = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]
    stored = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)[..., ::-1]
    assert np.array_equal(stored, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    stem = name.replace(".", "_")
    np.save(out / f"{stem}_turned.npy", np.ascontiguousarray(turned))
    np.save(out / f"{stem}_stored.npy", np.ascontiguousarray(stored))
    manifest["cases"].append({"file": name, "turned": f"{stem}_turned.npy", "stored": f"{stem}_stored.npy",
                              "turned_shape": list(turned.shape)})

(out / "decode").mkdir(exist_ok=True)
manifest["decode"] = []
shared = json.loads((out.parent / "manifest.json").read_text())
for file in [entry["file"] for entry in shared["decode"]] + [shared["grey16"]["file"]]:
    decoded = cv2.imdecode(np.fromfile(out.parent / file, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    pillow = np.asarray(Image.open(out.parent / file).convert("RGB"))
    name = "decode/" + file.replace(".", "_") + ".npy"
    np.save(out / name, np.ascontiguousarray(decoded))
    manifest["decode"].append({"file": file, "opencv": name,
                               "differs_from_pillow": bool(not np.array_equal(decoded, pillow))})
(out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
for c in manifest["cases"]:
    print(c["file"], c["turned_shape"])
for d in manifest["decode"]:
    print(d["file"], "differs from Pillow" if d["differs_from_pillow"] else "")
