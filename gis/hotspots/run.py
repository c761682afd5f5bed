"""One entry point: hotspots(cases, method=...) -> GeoDataFrame, with clear InvalidInput
errors for every bad request (unknown category/method/unit, empty period, too few cases)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from citygrid import vocab
from citygrid.errors import InvalidInput
from citygrid.workcal import TZ as LOCAL_TZ  # months are the city's calendar months
from gis.hotspots import clusters, emerging, gistar, units, weights

METHODS = ("gi_star", "clusters", "emerging")


def _bad(field: str, message: str, **extra) -> InvalidInput:
    return InvalidInput(message, [{"field": field, "problem": message, **extra}])


def _check(cases, method, unit, category, start, end) -> tuple:
    if method not in METHODS:
        raise _bad("method", f"unknown method {method!r}; valid: {', '.join(METHODS)}", value=method)
    if method != "clusters" and unit not in units.UNITS:
        raise _bad("unit", f"unknown unit {unit!r}; valid: {', '.join(units.UNITS)}", value=unit)
    if category is not None:
        try:
            vocab.category(category)
        except vocab.UnknownCategory as exc:
            raise _bad("category", str(exc), value=category) from None
    if not isinstance(cases, gpd.GeoDataFrame):
        raise _bad("cases", "cases must be a GeoDataFrame of points")
    missing = [c for c in ("category", "reported_at") if c not in cases.columns]
    if missing:
        raise _bad("cases", f"cases lack column(s): {', '.join(missing)}")
    try:
        s = units.utc(start) if start is not None else None
        e = units.utc(end) if end is not None else None
    except (ValueError, TypeError) as exc:
        raise _bad("period", f"unreadable start/end: {exc}") from None
    if s is not None and e is not None and s >= e:
        raise _bad("period", f"empty period: start {start} is not before end {end}")
    if len(cases) and not (cases.geometry.geom_type.dropna() == "Point").all():
        raise _bad("cases", "cases must be point geometries")
    try:
        pd.to_datetime(cases["reported_at"], utc=True)
    except (ValueError, TypeError) as exc:
        raise _bad("reported_at", f"unreadable reported_at: {exc}") from None
    return s, e


def _gi_star(pts, unit, grids, permutations, seed, fdr) -> gpd.GeoDataFrame:
    agg = units.aggregate(pts, unit=unit, grids=grids)
    res = gistar.gi_star(agg["count"].to_numpy(), weights.for_unit(unit, agg),
                         fdr=fdr, permutations=permutations, seed=seed)
    out = agg.copy()
    out["gi"] = res["gi"]
    out["statistic"] = res["z"]          # Gi* z-score
    out["p_value"] = res["p"]
    out["gi_bin"] = res["bin"]
    out["island"] = res["island"]
    return out


def _emerging(pts, unit, grids, fdr) -> gpd.GeoDataFrame:
    unit_frame = units.build_units(unit, pts, grids)
    ids = units.assign_units(pts, unit, unit_frame)
    months = pd.to_datetime(pts["reported_at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.tz_localize(None) \
        .dt.to_period("M")
    span = pd.period_range(months.min(), months.max(), freq="M")
    if len(span) < 2:
        raise _bad("period", "emerging hot spots need cases in at least two months")
    frame = pd.DataFrame({"unit": ids, "month": months.to_numpy()}).dropna()
    cube = pd.crosstab(frame["unit"], frame["month"]).reindex(
        index=unit_frame["unit_id"], columns=span, fill_value=0).fillna(0).to_numpy(np.float64)
    adj = weights.for_unit(unit, unit_frame)
    z = np.zeros_like(cube)
    bins = np.zeros(cube.shape, dtype=np.int64)
    for t in range(cube.shape[1]):  # one Gi* slice per month (12-ish iterations)
        res = gistar.gi_star(cube[:, t], adj, fdr=fdr)
        z[:, t], bins[:, t] = res["z"], res["bin"]
    pattern, mk_z, mk_p = emerging.classify(z, bins)
    out = unit_frame.copy()
    out["count"] = cube.sum(axis=1).astype(np.int64)
    out["pattern"] = pattern
    out["statistic"] = mk_z               # Mann-Kendall trend z of the Gi* z-scores
    out["p_value"] = mk_p
    out["n_hot"] = (bins > 0).sum(axis=1)
    out["n_cold"] = (bins < 0).sum(axis=1)
    out["periods"] = len(span)
    return out


def hotspots(cases_gdf: gpd.GeoDataFrame, method: str = "gi_star", unit: str = "grid",
             category: str | None = None, start=None, end=None,
             grids: gpd.GeoDataFrame | None = None, *, permutations: int = 0, seed: int = 0,
             fdr: bool = True, eps_m: float = 50.0, min_samples: int = 5) -> gpd.GeoDataFrame:
    """Hot spots of cases; see the module docstring. Output is WGS84.

    gi_star: one row per unit (statistic = Gi* z, p_value, gi_bin, count).
    emerging: one row per unit (pattern, statistic = trend z, p_value, count).
    clusters: one row per DBSCAN cluster (count, first/last report, grid_code).
    """
    start_ts, end_ts = _check(cases_gdf, method, unit, category, start, end)
    pts = units.filter_points(cases_gdf, category, start_ts, end_ts)
    what = f"category {category!r}" if category else "any category"
    period = f" between {start or '-'} and {end or '-'}" if (start or end) else ""
    if len(pts) == 0:
        raise _bad("period", f"no cases of {what}{period}: empty period")
    if len(pts) == 1:
        raise _bad("cases", f"a single case of {what}{period}: hot spots need at least two")
    if method == "clusters":
        out = clusters.dbscan_clusters(pts, eps_m=eps_m, min_samples=min_samples, grids=grids)
        out["statistic"] = out["count"].astype(float)
        out["p_value"] = np.nan              # DBSCAN has no inference
        out["pattern"] = "cluster"
        return out
    if method == "emerging":
        return _emerging(pts, unit, grids, fdr)
    return _gi_star(pts, unit, grids, permutations, seed, fdr)


__all__ = ["METHODS", "hotspots"]
