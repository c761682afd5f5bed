"""Patrol reports over the database: mileage per officer / team / grid / day / campaign, the
share of each grid's streets that patrols covered, and a campaign's summary.

Only stopped patrols count (their mileage is measured at stop). Days are Shanghai dates
(``patrols.patrol_date``). Kilometres are patrol.mileage's geodesic cleaned distance;
``km_sd`` is the spread to expect of a sum of outings' km against what was walked: each
outing's own ``distance_sd_m`` (patrol.mileage.distance_sd_m) added in quadrature, the
outings' errors being independent of each other. A bias common to many outings (-0.15 to
-0.3 % at low GPS noise: patrol.mileage) does not shrink so; over a campaign it, not km_sd,
bounds the total. Outings measured before migration 0009 have no spread and add none.

Problems found on a campaign: cases with ``source = 'patrol'`` reported by a user linked to the
outing's officer (``cases.reporter_username`` -> ``users.officer_id``) between the outing's
``started_at`` and ``stopped_at`` (inclusive); each case counts once even if outings overlap.
Rectified: those in a closed state (closed or evaluated) now.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.db.where import Where
from citygrid.errors import InvalidInput, NotFound
from citygrid.vocab import CLOSED_STATES

BY = ("officer", "team", "grid", "day", "campaign")
COVER_M = 15.0  # a street piece is covered when a cleaned track passes within this distance
PIECE_M = 10.0  # streets are cut into pieces of at most this length for the coverage test


def _filters(campaign=None, start: datetime | None = None, end: datetime | None = None,
             alias: str = "p") -> tuple[str, dict]:
    w = Where(f"{alias}.status = 'stopped'").add_if(campaign, f"{alias}.campaign = :?")
    w.period(f"{alias}.started_at", start, end)
    return w.joined(), w.params


def mileage(engine: Engine, by: str, *, campaign: str | None = None, start: datetime | None = None,
            end: datetime | None = None) -> list[dict]:
    """Outings, officers and km grouped ``by`` one of BY (grid: metres per grid from per_grid_m)."""
    if by not in BY:
        raise InvalidInput(f"unknown grouping {by!r}; expected one of {', '.join(BY)}",
                           [{"where": "by", "problem": "unknown grouping"}])
    where, params = _filters(campaign, start, end)
    if by == "grid":
        sql = (
            "SELECT g.key AS grid_code, count(DISTINCT p.id) AS outings, "
            "count(DISTINCT p.officer_id) AS officers, sum(g.value::float8) / 1000.0 AS km "
            f"FROM patrols p CROSS JOIN LATERAL jsonb_each_text(coalesce(p.per_grid_m, '{{}}'::jsonb)) g "
            f"WHERE {where} GROUP BY g.key ORDER BY g.key")
    else:
        key = {"officer": "p.officer_id, o.badge, o.name",
               "team": "p.team_id, d.code, d.name",
               "day": "p.patrol_date",
               "campaign": "p.campaign"}[by]
        names = {"officer": "p.officer_id AS officer_id, o.badge, o.name",
                 "team": "p.team_id AS team_id, d.code AS team_code, d.name AS team_name",
                 "day": "p.patrol_date AS day",
                 "campaign": "p.campaign AS campaign"}[by]
        sql = (
            f"SELECT {names}, count(*) AS outings, count(DISTINCT p.officer_id) AS officers, "
            "sum(p.distance_m) / 1000.0 AS km, sqrt(sum(p.distance_sd_m ^ 2)) / 1000.0 AS km_sd, "
            "sum(p.raw_distance_m) / 1000.0 AS raw_km, "
            "sum(p.moving_time_s) / 3600.0 AS moving_h, sum(p.stop_time_s) / 3600.0 AS stop_h "
            "FROM patrols p JOIN officers o ON o.id = p.officer_id LEFT JOIN departments d ON d.id = p.team_id "
            f"WHERE {where} GROUP BY {key} ORDER BY {key}")
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float):
                r[k] = round(v, 3)
            elif hasattr(v, "isoformat"):
                r[k] = v.isoformat()
    return rows


def street_coverage(engine: Engine, *, campaign: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, within_m: float = COVER_M, piece_m: float = PIECE_M,
                    grid_codes: list[str] | None = None) -> list[dict]:
    """Per grid: street length (roads clipped to the grid) and the share within ``within_m`` of a
    cleaned patrol track. Streets are cut into <= ``piece_m`` pieces in EPSG:4549 (metres); a
    piece is covered when its midpoint is within ``within_m`` of a track (STRtree dwithin,
    vectorised). Lengths are planar 4549 metres (scale error ~1e-4 around Rizhao)."""
    where, params = _filters(campaign, start, end)
    gfilter = "WHERE g.code = ANY(:codes)" if grid_codes else ""
    if grid_codes:
        params["codes"] = list(grid_codes)
    with engine.connect() as conn:
        streets = conn.execute(sa.text(
            "SELECT g.code, ST_AsBinary(ST_Intersection(ST_Transform(r.geom, 4549), ST_Transform(g.geom, 4549))) "
            f"FROM grids g JOIN roads r ON ST_Intersects(r.geom, g.geom) {gfilter} ORDER BY g.code"),
            params).all()
        tracks = conn.execute(sa.text(
            f"SELECT ST_AsBinary(ST_Transform(p.geom, 4549)) FROM patrols p WHERE {where} AND p.geom IS NOT NULL"),
            params).scalars().all()
        all_codes = conn.execute(sa.text(f"SELECT g.code FROM grids g {gfilter} ORDER BY g.code"),
                                 params).scalars().all()
    if not streets:
        return [{"grid_code": c, "street_m": 0.0, "covered_m": 0.0, "share": None} for c in all_codes]
    codes = np.array([r[0] for r in streets], dtype=object)
    geoms = shapely.from_wkb([bytes(r[1]) for r in streets])
    # lines only (an intersection can yield points where a road touches the boundary)
    parts, part_idx = shapely.get_parts(geoms, return_index=True)
    lines = shapely.get_type_id(parts) == 1
    parts, part_idx = parts[lines], part_idx[lines]
    parts = shapely.segmentize(parts, piece_m)
    xy, li = shapely.get_coordinates(parts, return_index=True)
    a = np.flatnonzero(li[1:] == li[:-1])
    seg_len = np.hypot(xy[a + 1, 0] - xy[a, 0], xy[a + 1, 1] - xy[a, 1])
    seg_code = codes[part_idx[li[a]]]
    covered = np.zeros(len(a), bool)
    if tracks and len(a):
        # the tracks as 2-point segments: a distance test against a segment is O(1), against
        # a whole track O(vertices)
        txy, ti = shapely.get_coordinates(shapely.from_wkb([bytes(t) for t in tracks]), return_index=True)
        k = np.flatnonzero(ti[1:] == ti[:-1])
        segs = shapely.linestrings(np.stack([txy[k], txy[k + 1]], axis=1))
        tree = shapely.STRtree(segs)
        mids = shapely.points((xy[a] + xy[a + 1]) / 2)
        hit, _ = tree.query(mids, predicate="dwithin", distance=within_m)
        covered[np.unique(hit)] = True
    frame = pd.DataFrame({"grid_code": seg_code, "street_m": seg_len, "covered_m": np.where(covered, seg_len, 0.0)})
    sums = frame.groupby("grid_code")[["street_m", "covered_m"]].sum()
    out = []
    for c in all_codes:
        s = float(sums.loc[c, "street_m"]) if c in sums.index else 0.0
        v = float(sums.loc[c, "covered_m"]) if c in sums.index else 0.0
        out.append({"grid_code": c, "street_m": round(s, 1), "covered_m": round(v, 1),
                    "share": round(v / s, 4) if s > 0 else None})
    return out


PROBLEMS_SQL = """
WITH outings AS (
  SELECT p.id, p.officer_id, p.started_at, coalesce(p.stopped_at, now()) AS stopped_at
  FROM patrols p WHERE p.campaign = :campaign AND p.status = 'stopped'
)
SELECT DISTINCT c.id, c.status, o.officer_id
FROM outings o
JOIN users u ON u.officer_id = o.officer_id
JOIN cases c ON c.reporter_username = u.username AND c.source = 'patrol'
 AND c.reported_at BETWEEN o.started_at AND o.stopped_at
"""


def campaign_report(engine: Engine, name: str) -> dict:
    """Outings, officers, km, problems found and the rectified share of a campaign."""
    with engine.connect() as conn:
        head = conn.execute(sa.text(
            "SELECT count(*) AS outings, count(DISTINCT officer_id) AS officers, "
            "coalesce(sum(distance_m), 0) / 1000.0 AS km, coalesce(sum(moving_time_s), 0) / 3600.0 AS moving_h, "
            "min(started_at) AS first_start, max(stopped_at) AS last_stop, "
            "count(*) FILTER (WHERE status = 'active') AS active "
            "FROM patrols WHERE campaign = :campaign"), {"campaign": name}).mappings().one()
        if head["outings"] == 0:
            raise NotFound(f"no patrol in campaign {name!r}")
        problems = pd.DataFrame(conn.execute(sa.text(PROBLEMS_SQL), {"campaign": name}).mappings().all(),
                                columns=["id", "status", "officer_id"])
        by_officer = [dict(r) for r in conn.execute(sa.text(
            "SELECT p.officer_id, o.badge, o.name, count(*) AS outings, "
            "coalesce(sum(p.distance_m), 0) / 1000.0 AS km, "
            "coalesce(sqrt(sum(p.distance_sd_m ^ 2)), 0) / 1000.0 AS km_sd "
            "FROM patrols p JOIN officers o ON o.id = p.officer_id "
            "WHERE p.campaign = :campaign AND p.status = 'stopped' GROUP BY p.officer_id, o.badge, o.name "
            "ORDER BY p.officer_id"), {"campaign": name}).mappings()]
    cases = problems.drop_duplicates("id")
    found = len(cases)
    rectified = int(cases["status"].isin(CLOSED_STATES).sum())
    per_officer = problems.groupby("officer_id").agg(found=("id", "nunique"),
                                                     rectified=("status", lambda s: int(s.isin(CLOSED_STATES).sum())))
    for r in by_officer:
        r["km"] = round(float(r["km"]), 3)
        r["km_sd"] = round(float(r["km_sd"]), 3)
        oid = r["officer_id"]
        r["problems_found"] = int(per_officer.loc[oid, "found"]) if oid in per_officer.index else 0
        r["rectified"] = int(per_officer.loc[oid, "rectified"]) if oid in per_officer.index else 0
    stopped = head["outings"] - head["active"]
    return {
        "campaign": name,
        "outings": int(stopped),
        "active_outings": int(head["active"]),
        "officers": int(len(by_officer)),
        "km": round(float(head["km"]), 3),
        "moving_h": round(float(head["moving_h"]), 2),
        "first_start": head["first_start"].isoformat() if head["first_start"] else None,
        "last_stop": head["last_stop"].isoformat() if head["last_stop"] else None,
        "problems_found": found,
        "rectified": rectified,
        "rectified_share": round(rectified / found, 4) if found else None,
        "by_officer": by_officer,
        "tracks": "/collections/patrol_tracks/items?" + urlencode({"campaign": name}),
    }
