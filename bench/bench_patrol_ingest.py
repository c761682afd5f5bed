"""Live patrol ingest into PostGIS: fixes committed per second, COPY path vs row-by-row ORM.

Fixes: the simulator (``N_OUTINGS`` outings, 1 s fixes, seed 7), in a scratch database
``citygrid_bench`` (embedded cluster, migrated for the run, dropped afterwards), as the
service's own role (``citygrid_app``).

* bulk (``patrol import``'s path): the whole frame through ``patrol.store.insert_fixes``:
  binary COPY rows built by numpy -> ``COPY`` into a session temp table -> ``INSERT ... SELECT
  ... ON CONFLICT (device_id, t) DO NOTHING`` (geometry built in SQL; primary key, (patrol_id,
  t) and GiST indexes maintained), one commit. Timed from the frame to the commit.
* live batches (``POST /api/patrols/{id}/fixes`` minus HTTP and JSON): ``patrol.store.add_fixes``
  per 1,000-fix batch: the whole-batch checks, frame conversion, the officer check, the same
  COPY + INSERT, one transaction (committed) per batch; one sender, then ``THREADS`` phones
  sending at once (FastAPI runs sync endpoints in a thread pool).
* HTTP: the endpoint itself (uvicorn, 2 worker processes on loopback with
  ``api.server.NoDelayH11Protocol``, bearer token, JSON parsed by orjson and validated by
  pydantic), ``THREADS`` phones, then twice as many (a campaign has dozens of officers out at
  once; each phone waits for its answer before sending the next batch), posting pre-encoded
  1,000-fix batches.
* retry: the bulk frame again; every row conflicts, nothing is written.
* peer: a ``PEER_N`` sample inserted row by row through the SQLAlchemy ORM (``session.add`` +
  ``flush`` per fix, one commit): what a straightforward ORM endpoint does.

``python -m bench patrol_ingest``.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import sqlalchemy as sa

N_OUTINGS = int(os.environ.get("CITYGRID_BENCH_PATROL_OUTINGS", 120))
BATCH = 1_000
THREADS = 4
WORKERS = int(os.environ.get("CITYGRID_BENCH_WORKERS", 2))
PEER_N = 5_000
DB_NAME = "citygrid_bench"
TARGET = 50_000


def _orm_peer(engine, frame: pd.DataFrame, patrol_id: int) -> int:
    from sqlalchemy.orm import Session, registry

    from citygrid.db.schema import patrol_fixes

    class Fix:  # mapped on the Core table, the usual ORM model
        pass

    reg = registry()
    reg.map_imperatively(Fix, patrol_fixes)
    try:
        with Session(engine) as session:
            for r in frame.itertuples(index=False):
                session.add(Fix(device_id=r.device_id, t=r.t.to_pydatetime(), patrol_id=patrol_id,
                                lon=r.lon, lat=r.lat, orig_lon=r.lon, orig_lat=r.lat, coord_sys="wgs84",
                                accuracy_m=r.accuracy_m, speed_mps=None, county_code="371102",
                                geom=f"SRID=4326;POINT({r.lon} {r.lat})"))
                session.flush()
            session.commit()
    finally:
        reg.dispose()
    return len(frame)


def _http_run(settings, fixes, new_patrol, threads, prefix="http") -> tuple[int, float]:
    """The real endpoint: ``uvicorn api.app:create_app --factory --workers 2`` in its own
    processes on loopback (as deployed, one worker per core), ``threads`` phones POSTing
    pre-encoded 1,000-fix JSON batches with a bearer token."""
    import json

    import httpx

    from tests.harness import ServerProcess

    server = ServerProcess(settings, workers=WORKERS)
    server.start()
    base = server.url
    try:
        token = httpx.post(f"{base}/auth/token", data={"username": "bench_officer", "password": "pw"}).json()
        head = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json"}
        pids = {t: new_patrol() for t in fixes["track_id"].unique()}
        by_phone: dict = {}
        for t, g in fixes.groupby("track_id", sort=False):
            ts = g["t"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
            rows = [{"t": a, "lon": x, "lat": y, "accuracy_m": c} for a, x, y, c in
                    zip(ts, g["lon"].tolist(), g["lat"].tolist(), g["accuracy_m"].tolist())]
            by_phone[t] = [(pids[t], json.dumps({"device_id": f"{prefix}-{t}", "coord_sys": "wgs84",
                                                 "fixes": rows[i:i + BATCH]}).encode())
                           for i in range(0, len(rows), BATCH)]

        latency_s: list[float] = []

        def phone(batches):
            got = 0
            with httpx.Client(base_url=base, timeout=60) as client:
                for pid, body in batches:
                    t0 = time.perf_counter()
                    r = client.post(f"/api/patrols/{pid}/fixes", content=body, headers=head)
                    latency_s.append(time.perf_counter() - t0)
                    assert r.status_code == 201, r.text
                    got += r.json()["stored"]
            return got

        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            got = sum(pool.map(phone, by_phone.values()))
        dt = time.perf_counter() - t0
        n_batches = sum(len(b) for b in by_phone.values())
        print(f"HTTP POST /api/patrols/{{id}}/fixes (uvicorn, {WORKERS} workers), {threads} phones, batches of "
              f"{BATCH:,}: {n_batches:,} requests, {got:,} stored in {dt:.2f} s  ->  {got / dt:,.0f} fixes/s; "
              f"latency p50 {np.percentile(latency_s, 50) * 1e3:.0f} ms, p99 {np.percentile(latency_s, 99) * 1e3:.0f} ms")
        return got, got / dt
    finally:
        server.stop()


def main() -> None:
    from citygrid.db.cluster import Cluster
    from citygrid.db.engine import drop_database, get_engine
    from citygrid.db.migrate import migrate
    from citygrid.org import add_department, add_officer, upsert_user
    from citygrid.settings import Settings
    from gis.layers.build import build_all
    from patrol.simulate import simulate_patrols
    from patrol.store import add_fixes, insert_fixes, start_patrol

    settings = Settings(db_name=DB_NAME)
    if not settings.database_url:
        Cluster(settings).start()
    drop_database(settings)
    migrate(settings)
    engine = get_engine(settings)
    try:
        add_department(engine, "B-SQUAD", "bench squad", "squad", county_code="371102")
        oid = add_officer(engine, "B-001", "bench officer", "B-SQUAD", county_code="371102")
        upsert_user(engine, "bench_officer", "patrol_officer", "pw", officer_id=oid)
        sim = simulate_patrols(build_all(), n_outings=N_OUTINGS, seed=7, interval_s=1)
        fixes = sim.fixes
        n = len(fixes)
        print(f"fixes: {n:,} in {N_OUTINGS} outings (1 s, seed 7)")

        def new_patrol():
            p, _ = start_patrol(engine, username="bench_officer", role="patrol_officer")
            return p["id"]

        # bulk: one frame, one COPY + INSERT ... ON CONFLICT, one commit
        pids = {t: new_patrol() for t in fixes["track_id"].unique()}
        frame = pd.DataFrame({
            "patrol_id": fixes["track_id"].map(pids), "device_id": "bulk-" + fixes["device_id"] + "-" + fixes["track_id"],
            "t": fixes["t"], "lon": fixes["lon"], "lat": fixes["lat"], "orig_lon": fixes["lon"],
            "orig_lat": fixes["lat"], "coord_sys": "wgs84", "accuracy_m": fixes["accuracy_m"], "speed_mps": np.nan})
        t0 = time.perf_counter()  # from the frame a reader gives to committed rows
        with engine.begin() as conn:
            stored = insert_fixes(conn, frame)
        t1 = time.perf_counter()
        bulk = stored / (t1 - t0)
        print(f"bulk (COPY -> INSERT ON CONFLICT, 1 commit): {stored:,} stored in {t1 - t0:.2f} s  ->  "
              f"{bulk:,.0f} fixes/s")

        t0 = time.perf_counter()
        with engine.begin() as conn:
            again = insert_fixes(conn, frame)
        t1 = time.perf_counter()
        print(f"retry of the same {n:,} fixes: {again} stored in {t1 - t0:.2f} s  ->  {n / (t1 - t0):,.0f} fixes/s checked")

        # live: 1,000-fix batches through add_fixes (what the endpoint calls), a commit each;
        # sequentially, then from THREADS phones at once (FastAPI runs sync endpoints in threads)
        def live_run(prefix, threads):
            pids = {t: new_patrol() for t in fixes["track_id"].unique()}
            batches = []
            for t, g in fixes.groupby("track_id", sort=False):
                rows = [{"t": ts, "lon": x, "lat": y, "accuracy_m": a} for ts, x, y, a in
                        zip(g["t"].dt.to_pydatetime(), g["lon"].tolist(), g["lat"].tolist(), g["accuracy_m"].tolist())]
                batches += [(pids[t], f"{prefix}-{t}", rows[i:i + BATCH]) for i in range(0, len(rows), BATCH)]

            def send(b):
                return add_fixes(engine, b[0], device_id=b[1], coord_sys="wgs84", fixes=b[2],
                                 username="bench_officer", role="patrol_officer")["stored"]

            t0 = time.perf_counter()
            if threads == 1:
                got = sum(map(send, batches))
            else:
                # each phone sends its own batches in order; phones in parallel
                by_phone: dict = {}
                for b in batches:
                    by_phone.setdefault(b[1], []).append(b)
                with ThreadPoolExecutor(threads) as pool:
                    got = sum(pool.map(lambda bs: sum(map(send, bs)), by_phone.values()))
            dt = time.perf_counter() - t0
            print(f"live batches of {BATCH:,}, {threads} sender(s) (checks + COPY + INSERT, commit each): "
                  f"{len(batches):,} batches, {got:,} stored in {dt:.2f} s  ->  {got / dt:,.0f} fixes/s")
            return got, got / dt

        live_seq_stored, live_seq = live_run("live1", 1)
        live_par_stored, live = live_run("live4", THREADS)
        http_stored, http_rate = _http_run(settings, fixes, new_patrol, THREADS, "http4")
        http8_stored, http8_rate = _http_run(settings, fixes, new_patrol, 2 * THREADS, "http8")
        live_stored = live_seq_stored + live_par_stored + http_stored + http8_stored

        # peer: row-by-row ORM inserts of a sample
        sample = fixes.iloc[np.random.default_rng(1).choice(n, PEER_N, replace=False)].copy()
        sample["device_id"] = "orm-" + sample["device_id"] + "-" + sample["track_id"]
        t0 = time.perf_counter()
        n_peer = _orm_peer(engine, sample, new_patrol())
        t1 = time.perf_counter()
        peer = n_peer / (t1 - t0)
        print(f"peer, row-by-row ORM inserts of {n_peer:,}: {t1 - t0:.2f} s  ->  {peer:,.0f} fixes/s")
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT count(*) FROM patrol_fixes")).scalar()
        assert total == stored + live_stored + n_peer, total
        print(f"in the table: {total:,}")
        print(f"ratio bulk / peer: {bulk / peer:.1f}x   live ({THREADS} senders) / peer: {live / peer:.1f}x   "
              f"live (1 sender) / peer: {live_seq / peer:.1f}x")
        print(f"target {TARGET:,} fixes/s: bulk {'met' if bulk >= TARGET else 'MISSED'}, "
              f"HTTP {THREADS} phones {'met' if http_rate >= TARGET else 'MISSED'}, "
              f"HTTP {2 * THREADS} phones {'met' if http8_rate >= TARGET else 'MISSED'}, "
              f"live {THREADS} senders {'met' if live >= TARGET else 'MISSED'}, "
              f"live 1 sender {'met' if live_seq >= TARGET else 'MISSED'}")
    finally:
        engine.dispose()
        get_engine(settings, role="owner").dispose()
        drop_database(settings)


if __name__ == "__main__":
    main()
