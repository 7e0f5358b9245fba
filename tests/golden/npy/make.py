#!/usr/bin/env python3
"""Writes the .npy fixtures for tests/core/test_npy.cpp with numpy itself (the independent writer):
well-formed arrays of several dtypes and header versions, and broken files the reader must refuse.
Run from anywhere: python3 tests/golden/npy/make.py"""
import pathlib

import numpy as np

out = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(7)

np.save(out / "f32_2x3.npy", np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
np.save(out / "f64_4.npy", np.array([1.5, -2.25, 1e-3, 7.0]))
np.save(out / "f16_3.npy", np.array([0.5, -65504.0, 6e-8], dtype=np.float16))
np.save(out / "i64_5.npy", np.array([3, -1, 0, 9, 123456789012], dtype=np.int64))
np.save(out / "f32_scalar_shape_1x1x1.npy", np.array([[[42.0]]], dtype=np.float32))
np.save(out / "f32_scalar.npy", np.float32(2.5))
np.save(out / "f32_empty_0x1x1.npy", np.zeros((0, 1, 1), dtype=np.float32))
np.save(out / "f32_rank4.npy", rng.standard_normal((2, 3, 4, 5)).astype(np.float32))
with open(out / "f32_version2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.float32), version=(2, 0))
np.save(out / "bad_fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
np.save(out / "bad_dtype_complex.npy", np.ones(3, dtype=np.complex64))
good = (out / "f32_2x3.npy").read_bytes()
(out / "bad_truncated_data.npy").write_bytes(good[:-5])
(out / "bad_truncated_header.npy").write_bytes(good[:20])
(out / "bad_magic.npy").write_bytes(b"NOTNUMPY" + good[8:])
(out / "bad_empty.npy").write_bytes(b"")


def with_shape(shape, data=b""):
    """A version-1 header numpy's own writer produces for <f4 with `shape`, then `data`."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype=np.float32))
    header["shape"] = shape
    with open(out / "tmp_header.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    raw = (out / "tmp_header.npy").read_bytes()
    (out / "tmp_header.npy").unlink()
    return raw + data


# Headers that claim more than the file holds: a product of dimensions past 2^63 (also refused when
# another extent is 0 and the array is empty: no tensor's strides could address it), and one that fits
# in 64 bits but is far beyond the few bytes that follow.
(out / "bad_shape_overflow.npy").write_bytes(with_shape((2**56, 3, 56, 56)))
(out / "bad_shape_empty_overflow.npy").write_bytes(with_shape((0, 2**40, 2**40)))
(out / "bad_shape_huge.npy").write_bytes(with_shape((3 * 10**15,), bytes(16)))
# A scalar (shape ()) needs one element, and this file ends with its header.
(out / "bad_scalar_no_data.npy").write_bytes(with_shape(()))
