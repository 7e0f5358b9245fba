"""The digest that image fixtures store for large 8-bit results (tests/io/pixel_fixtures.hpp recomputes it):
shape, sum, and the sum of v[i] * (((i * 0x9E3779B1) mod 2^32) | 1) mod 2^64 over the C-order bytes."""
import numpy as np


def digest(array):
    flat = np.ascontiguousarray(array, dtype=np.uint8).ravel().astype(np.uint64)
    idx = np.arange(flat.size, dtype=np.uint64)
    weights = ((idx * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)) | np.uint64(1)
    with np.errstate(over="ignore"):
        weighted = int(np.sum(flat * weights, dtype=np.uint64))
    return {"shape": list(array.shape), "sum": int(flat.sum()), "weighted": str(weighted)}
