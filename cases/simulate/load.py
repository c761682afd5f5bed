"""Fast writes: ``bulk_load_cases(engine, frame) -> int`` puts cases (a DataFrame from
``simulate_cases``, or a ``CaseStream`` from ``stream_cases``) into ``cases`` with one COPY.

1. Locations by the foundation's rule (``gis.location.Locator.assign``), in process: in
   forked worker processes for big loads (GEOS holds the GIL), chunk by chunk.
2. Each chunk becomes binary COPY rows built column-wise with NumPy and Arrow (no Python
   per row): timestamps as int64 microseconds since 2000 UTC, the point as EWKB
   (``0101000020E6100000`` + x + y), strings via Arrow; Arrow's C++ joins the fields row by
   row (``binary_join_element_wise``).
3. One ``COPY cases (...) FROM STDIN (FORMAT binary)`` in one transaction, through psycopg's
   queued writer: a background thread feeds the server while the next chunk is made,
   located and encoded, so the database and Python work at the same time.
4. A history load into a (nearly) empty table by the table owner drops the secondary
   indexes inside the transaction and rebuilds them after the COPY from their own
   definitions (building an index once is ~2x cheaper than maintaining it row by row).

``id`` and the public ``service_request_id`` are left to the database (identity / generated
column). Idempotency: ``external_id`` (with ``source``) is the natural key; ``on_conflict=
"skip"`` loads through a temporary table and skips rows already there, ``"error"`` (default,
fastest) lets the unique index refuse a repeated load whole (``Conflict``).

The application role may COPY: it has INSERT on ``cases`` (migration 0002); only the index
rebuild needs the owner (``get_engine(settings, role="owner")``).
"""
from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Engine

from citygrid.db import bulk
from citygrid.db.copy import (COPY_SIGNATURE, COPY_TRAILER, encode_rows, ewkb_points, fixed, fixed_field,
                              null_field, text_field, timestamps)
from citygrid.errors import Conflict, Forbidden, InvalidInput
from citygrid.vocab import CASE_STATES, CATEGORY_SLUGS, SOURCES

LOCATION_COLUMNS = ("grid_code", "community_code", "subdistrict_code", "county_code")
TIME_COLUMNS = ("reported_at", "filed_at", "dispatched_at", "due_at", "handled_at", "closed_at",
                "evaluated_at", "updated_at")
TEXT_COLUMNS = ("category", "source", "status", "description", "address_string", "device_id",
                "external_id")
# The COPY column list, in order. Left to their defaults: id and the generated public id,
# orig_lon/orig_lat (only for reports given in another coordinate system), media_urls, and
# attributes unless asked for ('{}': parsing JSONB costs the server more than every other
# column together, ~40% of the COPY).
COPY_COLUMNS = (TEXT_COLUMNS + ("geom",) + LOCATION_COLUMNS + ("post_code", "outside_grid")
                + TIME_COLUMNS + ("rework_count",))


CHUNK_ROWS = 25_000


def copy_columns(attributes: bool = False, departments: bool = False) -> tuple[str, ...]:
    """The COPY column list: the fixed ones, then attributes and department_id when asked for."""
    return COPY_COLUMNS + (("attributes",) if attributes else ()) + (("department_id",) if departments else ())


def _department_ids(source, departments: dict[str, int]) -> list[pa.Array]:
    """department_id of each case: the squad serving its subdistrict (``departments``), for
    cases that were dispatched; NULL otherwise."""
    sub = source["subdistrict_code"]
    if isinstance(sub, pa.DictionaryArray):
        lookup = np.array([departments.get(v, -1) for v in sub.dictionary.to_pylist()] or [-1], dtype=np.int64)
        idx = sub.indices.to_numpy(zero_copy_only=False)
        null_idx = np.asarray(sub.indices.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        ids = np.where(null_idx, -1, lookup[np.where(null_idx, 0, np.nan_to_num(idx)).astype(np.int64)])
    else:
        ids = pd.Series(np.asarray(sub, dtype=object)).map(departments).fillna(-1).to_numpy(dtype=np.int64)
    dispatched = source["dispatched_at"] if "dispatched_at" in source else None
    if dispatched is None:
        not_dispatched = np.ones(len(ids), dtype=bool)
    elif isinstance(dispatched, np.ndarray) and dispatched.dtype.kind == "i":
        not_dispatched = dispatched < 0
    else:
        not_dispatched = np.asarray(pd.isna(pd.Series(dispatched)), dtype=bool)
    null = (ids < 0) | not_dispatched
    return fixed(np.where(null, 0, ids), ">i4", null)


def _attributes(source) -> np.ndarray:
    """JSONB attributes of simulated cases: which driver made them, which planted hotspot."""
    n = len(source["lon"])
    if "driver" not in source:
        return np.full(n, "{}", dtype=object)

    def objects(values):
        if isinstance(values, pa.DictionaryArray):
            values = values.cast(pa.large_string())
        arr = pa.array(values, from_pandas=True) if not isinstance(values, pa.Array) else values
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)

    driver = objects(source["driver"])
    hot = objects(source["hotspot"]) if "hotspot" in source else np.full(n, None, dtype=object)
    hot = np.where(pd.isna(hot), None, hot)
    key = pd.Series(list(zip(driver, hot)))
    codes, uniques = pd.factorize(key)
    texts = np.array(['{"simulated": true, "driver": "%s"%s}' % (d, f', "hotspot": "{h}"' if h else "")
                      for d, h in uniques], dtype=object)
    return texts[codes]


def copy_chunk(source, attributes: bool = False, departments: dict[str, int] | None = None) -> bytes:
    """One chunk of the binary COPY stream (rows only), columns as ``copy_columns(attributes,
    bool(departments))``.

    ``source``: a DataFrame of cases, or plain columns (``Draw.columns`` plus the location
    columns): Arrow/NumPy arrays, times as int64 local seconds. With ``attributes``, JSONB
    {"simulated": true, "driver": ..., "hotspot": ...}."""
    n = len(source["lon"])
    lon = np.asarray(source["lon"], dtype=float)
    lat = np.asarray(source["lat"], dtype=float)
    cols = {}
    for c in TEXT_COLUMNS + LOCATION_COLUMNS + ("post_code",):
        cols[c] = text_field(source[c]) if c in source else null_field(n)
    if attributes:
        cols["attributes"] = text_field(_attributes(source), prefix=b"\x01")
    cols["geom"] = fixed_field(ewkb_points(lon, lat))
    outside = np.asarray(source["outside_grid"], dtype=bool) if "outside_grid" in source \
        else pd.isna(np.asarray(source["grid_code"], dtype=object))
    cols["outside_grid"] = fixed(outside, "u1")
    for c in TIME_COLUMNS:
        if c in source:
            cols[c] = timestamps(source[c])
        elif c == "updated_at":
            cols[c] = cols["reported_at"]
        else:
            cols[c] = null_field(n)
    rework = np.asarray(source["rework_count"], dtype=np.int64) if "rework_count" in source else np.zeros(n, np.int64)
    cols["rework_count"] = fixed(rework, ">i4")
    if departments:
        cols["department_id"] = _department_ids(source, departments)
    return encode_rows([cols[c] for c in copy_columns(attributes, bool(departments))], n)


def _location_columns(codes: pd.DataFrame, posts: dict | None) -> dict:
    """Location columns for the COPY from ``Locator.assign`` output (plus post, outside)."""
    community = codes["community_code"].to_numpy(dtype=object)
    post = pd.Series(community).map(posts or {})
    out = {c: codes[c].to_numpy(dtype=object) for c in LOCATION_COLUMNS}
    out["post_code"] = post.astype(object).where(post.notna(), None).to_numpy()
    out["outside_grid"] = pd.isna(out["grid_code"])
    return out


def _check(frame: pd.DataFrame) -> None:
    problems = []
    for col, allowed in (("category", CATEGORY_SLUGS), ("source", SOURCES), ("status", CASE_STATES)):
        if col not in frame:
            if col == "status":
                continue
            problems.append({"where": col, "problem": "column missing"})
            continue
        bad = ~frame[col].isin(allowed)
        if bad.any():
            problems.append({"where": col, "problem": f"{int(bad.sum())} rows not in {', '.join(allowed)}",
                             "example": str(frame.loc[bad, col].iloc[0])})
    for col in ("lon", "lat", "reported_at"):
        if col not in frame:
            problems.append({"where": col, "problem": "column missing"})
        elif frame[col].isna().any():
            problems.append({"where": col, "problem": f"{int(frame[col].isna().sum())} rows without a value"})
    if problems:
        raise InvalidInput("cases frame cannot be loaded", problems)


REBUILD_MIN_ROWS = 50_000
INDEX_BUILD_WORKERS = 2  # parallel workers per btree build (the leader works too): 2 cores


def _rebuild_worth_it(cur, n_new: int) -> bool:
    """Owner of ``cases``, a big load, and the table no bigger than the load: building the
    secondary indexes once afterwards beats maintaining them row by row."""
    if n_new < REBUILD_MIN_ROWS or not bulk.owns(cur, "cases"):
        return False
    cur.execute("SELECT c.reltuples FROM pg_class c WHERE c.oid = 'cases'::regclass")
    estimate = cur.fetchone()[0]
    if estimate < 0:  # never analysed: count (cheap while small)
        cur.execute("SELECT count(*) FROM (SELECT 1 FROM cases LIMIT %s) t", (n_new + 1,))
        estimate = cur.fetchone()[0]
    return estimate <= n_new


# --- locating in worker processes -------------------------------------------------------------
# Locator.assign holds the GIL (GEOS predicates per point), so chunks are located in forked
# worker processes that inherit the locator, while this process encodes and the server ingests.
_WORKER_LOCATOR = None


def _locate_in_worker(lon: np.ndarray, lat: np.ndarray):
    codes = _WORKER_LOCATOR.assign(lon, lat)
    packed = {c: pd.factorize(codes[c].astype(object), use_na_sentinel=True) for c in LOCATION_COLUMNS}
    return {c: (k.astype(np.int32), np.asarray(u, dtype=object)) for c, (k, u) in packed.items()}, \
        codes["in_service_area"].to_numpy()


def _unpack(packed, posts: dict | None) -> dict:
    """Location columns from a worker's answer, as dictionary-encoded Arrow strings (the
    post of a community mapped once per distinct community)."""
    cols, in_area = packed
    out = {}
    for c, (k, u) in cols.items():
        indices = pa.array(np.where(k < 0, 0, k), type=pa.int32(), mask=k < 0)
        out[c] = pa.DictionaryArray.from_arrays(indices, pa.array(list(u) or [""], type=pa.large_string()))
        if c == "grid_code":
            out["outside_grid"] = k < 0
    k, u = cols["community_code"]
    post_of = [(posts or {}).get(v) for v in u]
    post_k = np.where(k < 0, -1, np.array([-1 if p is None else i for i, p in enumerate(post_of)] or [-1])[np.where(k < 0, 0, k)])
    out["post_code"] = pa.DictionaryArray.from_arrays(
        pa.array(np.where(post_k < 0, 0, post_k), type=pa.int32(), mask=post_k < 0),
        pa.array([p or "" for p in post_of] or [""], type=pa.large_string()))
    out["in_service_area"] = in_area
    return out


def _locate_futures(lon: np.ndarray, lat: np.ndarray, chunk_rows: int, locator, workers: int):
    """Start locating every chunk in ``workers`` forked processes; (pool, futures)."""
    global _WORKER_LOCATOR
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORKER_LOCATOR = locator
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    futures = [pool.submit(_locate_in_worker, lon[i:i + chunk_rows], lat[i:i + chunk_rows])
               for i in range(0, len(lon), chunk_rows)]
    return pool, futures


def _default_workers(n: int, chunk_rows: int) -> int:
    """Fork workers only for big loads, on POSIX, from a single-threaded process (forking a
    process with other threads, e.g. a web server's, could copy a held lock)."""
    import os
    import threading

    if n < 4 * chunk_rows or os.name != "posix" or threading.active_count() > 1:
        return 0
    return min(2, os.cpu_count() or 1)


def bulk_load_cases(engine: Engine, frame, *, locator=None, posts: dict | None = None,
                    chunk_rows: int = CHUNK_ROWS, on_conflict: str = "error",
                    indexes: str = "auto", workers: int | None = None, attributes: bool = False,
                    departments: dict[str, int] | None = None, timings: dict | None = None) -> int:
    """COPY ``frame`` into ``cases`` in one transaction; return the number of rows written.

    ``frame``: a DataFrame of cases (columns as ``simulate_cases`` makes them), or a
    ``CaseStream`` (``stream_cases``), whose chunks are made while the previous one is
    being written.

    Rows without the location columns are located first with ``locator`` (default: built
    from the database's layers), the foundation's rule, chunk by chunk while the server
    ingests the previous chunk. ``on_conflict``: "error" (a repeated external_id fails the
    whole load) or "skip" (rows already loaded are skipped and not counted).

    ``indexes``: "keep" maintains every index row by row; "rebuild" drops the secondary
    indexes inside the transaction and recreates them from their own definitions after the
    COPY (needs the table owner: ``get_engine(settings, role="owner")``; the table is locked
    for the few seconds of the load); "auto" rebuilds when the engine's role owns ``cases``,
    the load has at least 50,000 rows and the table is no bigger than the load (a history
    load into a new database), else keeps.

    ``attributes``: also write the JSONB attributes (simulation driver, planted hotspot);
    off by default, it costs the server ~40% more.

    ``departments``: {subdistrict code: department id} (``citygrid.org.squads_by_subdistrict``):
    dispatched cases get the squad of their subdistrict as responsible department.

    ``workers``: processes that locate chunks in parallel (default: 2 for 100,000+ rows on a
    POSIX machine from a single-threaded process, e.g. the CLI; else 0 = in this process).
    """
    if on_conflict not in ("error", "skip"):
        raise ValueError("on_conflict must be 'error' or 'skip'")
    if indexes not in ("auto", "keep", "rebuild"):
        raise ValueError("indexes must be 'auto', 'keep' or 'rebuild'")
    streamed = not isinstance(frame, pd.DataFrame)
    if streamed:
        chunk_rows = frame.chunk_rows
        need_location = True  # a stream carries coordinates, never codes
    else:
        _check(frame)
        need_location = not all(c in frame for c in LOCATION_COLUMNS)
    if len(frame) == 0:
        return 0
    if need_location and locator is None:
        from gis.location import Locator

        locator = Locator.from_db(engine)
    if need_location and posts is None:
        import sqlalchemy as sa

        with engine.connect() as conn:
            posts = dict(conn.execute(sa.text("SELECT community_code, code FROM posts ORDER BY code")).all())
    clock = timings if timings is not None else {}
    t0 = time.perf_counter()
    workers = _default_workers(len(frame), chunk_rows) if workers is None else workers
    pool, futures = (None, None)
    if need_location and workers > 0:
        # fork before any connection or writer thread of this load exists
        pool, futures = _locate_futures(frame.lon, frame.lat, chunk_rows, locator, workers) if streamed \
            else _locate_futures(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float),
                                 chunk_rows, locator, workers)
    chunks = frame.column_chunks() if streamed else \
        (frame.iloc[i:i + chunk_rows] for i in range(0, len(frame), chunk_rows))
    try:
        return _load(engine, chunks, len(frame), locator, posts, need_location, on_conflict, indexes,
                     clock, t0, futures, attributes, departments or None)
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"cases already loaded (nothing written): {exc.diag.message_detail or exc}; "
                       "load with on_conflict='skip' to add only the new ones") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _load(engine, chunks, n_rows, locator, posts, need_location, on_conflict, indexes, clock, t0,
          futures=None, attributes=False, departments=None) -> int:
    columns = ", ".join(copy_columns(attributes, bool(departments)))
    target = "cases"
    with engine.begin() as conn:
        dbapi = conn.connection.driver_connection
        with dbapi.cursor() as cur:
            # (a skipping load needs the unique index for ON CONFLICT: it always keeps them)
            rebuild = on_conflict == "error" and (
                indexes == "rebuild" or (indexes == "auto" and _rebuild_worth_it(cur, n_rows)))
            dropped = bulk.Dropped("cases")
            if rebuild and indexes == "rebuild" and not bulk.owns(cur, "cases"):
                raise Forbidden("rebuilding the indexes of cases needs the table owner: load with "
                                "get_engine(settings, role='owner') or indexes='keep'")
            if rebuild:
                # index builds with a parallel worker (session-level, user settable)
                cur.execute(f"SET LOCAL max_parallel_maintenance_workers = {int(INDEX_BUILD_WORKERS)}")
                dropped = bulk.drop_secondary(cur, "cases")
            if on_conflict == "skip":
                target = "_cases_load"
                cur.execute(f"CREATE TEMP TABLE {target} ON COMMIT DROP AS "
                            f"SELECT {columns} FROM cases WITH NO DATA")
            with cur.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT binary)",
                          writer=QueuedLibpqWriter(cur)) as copy:
                copy.write(COPY_SIGNATURE)
                chunks = iter(chunks)
                for k in itertools.count():
                    t = time.perf_counter()
                    chunk = next(chunks, None)  # a stream makes its next chunk here
                    if chunk is None:
                        break
                    clock["make_chunks"] = clock.get("make_chunks", 0.0) + time.perf_counter() - t
                    if need_location:
                        t = time.perf_counter()
                        if futures:
                            located = _unpack(futures[k].result(), posts)
                        else:
                            located = _location_columns(locator.assign(
                                np.asarray(chunk["lon"], dtype=float), np.asarray(chunk["lat"], dtype=float)), posts)
                        columns_of = dict(chunk.items()) if isinstance(chunk, pd.DataFrame) else chunk
                        chunk = {**columns_of, **located}
                        clock["locate"] = clock.get("locate", 0.0) + time.perf_counter() - t
                    t = time.perf_counter()
                    data = copy_chunk(chunk, attributes, departments)
                    clock["encode"] = clock.get("encode", 0.0) + time.perf_counter() - t
                    copy.write(data)
                copy.write(COPY_TRAILER)
                t = time.perf_counter()
            clock["copy_tail"] = time.perf_counter() - t
            written = cur.rowcount
            if on_conflict == "skip":
                cur.execute(f"INSERT INTO cases ({columns}) SELECT {columns} FROM {target} "
                            "ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING")
                written = cur.rowcount
            t = time.perf_counter()
            bulk.rebuild(cur, dropped)
            clock["index_rebuild"] = time.perf_counter() - t
            t = time.perf_counter()
        clock["rebuilt_indexes"] = len(dropped.indexes)
    clock["commit"] = time.perf_counter() - t
    clock["total"] = time.perf_counter() - t0
    return int(written)
