"""Loading a simulated case history: generator -> locate -> COPY -> commit, in cases/s.

N = 200,000 cases are generated (``cases.simulate.cases.simulate_cases``), located by the
foundation's rule in process (``gis.location.Locator``) and written with one binary COPY
(``cases.simulate.load.bulk_load_cases``) into a scratch database made for the run (so the
numbers do not depend on what the dev database holds, and the dev data is left alone).

Peer: the obvious way, row-by-row SQLAlchemy Core inserts (one ``INSERT ... VALUES`` per
case, one transaction) of a 2,000-case sample of the same frame, locations assigned the same
way. Prints both rates and the ratio.

``python -m bench cases_load`` (``make bench`` runs every bench).
"""
from __future__ import annotations

import os
import time

import numpy as np
import sqlalchemy as sa

N = int(os.environ.get("CITYGRID_BENCH_CASES", 200_000))
PEER_N = 2_000
DB_NAME = f"citygrid_bench_cases_{os.getpid()}"  # per run: two runs at once must not collide
LOAD_OPTIONS: dict = {}


def _scratch_settings():
    from citygrid.settings import get_settings

    return get_settings().model_copy(update={"db_name": DB_NAME})


def _row_by_row(engine, frame) -> int:
    from citygrid.db.schema import cases
    from cases.simulate.load import COPY_COLUMNS

    cols = [c for c in COPY_COLUMNS if c not in ("geom", "attributes")]
    records = frame[[c for c in cols if c in frame]].astype(object).where(frame.notna(), None).to_dict("records")
    with engine.begin() as conn:
        for rec, lon, lat in zip(records, frame["lon"], frame["lat"]):
            conn.execute(cases.insert().values(**rec, geom=f"SRID=4326;POINT({lon} {lat})"))
    return len(records)


def main() -> None:
    from citygrid.db.cluster import Cluster
    from citygrid.db.engine import drop_database, get_engine
    from citygrid.db.migrate import migrate
    from cases.simulate.cases import Prepared, assign_locations, stream_cases
    from cases.simulate.load import bulk_load_cases
    from gis.layers.build import build_all
    from gis.layers.load import load_layers
    from gis.location import Locator

    settings = _scratch_settings()
    if not settings.database_url:
        Cluster(settings).start()
    drop_database(settings)
    migrate(settings)
    layers = build_all()
    owner = get_engine(settings, role="owner")
    load_layers(owner, layers)
    try:
        # once per process: the layers in metres, the work calendar, the location index
        t_setup = time.perf_counter()
        prepared = Prepared.build(layers)
        locator = Locator.from_layers(layers)
        print(f"setup (layers prepared, locator built, once per process): {time.perf_counter() - t_setup:.2f} s")
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        # the generator draws every random choice up front, then makes the case table chunk by
        # chunk while the loader locates, encodes and COPYs the previous chunks
        stream = stream_cases(prepared, n=N, seed=42)
        t_gen = time.perf_counter()
        timings: dict = {}
        written = bulk_load_cases(owner, stream, locator=locator, posts=prepared.scene.posts,
                                  timings=timings, **LOAD_OPTIONS)
        t_end = time.perf_counter()
        with owner.connect() as conn:
            counted = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
        ours = written / (t_end - t0)
        print(f"cases: {N:,}  written: {written:,}  in the table: {counted:,}  "
              f"(load average before: {load_before:.2f} on {os.cpu_count()} cores)")
        print(f"draw {t_gen - t0:.2f} s + make chunks/locate/COPY/commit {t_end - t_gen:.2f} s "
              f"= {t_end - t0:.2f} s  ->  {ours:,.0f} cases/s end to end")

        print("  inside the load:", ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in timings.items()))
        frame = stream.draw.frame()
        sample = frame.iloc[np.random.default_rng(1).choice(len(frame), PEER_N, replace=False)].copy()
        sample["external_id"] = sample["external_id"] + "-peer"
        t1 = time.perf_counter()
        sample = assign_locations(sample, locator, prepared.scene.posts)
        n_peer = _row_by_row(get_engine(settings), sample)
        t2 = time.perf_counter()
        peer = n_peer / (t2 - t1)
        print(f"peer, row-by-row SQLAlchemy inserts of {n_peer:,}: {t2 - t1:.2f} s  ->  {peer:,.0f} cases/s")
        print(f"ratio (ours / peer): {ours / peer:.1f}x")
    finally:
        owner.dispose()
        get_engine(settings).dispose()
        drop_database(settings)


if __name__ == "__main__":
    main()
