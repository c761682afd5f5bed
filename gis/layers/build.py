"""Build every reference layer: ``build_all() -> {collection id: GeoDataFrame}``.

All layers come back in EPSG:4326 with a deterministic row order; the same sources
give byte-identical geometries.  Work is done in EPSG:4549 metres and converted at
the end.  See DATA_NOTE.md for what is real and what is GENERATED.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
import geopandas as gpd

from gis.crs import WGS84

from . import admin, airspace, grids, sources, streets
from citygrid.db.schema import REFERENCE_TABLES
from gis.crs import to_ll

from .geom import as_multipolygon, km2

# What each layer holds is the schema's (citygrid.db.schema.REFERENCE_TABLES, built from the
# catalog): the layers in that order, each with its table's columns but geom.
COLLECTIONS = tuple(REFERENCE_TABLES)
COLUMNS = {name: [c.name for c in table.columns if c.name != "geom"] for name, table in REFERENCE_TABLES.items()}

NAME_SUFFIXES = ("居民委员会", "村民委员会", "村民委会", "居委会", "村委会", "委员会")
POST_HOURS_DEFAULT = "Mo-Su 08:00-20:00"
# Lanshan's party-building + enforcement stations are staffed day and night
POST_HOURS_BY_COUNTY = {"371103": "24/7"}


def short_name(name: str) -> str:
    """A community's name without its committee suffix (居民委员会, 村委会, ...), unless that
    is all of it."""
    for suf in NAME_SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)]
    return name


def _gdf(rows, name: str, geoms_m) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows)[COLUMNS[name]] if len(rows) else pd.DataFrame(columns=COLUMNS[name])
    for col in df.columns:  # optional text columns: missing is None, not NaN
        if df[col].dtype != bool and df[col].isna().any():
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    geoms = np.asarray(geoms_m, dtype=object)
    present = np.array([g is not None for g in geoms], dtype=bool)
    out = np.full(len(geoms), None, dtype=object)
    if present.any():
        out[present] = to_ll(geoms[present])
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(out, crs=WGS84), crs=WGS84)


def _mp(g):
    return None if g is None else as_multipolygon(g)


def build_all() -> dict[str, gpd.GeoDataFrame]:
    """Build every layer of COLLECTIONS from the bundled sources: ``{collection id: GeoDataFrame}``
    in EPSG:4326 with the columns of COLUMNS, rows in a deterministic order."""
    streets_df = sources.division_streets()
    sub_name = dict(zip(streets_df["code"], streets_df["name"]))
    sub_county = dict(zip(streets_df["code"], streets_df["county_code"]))
    comm = admin.communities_table()
    comm["short"] = comm["name"].map(short_name)
    n_grids = admin.grid_allocation(comm)
    post_comm = comm[comm["has_post"]]

    # --- urban cores: streets, blocks, grids, communities ------------------------
    cores_m = admin.core_extents_m()
    grid_parts, comm_parts, road_parts, poi_parts = [], [], [], []
    core_sub_geoms = {}
    villages = comm[(comm["kind"] == "村") & ~comm["has_post"]]
    for key in sorted(cores_m):
        net = streets.build_network(key, cores_m[key], admin.CORES[key]["theta"])
        block_sub = grids.split_core(key, net, n_grids)
        res = grids.make_grids(net, block_sub, n_grids, post_comm)
        for sub in sorted(set(block_sub)):
            core_sub_geoms[sub] = shapely.coverage_union_all(net.blocks[block_sub == sub])
        grid_parts.append(res.grids)
        comm_parts.append(res.communities)
        r = net.roads.copy()
        r["core"] = key
        road_parts.append(r)
        p = streets.make_pois(key, net, block_sub, villages)
        poi_parts.append(p)
    grids_m = pd.concat(grid_parts, ignore_index=True).sort_values("code", ignore_index=True)
    comms_m = pd.concat(comm_parts, ignore_index=True).sort_values("code", ignore_index=True)

    # --- districts and subdistricts --------------------------------------------
    zone_m = shapely.union_all([core_sub_geoms[c] for c in sorted(core_sub_geoms)
                                if sub_county[c] == admin.ZONE_CODE])
    districts_m = admin.district_outlines_m(zone_m)
    sub_geoms_m = admin.subdistrict_geoms_m(core_sub_geoms, cores_m)

    areas = sources.division_areas()
    d_rows, d_geoms = [], []
    for code in sorted(districts_m):
        name, name_en, kind = admin.DISTRICT_META[code]
        assert name == dict(zip(areas["code"], areas["name"]))[code]
        if code == admin.ZONE_CODE:
            src = ("GENERATED: union of the generated outlines of 北京路街道 and 奎山街道; "
                   + sources.DIVISION_SOURCE)
        else:
            src = sources.AMAP_SOURCE.format(code=code)
            if code == "371103":
                src += "; Qiansan islands 前三岛 from " + sources.FASTGEOCN_SOURCE
            if code == admin.ZONE_PARENT:
                src += "; minus the GENERATED development-zone outline (371171)"
        g = _mp(districts_m[code])
        d_rows.append(dict(code=code, name=name, name_en=name_en, kind=kind, source=src,
                           generated=code == admin.ZONE_CODE, area_km2=float(km2(g))))
        d_geoms.append(g)

    s_rows, s_geoms = [], []
    for code in streets_df["code"]:
        g = _mp(sub_geoms_m[code])
        s_rows.append(dict(code=code, name=sub_name[code], county_code=sub_county[code],
                           kind=admin.subdistrict_kind(code, sub_name[code]),
                           urban_core=code in admin.CORE_SUBDISTRICTS,
                           generated=code != admin.ISLANDS_SUBDISTRICT,
                           area_km2=float(km2(g))))
        s_geoms.append(g)

    # --- grids -------------------------------------------------------------------
    g_rows = []
    for r in grids_m.itertuples():
        gname = f"{sub_name[r.subdistrict_code]}第{r.serial:02d}网格"
        g_rows.append(dict(code=r.code, name=gname, subdistrict_code=r.subdistrict_code,
                           county_code=sub_county[r.subdistrict_code],
                           leader=grids.person_name("grid", r.code),
                           party_branch=f"{gname}党支部",
                           area_km2=float(km2(r.geometry)), generated=True))

    # --- communities (all 1,679) -------------------------------------------------
    cgeom = dict(zip(comms_m["code"], comms_m["geometry"]))
    cgrid = dict(zip(comms_m["code"], comms_m["grid_code"]))
    c_rows, c_geoms = [], []
    for r in comm.itertuples():
        g = cgeom.get(r.code)
        c_rows.append(dict(code=r.code, name=r.name, subdistrict_code=r.subdistrict_code,
                           county_code=r.county_code, kind=r.kind, has_post=bool(r.has_post),
                           grid_code=cgrid.get(r.code), generated=g is not None))
        c_geoms.append(_mp(g))
    assert set(cgeom) == set(post_comm["code"])

    # --- posts ---------------------------------------------------------------------
    pts = grids.post_points(comms_m["geometry"].to_numpy())
    short = dict(zip(comm["code"], comm["short"]))
    p_rows = []
    for r in comms_m.itertuples():
        county = r.code[:6]
        p_rows.append(dict(code=r.code, name=f"{short[r.code]}城市管理服务岗",
                           community_code=r.code, grid_code=r.grid_code,
                           subdistrict_code=r.code[:9], county_code=county,
                           opening_hours=POST_HOURS_BY_COUNTY.get(county, POST_HOURS_DEFAULT),
                           phone=grids.phone("post", r.code), generated=True))

    # --- roads -----------------------------------------------------------------------
    roads_m = pd.concat(road_parts, ignore_index=True)
    core_subs = list(core_sub_geoms)
    tree = shapely.STRtree([core_sub_geoms[c] for c in core_subs])
    mids = shapely.line_interpolate_point(roads_m["geometry"].to_numpy(), 0.5, normalized=True)
    roads_m["county_code"] = _first_county(tree, mids, [sub_county[c] for c in core_subs])
    roads_m["length_m"] = shapely.length(roads_m["geometry"].to_numpy())
    xy = shapely.get_coordinates(mids)
    roads_m["_x"], roads_m["_y"] = xy[:, 0].round(3), xy[:, 1].round(3)
    roads_m["_k"] = roads_m["kind"].map({"arterial": 0, "local": 1})
    roads_m = roads_m.sort_values(["core", "_k", "name", "_y", "_x"], ignore_index=True)
    roads_m["id"] = np.arange(1, len(roads_m) + 1)
    roads_m["generated"] = True

    # --- POIs ------------------------------------------------------------------------
    pois_m = pd.concat(poi_parts, ignore_index=True)
    gtree = shapely.STRtree(grids_m["geometry"].to_numpy())
    p_in, g_in = gtree.query(pois_m["geometry"].to_numpy(), predicate="within")
    grid_of = np.full(len(pois_m), None, dtype=object)
    grid_of[p_in] = grids_m["code"].to_numpy()[g_in]
    pois_m["grid_code"] = grid_of
    pois_m["county_code"] = _first_county(tree, pois_m["geometry"].to_numpy(),
                                          [sub_county[c] for c in core_subs])
    pois_m["id"] = np.arange(1, len(pois_m) + 1)
    pois_m["generated"] = True

    # --- airspace, service area ------------------------------------------------------
    air_rows = airspace.airspace_rows_m(pois_m)
    service_m, _coast = admin.service_area_m()

    out = {
        "districts": _gdf(d_rows, "districts", d_geoms),
        "subdistricts": _gdf(s_rows, "subdistricts", s_geoms),
        "communities": _gdf(c_rows, "communities", c_geoms),
        "grids": _gdf(g_rows, "grids", grids_m["geometry"]),
        "posts": _gdf(p_rows, "posts", pts),
        "roads": _gdf(roads_m.to_dict("records"), "roads", roads_m["geometry"]),
        "pois": _gdf(pois_m.to_dict("records"), "pois", pois_m["geometry"]),
        "airspace": _gdf(air_rows, "airspace", [r["geometry"] for r in air_rows]),
        "service_area": _gdf([dict(name="日照市服务范围 (city incl. islands, 1 km seaward)")],
                             "service_area", [service_m]),
    }
    return out


def _first_county(tree, geoms, counties):
    """Lowest county code of the core subdistricts each geometry intersects."""
    gi, ti = tree.query(geoms, predicate="intersects")
    out = np.full(len(geoms), None, dtype=object)
    cc = np.asarray(counties, dtype=object)[ti]
    order = np.lexsort((cc.astype(str), gi))
    gi, cc = gi[order], cc[order]
    first = np.r_[True, gi[1:] != gi[:-1]] if len(gi) else np.zeros(0, bool)
    out[gi[first]] = cc[first]
    return out
