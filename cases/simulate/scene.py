"""The places cases happen, prepared once from the reference layers (in EPSG:4549 metres), and
vectorised samplers over them.

Every sampler returns metric ``x, y`` arrays plus an ``anchor`` index (which POI, road or
polygon the point came from) so callers can tie time to place (a POI's hours, a road's name).
No sampler loops per point; the loops are over a few POI groups or rejection rounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import to_m


@dataclass
class Lines:
    """Line pieces to sample along, each tied to an anchor (e.g. the POI it is near)."""
    geoms: np.ndarray
    weight: np.ndarray
    anchor: np.ndarray  # int per piece
    road: np.ndarray  # index into Scene.roads per piece (-1: not a road)

    def __len__(self) -> int:
        return len(self.geoms)


@dataclass
class Scene:
    """The reference layers as the generator needs them, in EPSG:4549 metres: roads, POIs, grids
    (with their core and ``d_rel``: 0 at the core's centre .. 1 at its fringe), communities
    with polygons, towns (subdistricts outside the urban cores) and each community's post."""
    roads: pd.DataFrame  # id, name, kind, length_m, geometry (metres)
    pois: pd.DataFrame  # id, name, kind, opening_hours, busy_hours, grid_code, x, y
    grids: pd.DataFrame  # code, subdistrict_code, county_code, geometry (metres), core, d_rel
    communities: pd.DataFrame  # code, name, grid_code, geometry (metres): the 117 with polygons
    towns: pd.DataFrame  # subdistricts outside the urban cores: code, name, x, y (seat)
    posts: dict = field(default_factory=dict)  # community_code -> post code
    _road_tree: shapely.STRtree | None = None

    @classmethod
    def from_layers(cls, layers: dict[str, gpd.GeoDataFrame]) -> Scene:
        """The scene from ``{collection id: GeoDataFrame}`` (``posts`` optional): roads of 5 m or
        less are dropped, grids within 50 m of each other form a core, a town's seat is a point
        well inside it."""
        def metric(frame: gpd.GeoDataFrame) -> pd.DataFrame:
            frame = frame[frame.geometry.notna()]
            if frame.crs is not None and frame.crs.to_epsg() != 4326:
                frame = frame.to_crs(4326)
            out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            out["geometry"] = to_m(frame.geometry.to_numpy())
            return out.reset_index(drop=True)

        roads = metric(layers["roads"]).sort_values("id", ignore_index=True)
        roads["length_m"] = shapely.length(roads["geometry"].to_numpy())
        roads = roads[roads["length_m"] > 5].reset_index(drop=True)
        pois = metric(layers["pois"]).sort_values("id", ignore_index=True)
        xy = shapely.get_coordinates(pois["geometry"].to_numpy())
        pois["x"], pois["y"] = xy[:, 0], xy[:, 1]

        grids = metric(layers["grids"]).sort_values("code", ignore_index=True)
        # cores: connected clusters of grids; d_rel = a grid's distance from its core's
        # centre relative to the farthest grid of that core (0 centre .. 1 fringe)
        g = grids["geometry"].to_numpy()
        cores = shapely.get_parts(shapely.union_all(shapely.buffer(g, 50)))
        core_of = shapely.STRtree(cores).query(shapely.point_on_surface(g), predicate="within")
        core_idx = np.zeros(len(g), dtype=int)
        core_idx[core_of[0]] = core_of[1]
        cen = shapely.get_coordinates(shapely.centroid(g))
        d_rel = np.zeros(len(g))
        for k in np.unique(core_idx):
            sel = core_idx == k
            w = shapely.area(g[sel])
            c = (cen[sel] * w[:, None]).sum(0) / w.sum()
            d = np.hypot(*(cen[sel] - c).T)
            d_rel[sel] = d / d.max() if d.max() > 0 else 0
        grids["core"], grids["d_rel"] = core_idx, d_rel

        comms = metric(layers["communities"]).sort_values("code", ignore_index=True)
        subs = metric(layers["subdistricts"]).sort_values("code", ignore_index=True)
        towns = subs[~subs["urban_core"].astype(bool)] if "urban_core" in subs else subs.iloc[0:0]
        # the seat of a town: a point well inside it (the layers carry no seat points)
        seat = shapely.get_coordinates(shapely.point_on_surface(towns["geometry"].to_numpy()))
        towns = towns[["code", "name", "kind"]].assign(x=seat[:, 0], y=seat[:, 1],
                                                      area=shapely.area(towns["geometry"].to_numpy()))
        posts = {}
        if "posts" in layers:
            p = layers["posts"].sort_values("code")
            posts = dict(zip(p["community_code"], p["code"]))
        return cls(roads, pois, grids, comms, towns.reset_index(drop=True), posts)

    # --- lookups ----------------------------------------------------------------------

    @property
    def road_tree(self) -> shapely.STRtree:
        """STRtree of the road geometries, built on first use."""
        if self._road_tree is None:
            self._road_tree = shapely.STRtree(self.roads["geometry"].to_numpy())
        return self._road_tree

    def pois_of(self, *kinds: str) -> pd.DataFrame:
        """The POIs of the given kinds."""
        return self.pois[self.pois["kind"].isin(kinds)]

    # --- line sets ----------------------------------------------------------------------

    def roads_near(self, pois: pd.DataFrame, radius: float, kinds=("arterial", "local"),
                   poi_weight: np.ndarray | None = None) -> Lines:
        """Road pieces within ``radius`` of each POI (clipped to the disc), anchored to the
        POI's position in ``pois``; weight = piece length x POI weight."""
        centres = shapely.points(pois["x"].to_numpy(), pois["y"].to_numpy())
        discs = shapely.buffer(centres, radius, quad_segs=8)
        p_idx, r_idx = self.road_tree.query(discs, predicate="intersects")
        keep = self.roads["kind"].to_numpy()[r_idx]
        keep = np.isin(keep, kinds)
        p_idx, r_idx = p_idx[keep], r_idx[keep]
        pieces = shapely.intersection(self.roads["geometry"].to_numpy()[r_idx], discs[p_idx])
        parts, which = shapely.get_parts(pieces, return_index=True)
        lines = shapely.get_type_id(parts) == 1
        parts, which = parts[lines], which[lines]
        length = shapely.length(parts)
        ok = length > 1.0
        parts, which = parts[ok], which[ok]
        w = poi_weight if poi_weight is not None else np.ones(len(pois))
        return Lines(parts, shapely.length(parts) * w[p_idx[which]], p_idx[which], r_idx[which])

    def road_lines(self, kinds=("arterial", "local"), weight: np.ndarray | None = None) -> Lines:
        """Whole roads of ``kinds`` to sample along, weighted by length (times the per-road
        ``weight`` when given), each anchored to its road index."""
        sel = np.flatnonzero(self.roads["kind"].isin(kinds).to_numpy())
        w = self.roads["length_m"].to_numpy()[sel]
        if weight is not None:
            w = w * weight[sel]
        return Lines(self.roads["geometry"].to_numpy()[sel], w, sel, sel)

    def fringe_lines(self, power: float = 3.0) -> Lines:
        """Grid boundaries weighted towards the grids far from their core's centre."""
        g = self.grids["geometry"].to_numpy()
        rings = shapely.boundary(g)
        parts, which = shapely.get_parts(rings, return_index=True)
        d_rel = self.grids["d_rel"].to_numpy()[which]
        w = shapely.length(parts) * d_rel ** power
        return Lines(parts, w, which, np.full(len(parts), -1))


# --- samplers -------------------------------------------------------------------------------


def along(lines: Lines, n: int, rng: np.random.Generator, side: float = 6.0,
          side_sd: float = 3.0, select: np.ndarray | None = None):
    """Points along line pieces (chosen by weight), pushed ``side`` +- ``side_sd`` m off the
    centre line to either side (pavements, shop fronts). Returns x, y, piece index."""
    if n == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=int)
    w = lines.weight if select is None else np.where(select, lines.weight, 0.0)
    piece = rng.choice(len(lines), size=n, p=w / w.sum())
    geoms = lines.geoms[piece]
    length = shapely.length(geoms)
    d = rng.random(n) * length
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, d))
    step = np.where(d + 1.0 <= length, 1.0, -1.0)
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, d + step))
    tx, ty = (p1 - p0).T * step
    norm = np.hypot(tx, ty)
    norm[norm == 0] = 1.0
    off = (side + side_sd * rng.standard_normal(n)) * rng.choice([-1.0, 1.0], size=n)
    x = p0[:, 0] - ty / norm * off
    y = p0[:, 1] + tx / norm * off
    return x, y, piece


def around(cx: np.ndarray, cy: np.ndarray, sd: float | np.ndarray, rng: np.random.Generator):
    """Gaussian scatter around centres (one centre per point)."""
    n = len(cx)
    return cx + sd * rng.standard_normal(n), cy + sd * rng.standard_normal(n)


def inside(polys: np.ndarray, weight: np.ndarray, n: int, rng: np.random.Generator):
    """Uniform points inside polygons chosen by weight (rejection in each bounding box,
    a few vectorised rounds). Returns x, y, polygon index."""
    x, y, idx = np.empty(n), np.empty(n), np.empty(n, dtype=int)
    if n == 0:
        return x, y, idx
    shapely.prepare(polys)
    bounds = shapely.bounds(polys)
    todo = np.arange(n)
    idx[:] = rng.choice(len(polys), size=n, p=weight / weight.sum())
    for _ in range(60):
        b = bounds[idx[todo]]
        cx = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        hit = shapely.contains_xy(polys[idx[todo]], cx, cy)
        x[todo[hit]], y[todo[hit]] = cx[hit], cy[hit]
        todo = todo[~hit]
        if len(todo) == 0:
            break
    if len(todo):  # pathological slivers: use a point on the surface
        pos = shapely.get_coordinates(shapely.point_on_surface(polys[idx[todo]]))
        x[todo], y[todo] = pos[:, 0], pos[:, 1]
    return x, y, idx


def gps_error(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, sd: float = 8.0):
    """Phone/GPS error: ~8 m per axis (about 10 m on average)."""
    return x + sd * rng.standard_normal(len(x)), y + sd * rng.standard_normal(len(y))
