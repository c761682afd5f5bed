"""Binary COPY, built column-wise: the one encoder for bulk writes (the case history loader,
patrol fixes). PostgreSQL's binary COPY row is an int16 field count, then per field an int32
length (-1: NULL) and the payload. Each field is built as whole columns (NumPy / Arrow), then
Arrow joins the columns row by row in C++ (``binary_join_element_wise``), whose output buffer
is exactly the COPY rows back to back: no Python per row.

A stream is ``COPY_SIGNATURE``, rows (``encode_rows``, chunk by chunk), ``COPY_TRAILER``. Rows
whose fields are all fixed-width and never NULL take a faster path that writes the whole stream
at once, ``fixed_width_stream`` (one NumPy structured array).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from citygrid.worktable import UTC_OFFSET

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in Unix microseconds
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
_EWKB_POINT_4326 = np.frombuffer(bytes.fromhex("0101000020E6100000"), dtype=np.uint8)


def _binary(n: int, offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets.astype(np.int64)),
                                                        pa.py_buffer(np.ascontiguousarray(data))])


def fixed_field(payload: np.ndarray, null: np.ndarray | None = None) -> list[pa.Array]:
    """Header + payload of a fixed-width field: ``payload`` is (n, width) bytes."""
    n, w = payload.shape
    block = np.empty((n, 4 + w), dtype=np.uint8)
    block[:, :4] = np.frombuffer(np.array([w], dtype=">i4").tobytes(), np.uint8)
    block[:, 4:] = payload
    if null is None or not null.any():
        return [_binary(n, np.arange(0, (4 + w) * (n + 1), 4 + w), block.reshape(-1))]
    block[null, :4] = 0xFF  # -1: NULL, and no payload
    keep = np.ones((n, 4 + w), dtype=bool)
    keep[null, 4:] = False
    size = np.where(null, 4, 4 + w)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum(size)
    return [_binary(n, offsets, block[keep])]


def fixed(values, dtype: str, null: np.ndarray | None = None) -> list[pa.Array]:
    """A fixed-width field of ``values`` cast to the NumPy ``dtype`` (big-endian, e.g. ``">i8"``);
    ``null`` marks the NULL rows."""
    arr = np.ascontiguousarray(np.asarray(values).astype(dtype))
    return fixed_field(arr.view(np.uint8).reshape(len(arr), -1), null)


def null_field(n: int) -> list[pa.Array]:
    """A field that is NULL in all ``n`` rows."""
    return [_binary(n, np.arange(0, 4 * (n + 1), 4), np.full(4 * n, 0xFF, np.uint8))]


def _dictionary_field(arr: pa.DictionaryArray, prefix: bytes = b"") -> list[pa.Array]:
    """A text field from dictionary-encoded strings: each distinct value's header + payload
    is built once, then Arrow takes them row by row (one C++ call)."""
    values = arr.dictionary.to_pylist()
    entries = [None if v is None else len(prefix + v.encode()).to_bytes(4, "big") + prefix + v.encode()
               for v in values]
    entries.append(b"\xff\xff\xff\xff")  # NULL
    indices = pc.fill_null(arr.indices.cast(pa.int32()), len(values))
    table = pa.array([e if e is not None else entries[-1] for e in entries], type=pa.large_binary())
    return [table.take(indices)]


def text_field(values, prefix: bytes = b"") -> list[pa.Array]:
    """Header + UTF-8 payload of a text field (None = NULL); ``prefix`` goes before every
    value (jsonb's version byte)."""
    if isinstance(values, pa.DictionaryArray):
        return _dictionary_field(values, prefix)
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else \
        pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    length = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    null = np.isnan(length) if length.dtype.kind == "f" else np.zeros(n, dtype=bool)
    length = np.where(null, -1, length + len(prefix)).astype(">i4")
    header = _binary(n, np.arange(0, 4 * (n + 1), 4), length.view(np.uint8))
    payload = pc.fill_null(arr, "").cast(pa.large_binary())
    if prefix:
        pre = np.frombuffer(prefix, np.uint8)
        rows = np.where(null, 0, len(prefix))
        offsets = np.zeros(n + 1, np.int64)
        offsets[1:] = np.cumsum(rows)
        return [header, _binary(n, offsets, np.tile(pre, int((~null).sum()))), payload]
    return [header, payload]


def encode_rows(fields: list[list[pa.Array]], n: int) -> bytes:
    """Rows of binary COPY (no signature/trailer) from encoded fields (see above)."""
    count = _binary(n, np.arange(0, 2 * (n + 1), 2),
                    np.tile(np.frombuffer(np.array([len(fields)], dtype=">i2").tobytes(), np.uint8), n))
    parts = [count] + [a for f in fields for a in f]
    rows = pc.binary_join_element_wise(*parts, pa.scalar(b"", pa.large_binary()))
    _, offsets, data = rows.buffers()
    off = np.frombuffer(offsets, np.int64)[rows.offset:rows.offset + n + 1]
    return memoryview(data)[off[0]:off[-1]].tobytes()


def ewkb_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EWKB of SRID 4326 points, (n, 25) bytes (vectorised, no GEOS)."""
    n = len(lon)
    raw = np.empty((n, 25), dtype=np.uint8)
    raw[:, :9] = _EWKB_POINT_4326
    xy = np.empty((n, 2), dtype="<f8")
    xy[:, 0], xy[:, 1] = lon, lat
    raw[:, 9:] = xy.view(np.uint8).reshape(n, 16)
    return raw


def pg_timestamps(col) -> tuple[np.ndarray, np.ndarray]:
    """timestamptz payloads (int64 microseconds since 2000-01-01 UTC) and the NULL mask, from a
    datetime column (naive = Shanghai wall time) or int64 local seconds (negative = NULL)."""
    if isinstance(col, np.ndarray) and col.dtype.kind == "i":
        return (col - UTC_OFFSET) * 1_000_000 - PG_EPOCH_US, col < 0
    s = pd.to_datetime(col)
    if not isinstance(s, pd.Series):
        s = pd.Series(s)
    if s.dt.tz is None:  # naive: Shanghai wall time
        s = s.dt.tz_localize("Asia/Shanghai")
    us = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return us.astype(np.int64) - PG_EPOCH_US, np.isnat(us)


def timestamps(col) -> list[pa.Array]:
    """A timestamptz field (see ``pg_timestamps``)."""
    us, null = pg_timestamps(col)
    return fixed(us, ">i8", null if null.any() else None)


def fixed_width_stream(columns: list[tuple[np.ndarray, str]]) -> bytes:
    """A whole COPY stream of rows whose every field is fixed-width and never NULL,
    ``[(values, ">i8"), ...]``, written into one buffer through a NumPy structured view: no
    Arrow join and no concatenation (patrol fixes arrive by the million)."""
    n = len(columns[0][0])
    dtype = np.dtype([("count", ">i2")] + [f for i, (_, dt) in enumerate(columns)
                                           for f in ((f"l{i}", ">i4"), (f"v{i}", dt))])
    head, tail = len(COPY_SIGNATURE), len(COPY_TRAILER)
    buf = np.empty(head + n * dtype.itemsize + tail, dtype=np.uint8)
    buf[:head] = np.frombuffer(COPY_SIGNATURE, np.uint8)
    buf[head + n * dtype.itemsize:] = np.frombuffer(COPY_TRAILER, np.uint8)
    rows = buf[head:head + n * dtype.itemsize].view(dtype)
    rows["count"] = len(columns)
    for i, (values, dt) in enumerate(columns):
        rows[f"l{i}"] = np.dtype(dt).itemsize
        rows[f"v{i}"] = values
    return buf.tobytes()

