"""citygrid vs tipg (developmentseed's OGC Features + Tiles server) on the same tables.

A scratch database (``citygrid_bench_tipg``) gets the reference layers and the simulated
191,000-case history (``citygrid simulate cases``). Both servers run on loopback in their own
processes, one uvicorn worker each, over the same PostGIS:

* citygrid: ``uvicorn api.app:create_app --factory`` (application role);
* tipg: ``uvicorn tipg.main:app`` with DATABASE_URL = the owner role's URL and TIPG_ settings
  limiting it to ``public.grids`` and ``public.cases``, with the same tile buffer (64), the
  same public columns in the case items, the same tile columns in the case tiles (asked with
  ``properties=``), and no per-tile feature cap.

A load generator in a second process (wrk, ``CONCURRENCY`` connections, ``MAX_SECONDS`` a
run) replays fixed lists against one server at a time:

1. vector tiles of ``grids`` (z12-14) and ``cases`` (z13-15) covering the urban grids: tiles/s;
2. bbox item queries (about 1 km boxes, limit 100) on ``cases`` and ``grids``: p50/p99 latency
   and queries/s.

Each list is replayed for 3 s against each server before measuring (warm caches on both).
Both servers' database sessions get the service's session settings (JIT off, no parallel
workers: citygrid.db.engine.SESSION_OPTIONS); tipg through its DSN.
Prints the figures and the ratios citygrid/tipg (throughput; for latency tipg/citygrid, so
above 1.0 means citygrid is faster). ``python -m bench tipg``; CITYGRID_BENCH_KEEP_DB=1 keeps
the scratch database for a re-run.
"""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

DB_NAME = "citygrid_bench_tipg"
N_CASES = int(os.environ.get("CITYGRID_BENCH_CASES", 191_000))
CONCURRENCY = int(os.environ.get("CITYGRID_BENCH_CONCURRENCY", 16))
MAX_SECONDS = float(os.environ.get("CITYGRID_BENCH_SECONDS", 10))
ROOT = Path(__file__).resolve().parent.parent


# --- the load generator: wrk, in its own process ----------------------------------------
# A Python client cannot drive these servers: httpx.AsyncClient tops out near 500 requests/s
# against a bare ASGI app answering "ok", with a p99 of 150 ms that is all its own; wrk (C,
# Debian package ``wrk``) reaches 31,000/s there with a p99 of 1.4 ms, so what it measures is
# the server.

_WRK_LUA = """
local urls, n = {}, 0
local path = os.getenv("BENCH_URLS")
for line in io.lines(path) do urls[#urls + 1] = line end
local offset = 0
function setup(thread) thread:set("offset", offset); offset = offset + 7919 end
function request()
  n = n + 1
  return wrk.format("GET", urls[(n + offset) % #urls + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"n": %d, "wall_s": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d, "mb": %f}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout, summary.bytes / 1e6))
end
"""


def load(urls: list[str], max_seconds: float = MAX_SECONDS) -> dict:
    """Replay ``urls`` (paths on one server, in order, round robin) with wrk for ``max_seconds``,
    ``CONCURRENCY`` connections on 2 threads; return its figures."""
    import shutil
    import tempfile
    from urllib.parse import urlsplit

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found: `make bench` installs it (Debian package wrk)")

    base = "{0.scheme}://{0.netloc}".format(urlsplit(urls[0]))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "urls.txt").write_text("".join(u[len(base):] + "\n" for u in urls))
        (Path(tmp) / "replay.lua").write_text(_WRK_LUA)
        out = subprocess.run(["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{max_seconds:g}s", "--timeout", "60s",
                              "-s", str(Path(tmp) / "replay.lua"), base],
                             env={**os.environ, "BENCH_URLS": str(Path(tmp) / "urls.txt")},
                             capture_output=True, text=True, timeout=max_seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr or out.stdout)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["rps"] = r["n"] / r["wall_s"]
    return r


# --- setup --------------------------------------------------------------------------------

def _prepare_database(settings) -> None:
    import sqlalchemy as sa

    from citygrid.db.cluster import Cluster
    from citygrid.db.engine import drop_database, get_engine
    from citygrid.db.migrate import migrate

    if not settings.database_url:
        Cluster(settings).start()
    owner = get_engine(settings, role="owner")
    try:
        with owner.connect() as conn:
            have = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
            grids = conn.execute(sa.text("SELECT count(*) FROM grids")).scalar()
        if have >= N_CASES and grids == 76:
            print(f"reusing {DB_NAME}: {have:,} cases")
            return
    except Exception:  # noqa: BLE001 -- no database yet
        pass
    drop_database(settings)
    migrate(settings)
    from gis.layers.build import build_all
    from gis.layers.load import load_layers

    load_layers(owner, build_all())
    env = {**os.environ, "CITYGRID_DB_NAME": DB_NAME}
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "citygrid"), "simulate", "cases", "--n", str(N_CASES)],
                   check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    with owner.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
        have = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
    print(f"{DB_NAME}: layers + {have:,} simulated cases loaded in {time.perf_counter() - t0:.1f} s")


def _start(cmd: list[str], env: dict, health: str) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[3]} exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{cmd} did not come up")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tile_bounds(z: int, x: int, y: int):
    from shapely.geometry import box

    n = 2 ** z
    lat = lambda t: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))  # noqa: E731
    return box(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def _tile_list(area, zooms: tuple[int, ...], cap: int) -> list[tuple[int, int, int]]:
    """Tiles touching ``area`` (the grids' union), every zoom, evenly thinned to ``cap`` per zoom."""
    out = []
    minx, miny, maxx, maxy = area.bounds
    for z in zooms:
        x0, y0 = _tile_of(minx, maxy, z)
        x1, y1 = _tile_of(maxx, miny, z)
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)
                 if _tile_bounds(z, x, y).intersects(area)]
        step = max(1, len(tiles) // cap)
        out.extend(tiles[::step][:cap])
    return out


def _bboxes(area, n: int, size_deg: float = 0.01, seed: int = 7) -> list[str]:
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(area.bounds[0], area.bounds[2], n * 20),
                         rng.uniform(area.bounds[1], area.bounds[3], n * 20))
    inside = [p for p in pts if area.contains(p)][:n]
    h = size_deg / 2
    return [f"{p.x - h:.5f},{p.y - h * 0.8:.5f},{p.x + h:.5f},{p.y + h * 0.8:.5f}" for p in inside]


def _sanity(cg: str, tp: str, tile: tuple[int, int, int], bbox: str) -> str:
    import httpx
    import mapbox_vector_tile

    z, x, y = tile
    a = mapbox_vector_tile.decode(httpx.get(f"{cg}/tiles/cases/{z}/{x}/{y}.pbf").content)
    b = mapbox_vector_tile.decode(httpx.get(f"{tp}/collections/public.cases/tiles/WebMercatorQuad/{z}/{x}/{y}").content)
    na = sum(len(v["features"]) for v in a.values())
    nb = sum(len(v["features"]) for v in b.values())
    ia = httpx.get(f"{cg}/collections/cases/items", params={"bbox": bbox, "limit": 100}).json()
    ib = httpx.get(f"{tp}/collections/public.cases/items", params={"bbox": bbox, "limit": 100}).json()
    return (f"same answers? tile {z}/{x}/{y}: citygrid {na} vs tipg {nb} case features; bbox {bbox}: matched "
            f"{ia['numberMatched']} vs {ib['numberMatched']}, returned {ia['numberReturned']} vs {ib['numberReturned']}")


def main() -> None:
    import shapely
    import sqlalchemy as sa

    from citygrid.db.engine import drop_database, get_engine, owner_url, session_settings
    from tests.harness import free_port
    from citygrid.settings import get_settings

    settings = get_settings().model_copy(update={"db_name": DB_NAME})
    _prepare_database(settings)
    owner = get_engine(settings, role="owner")
    with owner.connect() as conn:
        cols = [c for c in conn.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = 'cases' ORDER BY ordinal_position")).scalars()]
        grid_wkb = conn.execute(sa.text("SELECT ST_AsBinary(ST_Union(geom)) FROM grids")).scalar()
    area = shapely.from_wkb(bytes(grid_wkb))
    from cases.records import PERSONAL_COLUMNS

    public_cols = [c for c in cols if c not in ("geom", *PERSONAL_COLUMNS)]
    # tiles carry the collection's tile columns: tipg is asked for the same ones
    from cases import CASES_COLLECTION
    from gis.collections import tile_columns

    tile_cols = ",".join(tile_columns(owner, CASES_COLLECTION))

    py = sys.executable
    cg_port, tp_port = free_port(), free_port()
    cg_env = {**os.environ, "CITYGRID_DB_NAME": DB_NAME}
    tp_env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG", "DATABASE_URL"))}
    tp_env.update({
        # the database works the same for both: the service's session settings (JIT off) go to
        # tipg's connections too (asyncpg passes DSN query parameters on as server settings)
        "DATABASE_URL": owner_url(settings).set(drivername="postgresql").update_query_dict(
            session_settings()).render_as_string(hide_password=False),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.grids", "public.cases"]',
        "TIPG_DB_FUNCTIONS": "[]",
        "TIPG_TILE_BUFFER": "64",
        "TIPG_MAX_FEATURES_PER_TILE": "10000000",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_TABLE_CONFIG__public_cases__properties": json.dumps(public_cols),
        "TIPG_TABLE_CONFIG__public_cases__datetimecol": "reported_at",
        "TIPG_TABLE_CONFIG__public_cases__pk": "id",
    })
    common = ["--host", "127.0.0.1", "--log-level", "warning", "--workers", "1"]
    cg = tp = None
    try:
        cg = _start([py, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(cg_port), *common],
                    cg_env, f"http://127.0.0.1:{cg_port}/health")
        tp = _start([py, "-m", "uvicorn", "tipg.main:app", "--port", str(tp_port), *common],
                    tp_env, f"http://127.0.0.1:{tp_port}/healthz")
        cgu, tpu = f"http://127.0.0.1:{cg_port}", f"http://127.0.0.1:{tp_port}"
        # shuffled (fixed seed): a timed run then meets the same mix of zooms all along, whatever
        # share of the list the server gets through
        rng = random.Random(7)
        grid_tiles = rng.sample(_tile_list(area, (12, 13, 14), 120), k=len(_tile_list(area, (12, 13, 14), 120)))
        case_tiles = rng.sample(_tile_list(area, (13, 14, 15), 120), k=len(_tile_list(area, (13, 14, 15), 120)))
        boxes = _bboxes(area, 200)
        print(f"servers: citygrid {cgu}, tipg {tpu}; wrk, {CONCURRENCY} connections, {MAX_SECONDS:g} s per run")
        print(_sanity(cgu, tpu, case_tiles[len(case_tiles) // 2], boxes[0]))
        suites = {
            "grids tiles": ([f"{cgu}/tiles/grids/{z}/{x}/{y}.pbf" for z, x, y in grid_tiles],
                            [f"{tpu}/collections/public.grids/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in grid_tiles]),
            "cases tiles": ([f"{cgu}/tiles/cases/{z}/{x}/{y}.pbf" for z, x, y in case_tiles],
                            [f"{tpu}/collections/public.cases/tiles/WebMercatorQuad/{z}/{x}/{y}?properties={tile_cols}"
                             for z, x, y in case_tiles]),
            "cases bbox items": ([f"{cgu}/collections/cases/items?bbox={b}&limit=100" for b in boxes],
                                 [f"{tpu}/collections/public.cases/items?bbox={b}&limit=100" for b in boxes]),
            "grids bbox items": ([f"{cgu}/collections/grids/items?bbox={b}&limit=100" for b in boxes],
                                 [f"{tpu}/collections/public.grids/items?bbox={b}&limit=100" for b in boxes]),
        }
        print(f"tile lists: grids {len(grid_tiles)} tiles (z12-14), cases {len(case_tiles)} tiles (z13-15); "
              f"{len(boxes)} bboxes of ~1 km")
        only = [x.strip() for x in os.environ.get("CITYGRID_BENCH_SUITES", "").split(",") if x.strip()]
        for name, (ours, theirs) in suites.items():
            if only and name not in only:
                continue
            load(ours, max_seconds=3)  # warm both, same lists
            load(theirs, max_seconds=3)
            a, b = load(ours), load(theirs)
            unit = "tiles/s" if "tiles" in name else "queries/s"
            for who, r in (("citygrid", a), ("tipg", b)):
                print(f"  {name:17s} {who:8s}: {r['rps']:8.1f} {unit}  p50 {r['p50_ms']:7.1f} ms  "
                      f"p99 {r['p99_ms']:7.1f} ms  ({r['n']} requests in {r['wall_s']:.1f} s, {r['mb']:.1f} MB, "
                      f"{r['errors']} non-200)")
            print(f"  {name:17s} ratio citygrid/tipg: throughput {a['rps'] / b['rps']:.2f}x, "
                  f"p50 {b['p50_ms'] / a['p50_ms']:.2f}x, p99 {b['p99_ms'] / a['p99_ms']:.2f}x (above 1.0: citygrid better)")
    finally:
        for proc in (cg, tp):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        owner.dispose()
        if not os.environ.get("CITYGRID_BENCH_KEEP_DB"):
            get_engine(settings).dispose()
            drop_database(settings)


if __name__ == "__main__":
    main()
