"""Patrols in PostGIS: start an outing, take fixes from phones, stop it (cleaned track and
mileage), import GPS files. Plain functions over an Engine; the API and CLI are thin.

Tracks are served as the catalog's ``patrol_tracks`` collection (table ``patrols``).

Fixes, the rules:

* A batch arrives as ``{device_id, coord_sys, fixes: [{t, lon, lat, accuracy_m?, speed_mps?}]}``
  in WGS84, GCJ-02 or BD-09. It is checked whole first: a batch with any bad fix (not finite,
  off the globe, lon/lat swapped, outside Rizhao, negative accuracy or speed, time unparsable,
  before 2000 or more than 10 minutes in the future) is refused whole (:class:`InvalidInput`)
  naming every bad fix by its index; nothing is written. Times without an offset are
  UTC (as in the readers). Over HTTP a literal NaN/Infinity never reaches this check: the API's
  FiniteJSON middleware refuses such a body first (nothing written).
* Stored in WGS84 (converted with gis.crs.to_wgs84), with the numbers and frame sent kept in
  ``orig_lon``/``orig_lat``/``coord_sys``.
* Idempotent on (device_id, t), the table's primary key: every write is a binary ``COPY`` into
  a session temp table, then ``INSERT ... SELECT ... ON CONFLICT (device_id, t) DO NOTHING``;
  a retried batch stores nothing twice. The transaction commits before the caller answers.
  A repeated timestamp inside one batch keeps the first fix.
* Only the patrol's own officer (a ``patrol_officer`` user linked to that officer) posts its
  fixes. ``stop`` (own officer or a commander) cleans and measures the stored fixes with
  patrol.clean + patrol.mileage and stores the track; stopping again recomputes (late fixes
  count) and keeps the first stop time unless a new one is given.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from citygrid import vocab
from citygrid.db.schema import departments, officers, patrols, users
from citygrid.cache import Cache
from citygrid.db.copy import fixed_width_stream, pg_timestamps
from citygrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from citygrid.idempotency import run_once
from citygrid.workcal import TZ
from gis.crs import COORD_SYSTEMS, from_wgs84, parse_coord_sys, screen_lonlat


START_ROLES = (vocab.Role.PATROL_OFFICER, vocab.Role.COMMANDER)
FIX_ROLES = (vocab.Role.PATROL_OFFICER,)
STOP_ROLES = (vocab.Role.PATROL_OFFICER, vocab.Role.COMMANDER)
MAX_BATCH = 10_000
FUTURE_SLACK = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a time before this is a broken clock
PATROL_CLOCK_SLACK = timedelta(days=1)
START_SCOPE = "patrols.start"

FIX_COLUMNS = ("patrol_id", "device_id", "t", "lon", "lat", "orig_lon", "orig_lat", "coord_sys",
               "accuracy_m", "speed_mps")
# The temp table is all fixed-width binary COPY fields: device ids travel as indexes into a
# parameter array, the frame as its index in COORD_SYSTEMS, missing accuracy/speed as NaN
# (NULLIF'd back to NULL in SQL).
_TEMP_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS patrol_fixes_in (patrol_id int8, dev int4, t timestamptz, "
    "lon float8, lat float8, orig_lon float8, orig_lat float8, cs int2, accuracy_m float8, "
    "speed_mps float8) ON COMMIT DELETE ROWS")
_INSERT_SQL = (
    "INSERT INTO patrol_fixes (device_id, t, patrol_id, lon, lat, orig_lon, orig_lat, coord_sys, "
    "accuracy_m, speed_mps, county_code, geom) "
    "SELECT (CAST(:devices AS text[]))[f.dev], f.t, f.patrol_id, f.lon, f.lat, f.orig_lon, f.orig_lat, "
    "(CAST(:systems AS text[]))[f.cs], NULLIF(f.accuracy_m, 'NaN'), NULLIF(f.speed_mps, 'NaN'), "
    "p.county_code, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326) "
    # the inner join is the foreign key: every fix belongs to a patrol that exists
    "FROM patrol_fixes_in f JOIN patrols p ON p.id = f.patrol_id "
    "ON CONFLICT (device_id, t) DO NOTHING")
_F8 = ("lon", "lat", "orig_lon", "orig_lat")


def copy_rows(frame: pd.DataFrame) -> tuple[bytes, list[str]]:
    """Binary COPY stream for patrol_fixes_in and the device ids it refers to (vectorised,
    through the one encoder, ``citygrid.db.copy``)."""
    # factorize, then look up the few distinct values: no per-row string work
    dev_codes, devices = pd.factorize(frame["device_id"])
    cs_codes, systems = pd.factorize(frame["coord_sys"])
    known = {name: i for i, name in enumerate(COORD_SYSTEMS)}
    lookup = np.array([known.get(str(x).lower(), -1) for x in systems], dtype=np.int16)
    if (lookup < 0).any():
        raise InvalidInput("unknown coord_sys in the fixes", [{"where": "coord_sys", "problem": "unknown"}])
    n = len(frame)

    def floats(name):
        return frame[name].to_numpy(dtype=float) if name in frame else np.full(n, np.nan)

    t = frame["t"]
    if not isinstance(t.dtype, pd.DatetimeTZDtype):  # fixes: naive times are UTC (the module's rule)
        t = pd.to_datetime(t, utc=True)
    t_us, _ = pg_timestamps(t)  # check_batch / the readers leave no time missing
    stream = fixed_width_stream([(frame["patrol_id"].to_numpy(dtype=np.int64), ">i8"),
                                 (dev_codes + 1, ">i4"),  # SQL arrays count from 1
                                 (t_us, ">i8"),
                                 *[(floats(c), ">f8") for c in _F8],
                                 (lookup[cs_codes] + 1, ">i2"),
                                 (floats("accuracy_m"), ">f8"), (floats("speed_mps"), ">f8")])
    return stream, [str(d) for d in devices]


# --- writing fixes ------------------------------------------------------------------------

def insert_fixes(conn: Connection, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (columns FIX_COLUMNS, t as UTC datetimes) into a temp table, then insert
    what is new; return how many fixes were stored. Runs in ``conn``'s transaction."""
    if not len(frame):
        return 0
    data, devices = copy_rows(frame)
    raw = conn.connection.driver_connection
    # one round trip; the DELETE empties what an earlier call in this transaction left
    raw.execute(_TEMP_DDL + "; DELETE FROM patrol_fixes_in")
    with raw.cursor() as cur:
        with cur.copy("COPY patrol_fixes_in FROM STDIN (FORMAT binary)") as copy:
            view = memoryview(data)
            for i in range(0, len(view), 1 << 22):
                copy.write(view[i:i + (1 << 22)])
    return conn.execute(sa.text(_INSERT_SQL), {"devices": devices, "systems": list(COORD_SYSTEMS)}).rowcount


def check_batch(device_id: str, coord_sys: str, fixes: list[dict],
                now: datetime | None = None) -> pd.DataFrame:
    """Validate a phone's batch whole; return the frame to store (without patrol_id) or raise
    InvalidInput naming every bad fix by index."""
    problems: list[dict] = []
    try:
        frame_sys = parse_coord_sys(coord_sys)
    except InvalidInput as exc:
        frame_sys, problems = "wgs84", problems + exc.problems
    if not device_id or not str(device_id).strip():
        problems.append({"where": "device_id", "problem": "device_id is required"})
    if not fixes:
        problems.append({"where": "fixes", "problem": "the batch holds no fix"})
    if len(fixes) > MAX_BATCH:
        problems.append({"where": "fixes", "problem": f"{len(fixes)} fixes; at most {MAX_BATCH} per batch"})
    if problems:
        raise InvalidInput("invalid batch: " + "; ".join(f"{p['where']}: {p['problem']}" for p in problems),
                           problems)
    n = len(fixes)
    bad: dict[int, list[str]] = {}

    def col(name):  # numbers; None (JSON null, or absent) -> NaN
        values = [f.get(name) for f in fixes]
        try:
            return np.array(values, dtype=float)
        except (TypeError, ValueError):  # something not a number: find and name it
            out = np.full(n, np.nan)
            for i, v in enumerate(values):
                try:
                    out[i] = np.nan if v is None else float(v)
                except (TypeError, ValueError):
                    bad.setdefault(i, []).append(f"{name} is not a number: {str(v)[:40]!r}")
            return out

    lon, lat, acc, spd = col("lon"), col("lat"), col("accuracy_m"), col("speed_mps")
    # text (RFC 3339) or a datetime; anything else (a number, an object) counts as no time
    times = [v if isinstance(v, (str, datetime, np.datetime64)) else None for v in (f.get("t") for f in fixes)]
    t = pd.to_datetime(pd.Series(times, dtype=object), utc=True, errors="coerce",
                       format="ISO8601" if isinstance(times[0], str) else None)
    t = t.dt.floor("us")  # PostgreSQL keeps microseconds
    now = now or datetime.now(timezone.utc)

    def flag(mask, text):
        for i in np.flatnonzero(mask):
            bad.setdefault(int(i), []).append(text)

    flag(t.isna().to_numpy(), "time missing or not ISO 8601")
    screen = screen_lonlat(lon, lat, frame_sys)
    flag(screen.missing, "lon/lat missing or not a finite number")
    flag(screen.swapped, "lon/lat swapped: lies in Rizhao only when read as lat,lon; send lon (about 119) first")
    flag(screen.off_globe, "coordinates off the globe")
    flag(screen.outside, "outside Rizhao")
    wlon, wlat = screen.lon, screen.lat
    flag((np.isfinite(acc) & (acc < 0)) | np.isinf(acc), "accuracy_m must be a finite number >= 0")
    flag((np.isfinite(spd) & (spd < 0)) | np.isinf(spd), "speed_mps must be a finite number >= 0")
    future = (t > pd.Timestamp(now) + FUTURE_SLACK).fillna(False).to_numpy()
    flag(future, "time more than 10 minutes in the future (device clock?)")
    flag((t < pd.Timestamp(EARLIEST)).fillna(False).to_numpy(), "time before 2000 (device clock?)")
    if bad:
        listed = [{"where": f"fixes[{i}]", "index": i, "problem": "; ".join(texts)}
                  for i, texts in sorted(bad.items())]
        raise InvalidInput(
            f"{len(bad)} of {n} fixes are bad, the batch is refused whole (nothing stored): "
            f"fixes {', '.join(str(i) for i in sorted(bad))}", listed)
    # one fix per time (the first sent), in time order: np.unique sorts and gives first occurrences
    _, keep = np.unique(t.to_numpy(dtype="datetime64[us]").astype(np.int64), return_index=True)
    return pd.DataFrame({"device_id": str(device_id).strip(), "t": t.iloc[keep].reset_index(drop=True),
                         "lon": wlon[keep], "lat": wlat[keep], "orig_lon": lon[keep], "orig_lat": lat[keep],
                         "coord_sys": frame_sys, "accuracy_m": acc[keep], "speed_mps": spd[keep]})


# --- who may do what ----------------------------------------------------------------------

def _own_officer(conn: Connection, username: str) -> int | None:
    return conn.execute(sa.select(users.c.officer_id).where(users.c.username == username)).scalar()


def _check_actor(conn: Connection, patrol: dict, username: str, role: str, roles) -> None:
    if role not in roles:
        raise Forbidden(f"role {role!r} may not do this; needs one of: {', '.join(roles)}")
    if role == vocab.Role.COMMANDER:
        return
    own = patrol["own_officer"] if "own_officer" in patrol else _own_officer(conn, username)
    if own is None:
        raise Forbidden(f"user {username!r} is not linked to an officer (users.officer_id)")
    if own != patrol["officer_id"]:
        raise Forbidden(f"patrol {patrol['id']} belongs to officer {patrol['officer_id']}, not to {username!r}")


def _patrol(conn: Connection, patrol_id: int, lock: bool = False, username: str | None = None) -> dict:
    """The patrol (and, given ``username``, that user's officer id as ``own_officer``)."""
    cols = [patrols.c.id, patrols.c.officer_id, patrols.c.status, patrols.c.started_at,
            patrols.c.stopped_at, patrols.c.county_code]
    if username is not None:
        cols.append(sa.select(users.c.officer_id).where(users.c.username == username)
                    .scalar_subquery().label("own_officer"))
    q = sa.select(*cols).where(patrols.c.id == patrol_id)
    row = conn.execute(q.with_for_update() if lock else q).mappings().first()
    if row is None:
        raise NotFound(f"patrol {patrol_id} not found")
    return dict(row)


def resolve_officer(conn: Connection, ref: int | str) -> dict:
    """An officer by id or badge."""
    q = sa.select(officers)
    q = q.where(officers.c.id == int(ref)) if str(ref).isascii() and str(ref).isdigit() else q.where(officers.c.badge == str(ref))
    row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFound(f"officer {ref!r} not found (by id or badge)")
    return dict(row)


def _team(conn: Connection, team: int | str | None, officer: dict) -> tuple[int | None, str | None]:
    if team is None:
        dep = officer["department_id"]
    else:
        q = sa.select(departments.c.id)
        q = q.where(departments.c.id == int(team)) if str(team).isascii() and str(team).isdigit() else q.where(departments.c.code == str(team))
        dep = conn.execute(q).scalar()
        if dep is None:
            raise InvalidInput(f"unknown team {team!r}", [{"where": "team", "problem": "unknown department"}])
    county = officer["county_code"]
    if county is None and dep is not None:
        county = conn.execute(sa.select(departments.c.county_code).where(departments.c.id == dep)).scalar()
    return dep, county


# --- start ----------------------------------------------------------------------------------

def _check_moment(where: str, value: datetime | None, now: datetime) -> None:
    """Outing times lie between 2000 and a day from now (a wrong clock, not a patrol)."""
    if value is not None and not (EARLIEST <= value <= now + PATROL_CLOCK_SLACK):
        raise InvalidInput(f"{where} {value.isoformat()} is not between 2000 and tomorrow",
                           [{"where": where, "problem": "out of range (device clock?)"}])


def _row_out(row) -> dict:
    out = {k: v for k, v in dict(row).items() if k != "geom"}
    for k, v in out.items():
        if isinstance(v, (datetime, date)):
            out[k] = v.isoformat()
    return out


def get_patrol(engine_or_conn, patrol_id: int) -> dict:
    """Patrol ``patrol_id`` without its geometry (on an Engine or inside a transaction);
    NotFound when there is none."""
    cols = [c for c in patrols.c if c.name != "geom"]
    q = sa.select(*cols).where(patrols.c.id == patrol_id)
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            row = conn.execute(q).mappings().first()
    else:
        row = engine_or_conn.execute(q).mappings().first()
    if row is None:
        raise NotFound(f"patrol {patrol_id} not found")
    return _row_out(row)


def start_patrol(engine: Engine, *, username: str, role: str, officer_id: int | str | None = None,
                 team: int | str | None = None, patrol_date: date | None = None,
                 started_at: datetime | None = None, campaign: str | None = None,
                 idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Open an outing; return (status, patrol, replayed). A patrol officer starts their own."""
    if role not in START_ROLES:
        raise Forbidden(f"role {role!r} may not start a patrol; needs one of: {', '.join(START_ROLES)}")
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)
    _check_moment("started_at", started_at, now)
    if patrol_date is not None and not (EARLIEST.date() <= patrol_date <= (now + PATROL_CLOCK_SLACK).date()):
        raise InvalidInput(f"date {patrol_date.isoformat()} is not between 2000 and tomorrow",
                           [{"where": "date", "problem": "out of range"}])
    payload = {"officer_id": officer_id, "team": team, "patrol_date": patrol_date,
               "started_at": started_at, "campaign": campaign}

    def work(conn: Connection):
        own = _own_officer(conn, username)
        ref = officer_id
        if role == vocab.Role.PATROL_OFFICER:
            if own is None:
                raise Forbidden(f"user {username!r} is not linked to an officer (users.officer_id)")
            if ref is not None and str(ref) != str(own):
                officer = resolve_officer(conn, ref)
                if officer["id"] != own:
                    raise Forbidden("a patrol officer starts patrols for themselves only")
            ref = own
        elif ref is None:
            raise InvalidInput("officer_id is required", [{"where": "officer_id", "problem": "required"}])
        officer = resolve_officer(conn, ref)
        if not officer["active"]:
            raise Conflict(f"officer {officer['badge']!r} is retired: no new patrols")
        team_id, county = _team(conn, team, officer)
        at = started_at or datetime.now(timezone.utc)
        day = patrol_date or at.astimezone(TZ).date()
        pid = conn.execute(sa.insert(patrols).values(
            officer_id=officer["id"], team_id=team_id, county_code=county,
            campaign=(campaign or None), patrol_date=day, source="live", status="active",
            created_by=username, started_at=at).returning(patrols.c.id)).scalar_one()
        return get_patrol(conn, pid)

    return run_once(engine, START_SCOPE, f"user:{username}", idempotency_key, payload, work)


# --- fixes ----------------------------------------------------------------------------------

def add_fixes(engine: Engine, patrol_id: int, *, device_id: str, coord_sys: str, fixes: list[dict],
              username: str, role: str) -> dict:
    """Store a phone's batch (see the module rules); return the summary (``stored`` new fixes,
    ``duplicates`` retried ones). Committed before returning."""
    frame = check_batch(device_id, coord_sys, fixes)
    with engine.begin() as conn:
        patrol = _patrol(conn, patrol_id, username=username)
        _check_actor(conn, patrol, username, role, FIX_ROLES)
        frame.insert(0, "patrol_id", patrol_id)
        stored = insert_fixes(conn, frame)
    body = {"patrol_id": patrol_id, "device_id": frame["device_id"].iloc[0], "received": len(fixes),
            "stored": stored, "duplicates": len(fixes) - stored}
    return body


# --- stop: clean, measure, store the track -------------------------------------------------

GRID_INDEX = Cache("patrol grid index", ttl_s=60.0)


def grid_index(conn: Connection):
    """UnitIndex over the grids table (``citygrid.cache`` policy: emptied when layers load)."""
    import geopandas as gpd

    from gis.location import UnitIndex

    def build():
        frame = gpd.read_postgis("SELECT code, county_code, geom FROM grids", conn, geom_col="geom")
        return UnitIndex.from_frame(frame)

    return GRID_INDEX.get(str(conn.engine.url), build)


STREET_LAYER = Cache("patrol street layer", ttl_s=60.0)


def street_layer_of(conn: Connection):
    """patrol.mileage's street layer prepared from the roads table, or None when it is empty
    (same cache policy as :func:`grid_index`)."""
    from patrol.streets import street_layer

    def build():
        wkb = conn.execute(sa.text("SELECT ST_AsBinary(geom) FROM roads ORDER BY id")).scalars().all()
        return street_layer(shapely.from_wkb([bytes(g) for g in wkb])) if wkb else None

    return STREET_LAYER.get(str(conn.engine.url), build)


def _measure(conn: Connection, fixes: pd.DataFrame, params=None) -> tuple[pd.DataFrame, dict]:
    """patrol.mileage over ``fixes`` (track_id = patrol id), with the grids and the street
    layer as the CLI measures; per-track values and WKB tracks."""
    from patrol.clean import CleanParams
    from patrol.mileage import mileage

    table, cleaned = mileage(fixes, grid_index(conn), params or CleanParams(), streets=street_layer_of(conn))
    tracks: dict = {}
    if len(cleaned.t_s):
        counts = np.bincount(cleaned.track, minlength=len(cleaned.track_ids))
        ok = counts[cleaned.track] >= 2
        if ok.any():
            codes = cleaned.track[ok]
            uniq, idx = np.unique(codes, return_inverse=True)
            lines = shapely.linestrings(np.column_stack([cleaned.lon[ok], cleaned.lat[ok]]), indices=idx)
            for code, line in zip(uniq, lines):
                tracks[cleaned.track_ids[code]] = shapely.to_wkb(line, hex=True)
    return table, tracks


def _store_measures(conn: Connection, table: pd.DataFrame, tracks: dict, stopped: dict | None = None) -> None:
    rows = []
    for r in table.to_dict("records"):
        pid = int(r["track_id"])
        rows.append({
            "pid": pid, "distance_m": float(r["distance_m"]),
            "distance_sd_m": float(r["distance_sd_m"]), "raw_distance_m": float(r["raw_distance_m"]),
            "duration_s": float(r["duration_s"]), "moving_time_s": float(r["moving_time_s"]),
            "stop_time_s": float(r["stop_time_s"]), "points": int(r["points"]),
            "dropped_points": int(r["dropped_points"]),
            "dropped_by_reason": json.dumps(r["dropped_by_reason"]),
            "per_grid_m": json.dumps({k: round(v, 3) for k, v in sorted(r.get("per_grid_m", {}).items())}),
            "stops": json.dumps(r["stops"]), "geom": tracks.get(r["track_id"]),
            "stopped_at": (stopped or {}).get(pid)})
    if not rows:
        return
    conn.execute(sa.text(
        "UPDATE patrols SET distance_m = :distance_m, distance_sd_m = :distance_sd_m, "
        "raw_distance_m = :raw_distance_m, duration_s = :duration_s, moving_time_s = :moving_time_s, "
        "stop_time_s = :stop_time_s, points = :points, dropped_points = :dropped_points, "
        "dropped_by_reason = CAST(:dropped_by_reason AS jsonb), per_grid_m = CAST(:per_grid_m AS jsonb), "
        "stops = CAST(:stops AS jsonb), status = 'stopped', "
        "stopped_at = coalesce(CAST(:stopped_at AS timestamptz), stopped_at, now()), "
        "geom = CASE WHEN CAST(:geom AS text) IS NULL THEN NULL "
        "ELSE ST_SetSRID(ST_GeomFromWKB(decode(CAST(:geom AS text), 'hex')), 4326) END "
        "WHERE id = :pid"), rows)


def read_fixes(conn: Connection, patrol_ids) -> pd.DataFrame:
    """Stored fixes of the patrols as a patrol.readers-style frame (track_id = patrol id)."""
    df = pd.read_sql(sa.text(
        "SELECT patrol_id, device_id, t, lon, lat, accuracy_m, speed_mps FROM patrol_fixes "
        "WHERE patrol_id = ANY(:ids) ORDER BY patrol_id, t, device_id"), conn,
        params={"ids": [int(p) for p in patrol_ids]})
    df["t"] = pd.to_datetime(df["t"], utc=True)
    df.insert(0, "track_id", df.pop("patrol_id").astype(str))
    return df


def stop_patrol(engine: Engine, patrol_id: int, *, username: str, role: str,
                stopped_at: datetime | None = None, params=None) -> dict:
    """Stop (or re-stop) an outing: clean and measure its stored fixes, store the track."""
    if stopped_at is not None and stopped_at.tzinfo is None:
        stopped_at = stopped_at.replace(tzinfo=timezone.utc)
    _check_moment("stopped_at", stopped_at, datetime.now(timezone.utc))
    with engine.begin() as conn:
        patrol = _patrol(conn, patrol_id, lock=True)
        _check_actor(conn, patrol, username, role, STOP_ROLES)
        at = stopped_at or patrol["stopped_at"] or datetime.now(timezone.utc)
        if at < patrol["started_at"]:
            raise InvalidInput(f"stopped_at {at.isoformat()} is before the start {patrol['started_at'].isoformat()}",
                               [{"where": "stopped_at", "problem": "before started_at"}])
        fixes = read_fixes(conn, [patrol_id])
        if len(fixes):
            table, tracks = _measure(conn, fixes, params)
            _store_measures(conn, table, tracks, {patrol_id: at})
        else:
            conn.execute(sa.update(patrols).where(patrols.c.id == patrol_id).values(
                status="stopped", stopped_at=at, distance_m=0.0, distance_sd_m=0.0, raw_distance_m=0.0,
                duration_s=0.0, moving_time_s=0.0, stop_time_s=0.0, points=0, dropped_points=0, per_grid_m={},
                dropped_by_reason={}, stops=[], geom=None))
        return get_patrol(conn, patrol_id)


# --- import from files ------------------------------------------------------------------------

def import_files(engine: Engine, files, *, officer: int | str, campaign: str | None = None,
                 coord_sys: str = "wgs84", team: int | str | None = None, created_by: str = "cli",
                 params=None) -> list[dict]:
    """Import GPX/GeoJSON/CSV tracks (patrol.readers) as stopped patrols of ``officer``, one per
    track, in one transaction. Stored device ids are ``import:<officer id>:<device>``; a track
    already imported (same device, same first fix) is reported, not stored again."""
    from patrol.readers import read_track_files

    fixes, reads = read_track_files([Path(f) for f in files], coord_sys)
    file_of = {tid: f for f, r in reads.items() for tid in r.fixes["track_id"].unique()}
    out = []
    with engine.begin() as conn:
        off = resolve_officer(conn, officer)
        team_id, county = _team(conn, team, off)
        firsts = fixes.groupby("track_id", sort=True).agg(t0=("t", "min"), t1=("t", "max"),
                                                          device=("device_id", "first"), n=("t", "size"))
        new_ids = {}
        for tid, r in firsts.iterrows():
            device = f"import:{off['id']}:{r['device']}"
            ext = f"{device}@{r['t0'].isoformat()}"
            pid = conn.execute(sa.text(
                "INSERT INTO patrols (officer_id, team_id, county_code, campaign, patrol_date, source, status, "
                "external_id, created_by, started_at, stopped_at) VALUES (:o, :team, :county, :campaign, :day, "
                "'import', 'active', :ext, :by, :t0, :t1) ON CONFLICT (external_id) WHERE external_id IS NOT NULL "
                "DO NOTHING RETURNING id"),
                {"o": off["id"], "team": team_id, "county": county, "campaign": campaign or None,
                 "day": r["t0"].tz_convert(TZ).date(), "ext": ext, "by": created_by,
                 "t0": r["t0"].to_pydatetime(), "t1": r["t1"].to_pydatetime()}).scalar()
            if pid is None:
                pid = conn.execute(sa.select(patrols.c.id).where(patrols.c.external_id == ext)).scalar_one()
                out.append({"track_id": tid, "file": file_of[tid], "patrol_id": int(pid), "fixes": int(r["n"]),
                            "stored": 0, "already_imported": True})
            else:
                new_ids[tid] = (int(pid), device)
        if new_ids:
            sel = fixes[fixes["track_id"].isin(list(new_ids))].copy()
            sel["patrol_id"] = sel["track_id"].map({t: v[0] for t, v in new_ids.items()})
            sel["device_id"] = sel["track_id"].map({t: v[1] for t, v in new_ids.items()})
            olon, olat = from_wgs84(sel["lon"].to_numpy(), sel["lat"].to_numpy(), coord_sys)
            sel["orig_lon"], sel["orig_lat"], sel["coord_sys"] = olon, olat, parse_coord_sys(coord_sys)
            sel["t"] = sel["t"].dt.floor("us")
            insert_fixes(conn, sel)
            counts = conn.execute(sa.text(
                "SELECT patrol_id, count(*) FROM patrol_fixes WHERE patrol_id = ANY(:ids) GROUP BY patrol_id"),
                {"ids": [p for p, _ in new_ids.values()]}).all()
            stored_by = {int(p): int(n) for p, n in counts}
            table, tracks = _measure(conn, read_fixes(conn, list(stored_by)), params)
            _store_measures(conn, table, tracks)
            by_pid = {int(r["track_id"]): r for r in table.to_dict("records")}
            for tid, (pid, _) in new_ids.items():
                m = by_pid.get(pid, {})
                out.append({"track_id": tid, "file": file_of[tid], "patrol_id": pid,
                            "fixes": int(firsts.loc[tid, "n"]), "stored": stored_by.get(pid, 0),
                            "already_imported": False,
                            "distance_m": round(float(m.get("distance_m", 0.0)), 1),
                            "distance_sd_m": round(float(m.get("distance_sd_m", 0.0)), 1),
                            "dropped_in_file": reads[file_of[tid]].dropped_by_track.get(tid, {})})
    return sorted(out, key=lambda r: r["patrol_id"])
