"""Float32 (and int64) .npy files read and compared with the standard library alone (the GPU machine that
runs the example checks has no numpy): read_npy(path) -> (shape, flat list), relative_l2(got, want)."""
import ast
import math
import pathlib
import struct


def read_npy(path):
    """A little-endian float32 (or int64) C-order .npy as (shape, flat list)."""
    data = pathlib.Path(path).read_bytes()
    assert data[:6] == b"\x93NUMPY", path
    header_len = struct.unpack("<H", data[8:10])[0] if data[6] == 1 else struct.unpack("<I", data[8:12])[0]
    start = 10 if data[6] == 1 else 12
    header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
    kind = {"<f4": "f", "<i8": "q"}.get(header["descr"])
    assert kind and not header["fortran_order"], (path, header)
    body = data[start + header_len:]
    return tuple(header["shape"]), list(struct.unpack(f"<{len(body) // struct.calcsize(kind)}{kind}", body))


def relative_l2(got, want):
    """‖got − want‖₂ / ‖want‖₂ over two flat lists."""
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(got, want)) / sum(b * b for b in want))
