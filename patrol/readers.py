"""Reading patrol tracks: GPX, GeoJSON, CSV -> one fixes DataFrame.

Columns out: track_id, device_id, t (datetime64[ns, UTC]), lon, lat (WGS84), accuracy_m
(NaN when the device does not report it), speed_mps (NaN when absent). Sorted by
(track_id, t).

Policy: never a silent wrong mileage, never an unhandled exception.

* A file that cannot be read at all (not XML/JSON, missing columns, unknown coord_sys, no
  usable fix left) raises :class:`citygrid.errors.InvalidInput` naming the file and, where
  known, the line, with every problem in ``problems``.
* Bad rows are dropped and counted by reason (``dropped``), the first problems listed with
  their line (CSV: file line number; GPX: track/segment/point; GeoJSON: feature/vertex):
  ``malformed`` (unparsable time or coordinates, no time, a time before the GPS epoch
  1980-01-06 or from 2200 on), ``swapped`` (lon/lat given as
  lat/lon: only inside Rizhao when read the other way round), ``outside_rizhao``,
  ``duplicate_time`` (same track and timestamp: the first is kept).
* Swapped lon/lat: a row that only fits Rizhao with its axes exchanged is DROPPED and counted,
  not swapped back, because a mixed file means something upstream is broken; a file whose
  every fix is swapped is REFUSED (InvalidInput) with the first lines named, so the sender
  fixes the export instead of us guessing.
* Times out of order are sorted (not dropped) and counted as ``reordered``.
* Times without an offset are read as UTC.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citygrid.errors import InvalidInput
from gis.crs import parse_coord_sys, screen_lonlat
from patrol.arrays import by_track_time

COLUMNS = ["track_id", "device_id", "t", "lon", "lat", "accuracy_m", "speed_mps"]
CSV_REQUIRED = ("device_id", "time", "lon", "lat")
MAX_PROBLEMS = 20
REASONS = ("malformed", "swapped", "outside_rizhao", "duplicate_time")


@dataclass
class TrackRead:
    """One file read: its usable fixes (WGS84, in time order per track), what was dropped and
    why (overall and per track), how many fixes came out of order, and the first problems with
    their line."""
    fixes: pd.DataFrame
    dropped: dict = field(default_factory=dict)  # reason -> count
    reordered: int = 0
    problems: list = field(default_factory=list)  # {file, line, problem}
    dropped_by_track: dict = field(default_factory=dict)  # track_id -> {reason: count}

    @property
    def dropped_total(self) -> int:
        """Fixes dropped from the file, for every reason."""
        return int(sum(self.dropped.values()))


def _refuse(path, problem, line=None, problems=None):
    where = f"{path}" + (f", line {line}" if line is not None else "")
    raise InvalidInput(f"{where}: {problem}",
                       problems or [{"file": str(path), "line": line, "problem": problem}])


# times a phone's fix can carry: from the GPS epoch to well past any patrol; outside them a
# time is malformed (a year 2263 in a GPX file overflowed the nanosecond clock the cleaning
# counts in, and its track came out of order: tests/test_parsers_fuzz.py)
TIME_MIN = pd.Timestamp("1980-01-06", tz="UTC")
TIME_MAX = pd.Timestamp("2200-01-01", tz="UTC")


def _parse_time(values) -> pd.Series:
    """ISO 8601 times as datetime64[ns, UTC]; unparsable ones and those outside TIME_MIN ..
    TIME_MAX are NaT (dropped as malformed)."""
    s = pd.Series(values, dtype=object)
    t = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")
    return t.where((t >= TIME_MIN) & (t < TIME_MAX)).astype("datetime64[ns, UTC]")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            raw = pd.read_csv(path, dtype=str, skipinitialspace=True, on_bad_lines="warn",
                              keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        _refuse(path, f"not a readable CSV: {exc}", line=1)
    # rows with too many fields: pandas skips them with a warning naming the line
    skipped = [int(n) for w in caught for n in re.findall(r"Skipping line (\d+)", str(w.message))]
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in CSV_REQUIRED if c not in raw.columns]
    if missing:
        _refuse(path, f"missing column(s) {', '.join(missing)}; expected header "
                      "device_id,time,lon,lat[,accuracy_m,speed_mps]", line=1)
    num = {c: pd.to_numeric(raw[c], errors="coerce") if c in raw else np.nan
           for c in ("lon", "lat", "accuracy_m", "speed_mps")}
    dev = raw["device_id"].astype(str).str.strip()
    bad = pd.DataFrame({"track_id": f"{path.stem}:?", "device_id": "?", "t": pd.NaT,
                        "lon": np.nan, "lat": np.nan, "accuracy_m": np.nan, "speed_mps": np.nan,
                        "line": [f"line {n} (too many fields)" for n in skipped]})
    good = pd.DataFrame({
        "track_id": f"{path.stem}:" + dev, "device_id": dev, "t": _parse_time(raw["time"]),
        "lon": num["lon"], "lat": num["lat"], "accuracy_m": num["accuracy_m"],
        "speed_mps": num["speed_mps"],
        "line": [f"line {i + 2}" for i in range(len(raw))]})
    return pd.concat([good, bad], ignore_index=True) if skipped else good


def _read_gpx(path: Path) -> pd.DataFrame:
    import gpxpy
    import gpxpy.gpx

    try:
        gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    except (gpxpy.gpx.GPXException, ValueError, UnicodeDecodeError, OSError) as exc:
        _refuse(path, f"not a readable GPX file: {exc}")
    rows = []
    many = len(gpx.tracks) > 1
    for ti, trk in enumerate(gpx.tracks):
        tid = f"{path.stem}#{ti + 1}" if many else path.stem
        for si, seg in enumerate(trk.segments):
            for pi, p in enumerate(seg.points):
                acc = p.horizontal_dilution * 5.0 if p.horizontal_dilution else np.nan
                rows.append((tid, trk.name or path.stem, p.time, p.longitude, p.latitude, acc,
                             p.speed if p.speed is not None else np.nan,
                             f"track {ti + 1} segment {si + 1} point {pi + 1}"))
    if not rows:
        _refuse(path, "GPX file holds no track points (routes and waypoints are not tracks)")
    df = pd.DataFrame(rows, columns=COLUMNS + ["line"])
    df["t"] = _parse_time([None if v is None else pd.Timestamp(v).isoformat() for v in df["t"]])
    for c in ("lon", "lat"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def _read_geojson(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        line = getattr(exc, "lineno", None)
        _refuse(path, f"not readable JSON: {exc}", line=line)
    feats = doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" \
        else [doc] if isinstance(doc, dict) and doc.get("type") == "Feature" else None
    if not isinstance(feats, list):
        _refuse(path, "expected a GeoJSON FeatureCollection (with a features list) or Feature")
    rows = []
    for fi, f in enumerate(feats):
        f = f if isinstance(f, dict) else {}
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        geom = f.get("geometry") if isinstance(f.get("geometry"), dict) else {}
        dev = str(props.get("device_id", path.stem))
        tid = str(props.get("track_id", f"{path.stem}:{dev}"))
        acc = props.get("accuracy_m", np.nan)
        where = f"feature {fi + 1}"
        if geom.get("type") == "Point":
            c = geom.get("coordinates")
            c = c if isinstance(c, list) else [None, None]
            rows.append((tid, dev, props.get("time"), *(list(c[:2]) + [None, None])[:2],
                         acc, props.get("speed_mps", np.nan), where))
        elif geom.get("type") == "LineString":
            coords = geom.get("coordinates") if isinstance(geom.get("coordinates"), list) else []
            times = props.get("times") or props.get("coordTimes") or []
            times = times if isinstance(times, list) else []
            if len(times) != len(coords):
                rows.append((tid, dev, None, None, None, np.nan, np.nan,
                             f"{where}: {len(coords)} vertices but {len(times)} times"))
                continue
            for vi, (c, tm) in enumerate(zip(coords, times)):
                c = list(c[:2]) + [None, None] if isinstance(c, list) else [None, None]
                rows.append((tid, dev, tm, c[0], c[1], acc, np.nan, f"{where} vertex {vi + 1}"))
        else:
            rows.append((tid, dev, None, None, None, np.nan, np.nan,
                         f"{where}: geometry {geom.get('type')!r} is not a Point or LineString"))
    df = pd.DataFrame(rows, columns=COLUMNS + ["line"])
    df["t"] = _parse_time(df["t"])
    for c in ("lon", "lat", "accuracy_m", "speed_mps"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


READERS = {".csv": _read_csv, ".gpx": _read_gpx, ".geojson": _read_geojson, ".json": _read_geojson}


def read_track_file(path, coord_sys: str = "wgs84") -> TrackRead:
    """Read one GPX / GeoJSON / CSV file of fixes; see the module docstring for the policy."""
    path = Path(path)
    try:
        coord_sys = parse_coord_sys(coord_sys)
    except InvalidInput as exc:
        _refuse(path, exc.problems[0]["problem"])
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        _refuse(path, f"unknown file type {path.suffix!r}; expected .gpx, .geojson or .csv")
    if not path.is_file():
        _refuse(path, "no such file")
    df = reader(path)
    problems: list[dict] = []
    dropped = dict.fromkeys(REASONS, 0)
    by_track: dict[str, dict] = {}

    def drop(mask, reason, text):
        nonlocal df
        mask = np.asarray(mask, bool)
        dropped[reason] += int(mask.sum())
        for tid, n in df.loc[mask, "track_id"].value_counts().items():
            by_track.setdefault(str(tid), dict.fromkeys(REASONS, 0))[reason] += int(n)
        for where in df.loc[mask, "line"].head(MAX_PROBLEMS - len(problems)):
            problems.append({"file": str(path), "line": where, "problem": text})
        df = df[~mask]

    screen = screen_lonlat(df["lon"].to_numpy(float), df["lat"].to_numpy(float), coord_sys)
    df = df.assign(lon=screen.lon, lat=screen.lat, swapped_=screen.swapped, off_globe_=screen.off_globe,
                   outside_=screen.outside)
    drop(df["t"].isna().to_numpy() | screen.missing, "malformed",
         "unparsable, missing or out-of-range time (1980-01-06 to 2199), or unparsable coordinates")
    swapped = df["swapped_"].to_numpy()
    if len(df) and swapped.all():
        lines = ", ".join(df["line"].head(5))
        _refuse(path, f"every fix has latitude and longitude swapped (e.g. {lines}); "
                      "export lon,lat (x,y) order", problems=[
                          {"file": str(path), "line": w, "problem": "lon/lat swapped"}
                          for w in df["line"].head(MAX_PROBLEMS)])
    drop(swapped, "swapped", "lon/lat swapped (lies in Rizhao only when read as lat,lon); dropped")
    drop(df["off_globe_"].to_numpy(), "malformed", "coordinates off the globe")
    drop(df["outside_"].to_numpy(), "outside_rizhao", "outside Rizhao's bounds; dropped")

    # order and duplicates, per track
    tr, tv = df["track_id"].to_numpy(), df["t"].to_numpy()
    out_of_order = int(((tv[1:] < tv[:-1]) & (tr[1:] == tr[:-1])).sum())
    df = by_track_time(df)[0]
    drop(df.duplicated(["track_id", "t"], keep="first").to_numpy(), "duplicate_time",
         "duplicate timestamp in the same track; the first fix is kept")
    if not len(df):
        _refuse(path, "no usable fix left after dropping bad rows",
                problems=problems or [{"file": str(path), "line": None, "problem": "no fixes"}])
    fixes = df[COLUMNS].reset_index(drop=True)
    return TrackRead(fixes, dropped, out_of_order, problems, by_track)


def read_track_files(paths, coord_sys: str = "wgs84") -> tuple[pd.DataFrame, dict[str, TrackRead]]:
    """Read several files; track ids must not clash across files (they carry the file stem)."""
    reads = {str(p): read_track_file(p, coord_sys) for p in paths}
    fixes = pd.concat([r.fixes for r in reads.values()], ignore_index=True)
    return fixes, reads
