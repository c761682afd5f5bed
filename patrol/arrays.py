"""Array helpers the patrol modules share: fixes of many tracks laid end to end, one numpy
array per column, an integer track index per fix (sorted by track, then time)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def group_bounds(track, n_tracks):
    """Per track index 0 .. n_tracks - 1: its first fix and one past its last (fixes sorted
    by track)."""
    counts = np.bincount(track, minlength=n_tracks)
    end = np.cumsum(counts)
    return end - counts, end  # start (inclusive), end (exclusive) per track


def time_key(t, track) -> np.ndarray:
    """Per fix, its track index x 1e9 + seconds since its track's first fix: sorted (fixes
    sorted by track, then time), so a window in time is two searchsorted calls."""
    first = np.r_[True, track[1:] != track[:-1]] if len(t) else np.zeros(0, bool)
    return track * 1e9 + (t - t[np.flatnonzero(first)][np.cumsum(first) - 1])


def ranges(cnt):
    """For runs of ``cnt`` items each, laid end to end: per item, its run and its place in the
    run (0, 1, ...)."""
    cnt = np.asarray(cnt, np.int64)
    run = np.repeat(np.arange(len(cnt)), cnt)
    return run, np.arange(len(run)) - np.repeat(np.cumsum(cnt) - cnt, cnt)


def by_track_time(fixes: pd.DataFrame):
    """``fixes`` sorted by track_id, then t (stable; the frame itself when it already is, as
    files and the simulator give it: checking costs a sixth of sorting), each fix's track
    index into the sorted track ids, and those ids."""
    codes, ids = pd.factorize(fixes["track_id"], sort=True)
    t = fixes["t"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    dc = np.diff(codes)
    if not ((dc > 0) | ((dc == 0) & (np.diff(t) >= 0))).all():
        order = np.lexsort((t, codes))  # stable, like sort_values(kind="stable")
        fixes, codes = fixes.iloc[order], codes[order]
    return fixes, codes.astype(np.int64), ids


def epoch_s(t) -> np.ndarray:
    """Seconds since the epoch (float) of a datetime Series (tz-aware: its UTC instant)."""
    return t.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9


def signal_time_s(t, track, dropout_s):
    """Per fix, the seconds the phone had a signal: the clock ``t`` with every step of a
    track longer than ``dropout_s`` (a dropout) left out; increasing over all fixes."""
    step = np.diff(t, prepend=t[:1])
    return np.cumsum(np.where(np.r_[False, track[1:] == track[:-1]] & (step <= dropout_s), step, 0.0))


def window_bounds(key, half):
    """Per element of the sorted ``key``: the first element at or after key - ``half`` and
    one past the last at or before key + ``half`` (searchsorted left of key - half and right
    of key + half). One search: the first bound is the second's inverse (element i's window
    starts at the first j whose window reaches past i: the count of j whose window ends at or
    before i), counted in one pass; a second search took 4 x as long on a million fixes."""
    hi = np.searchsorted(key, key + half, side="right")
    return np.cumsum(np.bincount(hi, minlength=len(key) + 1))[:len(key)], hi


def windows(key, first, last, span_s):
    """Per run (its ``first`` and ``last`` fix): the fix ``span_s`` of ``key`` before the
    first and after the last (clipped to the track's first and last fix)."""
    n = len(key)
    i = np.clip(np.searchsorted(key, key[first] - span_s, side="left"), 0, n - 1)
    o = np.clip(np.searchsorted(key, key[last] + span_s, side="right") - 1, 0, n - 1)
    return i, o


def track_median(v, track, n_tracks: int, empty: float) -> np.ndarray:
    """Per track, the (lower) median of ``v`` (0 <= v < 2^20), ``empty`` for a track without
    values: one sort of (track, value) packed in a float (a lexsort took twice as long)."""
    top = 2.0 ** 20
    key = np.sort(track * top + v)
    cnt = np.bincount(track, minlength=n_tracks)
    start = np.cumsum(cnt) - cnt
    med = np.full(n_tracks, float(empty))
    has = cnt > 0
    med[has] = key[start[has] + (cnt[has] - 1) // 2] - np.flatnonzero(has) * top
    return med
