"""Reference-layer build (gis.layers): real values, tiling, determinism.  No database."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from gis.crs import GEOD, METRIC
from gis.layers import COLLECTIONS, COLUMNS, admin, build_all, sources
from gis.crs import to_m

TOL_M2 = 1.0
CORE_BOXES = {"A": (119.44, 35.34, 119.57, 35.47), "B": (119.28, 35.07, 119.43, 35.16)}
CORE_LAND = {"A": "371102", "B": "371103"}  # district outline each core is clipped to
CORE_SUBS = {"371102001": "日照街道", "371102002": "石臼街道", "371102004": "秦楼街道",
             "371171007": "北京路街道", "371171003": "奎山街道",
             "371103001": "岚山头街道", "371103002": "安东卫街道"}


@pytest.fixture(scope="module")
def layers():
    return build_all()  # its time: `python -m bench layers_build`


@pytest.fixture(scope="module")
def metric(layers):
    return {k: v.to_crs(METRIC) for k, v in layers.items()}


def _area_outside(a, b) -> float:
    return shapely.difference(a, b).area


# --- shape of the output ------------------------------------------------------------

def test_collections_columns_crs(layers):
    assert set(layers) == set(COLLECTIONS)
    for name, gdf in layers.items():
        assert list(gdf.columns) == COLUMNS[name] + ["geometry"], name
        assert gdf.crs.to_epsg() == 4326, name


def test_geometry_types(layers):
    def types(name):
        return set(layers[name].geometry.dropna().geom_type)
    assert types("districts") == {"MultiPolygon"}
    assert types("subdistricts") == {"MultiPolygon"}
    assert types("communities") == {"MultiPolygon"}
    assert types("grids") <= {"Polygon", "MultiPolygon"}
    assert types("posts") == {"Point"}
    assert types("roads") == {"LineString"}
    assert types("pois") == {"Point"}
    assert types("airspace") <= {"Polygon", "MultiPolygon"}
    assert types("service_area") == {"MultiPolygon"}
    assert len(layers["service_area"]) == 1


# --- source data ----------------------------------------------------------------

def test_core_subdistricts_and_109_communities():
    streets = sources.division_streets().set_index("code")["name"]
    for code, name in CORE_SUBS.items():
        assert streets[code] == name
    v = sources.division_villages()
    core = v[v["subdistrict_code"].isin(list(CORE_SUBS))]
    counts = core[core["name"].str.contains("社区")].groupby("subdistrict_code").size()
    assert counts.to_dict() == {"371102001": 43, "371102002": 14, "371102004": 24,
                                "371103001": 5, "371103002": 14, "371171003": 3,
                                "371171007": 6}
    assert counts.sum() == 109


def test_crosscheck_amap_conversion():
    """GCJ-02 -> WGS84 must move the Amap outlines onto the CGCS2000 ones."""
    ref = sources.fastgeocn_outlines()
    for code in (sources.CITY_CODE,) + sources.REAL_DISTRICTS:
        r = to_m(max(shapely.get_parts(ref[code]), key=lambda p: p.area)).exterior
        pts = shapely.line_interpolate_point(r, np.arange(0, r.length, 50.0))
        raw = to_m(sources.amap_outline_gcj02(code)).boundary
        conv = to_m(sources.amap_outline(code)).boundary
        d_raw = np.median(shapely.distance(pts, raw))
        d_conv = np.median(shapely.distance(pts, conv))
        print(f"{code}: median {d_raw:.0f} m -> {d_conv:.0f} m")
        assert d_conv < 250.0
        assert d_conv < d_raw - 100.0
    city_raw, city_conv = (to_m(sources.amap_outline_gcj02("371100")),
                           to_m(sources.amap_outline("371100")))
    city_ref = to_m(ref["371100"])
    iou = [a.intersection(city_ref).area / a.union(city_ref).area for a in (city_raw, city_conv)]
    assert iou[1] > iou[0] and iou[1] > 0.96


# --- districts and subdistricts --------------------------------------------------------

def test_districts(layers, metric):
    d = layers["districts"].set_index("code")
    assert list(d.index) == ["371102", "371103", "371121", "371122", "371171"]
    assert d.loc["371171", "kind"] == "zone" and bool(d.loc["371171", "generated"])
    assert list(d.loc[["371121", "371122"], "kind"]) == ["county", "county"]
    assert not d.loc[list(sources.REAL_DISTRICTS), "generated"].any()
    dm = metric["districts"].set_index("code").geometry
    # the zone is the union of its two subdistricts, cut out of Donggang
    s = metric["subdistricts"].set_index("code").geometry
    zone = shapely.union(s["371171003"], s["371171007"])
    assert zone.symmetric_difference(dm["371171"]).area < TOL_M2
    assert shapely.intersection(dm["371102"], dm["371171"]).area < TOL_M2
    amap_dg = to_m(sources.amap_outline("371102"))
    assert shapely.union(dm["371102"], dm["371171"]).symmetric_difference(amap_dg).area < TOL_M2
    # Wulian and Ju are the converted Amap outlines
    for code in ("371121", "371122"):
        assert dm[code].symmetric_difference(to_m(sources.amap_outline(code))).area < TOL_M2
    # areas (km2) roughly the official ones
    assert 5300 < d["area_km2"].sum() < 5500
    for code, g in dm.items():
        assert abs(g.area / 1e6 - d.loc[code, "area_km2"]) < 1e-6


def test_subdistricts(layers, metric):
    s = layers["subdistricts"]
    official = sources.division_streets()
    assert len(s) == 56
    assert list(s["code"]) == list(official["code"])
    assert list(s["name"]) == list(official["name"])
    assert set(s["kind"]) <= {"街道", "镇", "乡"}
    assert set(s.loc[s["urban_core"], "code"]) == set(CORE_SUBS)
    assert s["code"].str.len().eq(9).all()
    # subdistricts tile their districts
    sm = metric["subdistricts"]
    dm = metric["districts"].set_index("code").geometry
    for code, g in dm.items():
        parts = sm[sm["county_code"] == code].geometry.to_numpy()
        u = shapely.union_all(parts)
        assert u.symmetric_difference(g).area < TOL_M2, code
        assert shapely.area(parts).sum() - u.area < TOL_M2, code


def test_qiansan_islands_offshore(metric):
    sm = metric["subdistricts"].set_index("code").geometry
    islands = sm["371103200"]
    dm = metric["districts"].set_index("code").geometry
    for code in ("371102", "371103", "371121", "371122", "371171"):
        mainland = max(shapely.get_parts(dm[code]), key=lambda p: p.area)
        assert not islands.intersects(mainland)
        assert islands.distance(mainland) > 20_000  # tens of km offshore
    assert len(shapely.get_parts(islands)) >= 2


# --- grids ----------------------------------------------------------------------------

def test_grids_codes_and_counts(layers):
    g = layers["grids"]
    assert len(g) == 76
    assert g["code"].is_unique and g["code"].str.fullmatch(r"\d{14}").all()
    assert (g["code"].str[:9] == g["subdistrict_code"]).all()
    assert (g["code"].str[9:12] == "000").all()
    assert set(g["subdistrict_code"]) == set(CORE_SUBS)
    counts = g.groupby("subdistrict_code").size().to_dict()
    assert counts == {"371102001": 28, "371102002": 9, "371102004": 17, "371103001": 6,
                      "371103002": 10, "371171003": 2, "371171007": 4}
    for sub, grp in g.groupby("subdistrict_code"):
        serials = sorted(int(c[-2:]) for c in grp["code"])
        assert serials == list(range(1, len(grp) + 1))
    first = g.iloc[0]
    assert first["name"] == "日照街道第01网格" and first["party_branch"] == "日照街道第01网格党支部"
    assert g["leader"].str.len().between(2, 3).all()
    assert g["generated"].all()


def test_grids_inside_their_subdistrict(metric):
    g = metric["grids"]
    s = metric["subdistricts"].set_index("code").geometry
    outside = [_area_outside(geom, s[sub]) for geom, sub in zip(g.geometry, g["subdistrict_code"])]
    assert max(outside) < TOL_M2
    # and not in any other subdistrict
    for geom, sub in zip(g.geometry, g["subdistrict_code"]):
        assert abs(shapely.intersection(geom, s[sub]).area - geom.area) < TOL_M2


def test_grids_tile_the_urban_cores(layers, metric):
    g = metric["grids"].geometry.to_numpy()
    union = shapely.union_all(g)
    assert shapely.area(g).sum() - union.area < TOL_M2  # no overlaps
    cores = shapely.union_all([shapely.intersection(to_m(box(*b)), to_m(sources.amap_outline(CORE_LAND[k])))
                               for k, b in CORE_BOXES.items()])
    assert union.symmetric_difference(cores).area < TOL_M2  # no gaps, nothing outside
    assert {k: v["bbox"] for k, v in admin.CORES.items()} == CORE_BOXES
    a = layers["grids"]["area_km2"]
    assert abs(a.sum() - cores.area / 1e6) < 1e-3
    assert a.min() > 1.0 and a.max() < 10.0


def test_grid_edges_follow_roads(metric):
    """Every grid edge runs along a road or along the core outline."""
    g = metric["grids"].geometry.to_numpy()
    roads = shapely.union_all(metric["roads"].geometry.to_numpy())
    outline = shapely.union_all([
        shapely.intersection(to_m(box(*b)), to_m(sources.amap_outline(CORE_LAND[k]))).boundary
        for k, b in CORE_BOXES.items()])
    edges = shapely.union_all(shapely.boundary(g))
    off = shapely.difference(edges, shapely.buffer(shapely.union(roads, outline), 0.01))
    assert off.length < 1.0


# --- communities and posts -----------------------------------------------------------------

def test_communities_table(layers):
    c = layers["communities"]
    v = sources.division_villages()
    assert len(c) == 1679
    assert list(c["code"]) == list(v["code"]) and list(c["name"]) == list(v["name"])
    assert c["code"].str.fullmatch(r"\d{12}").all()
    assert (c["code"].str[:9] == c["subdistrict_code"]).all()
    assert (c["code"].str[:6] == c["county_code"]).all()
    assert set(c["kind"]) == {"社区", "村"}
    named = c["name"].str.contains("社区")
    assert (c.loc[named, "kind"] == "社区").all()
    posted = c[c["has_post"]]
    assert len(posted) == 117
    assert set(posted["subdistrict_code"]) == set(CORE_SUBS)
    assert posted["name"].str.contains("社区").sum() == 109
    assert (posted["kind"] == "社区").all()
    assert c["geometry"].notna().sum() == 117
    assert (c["geometry"].notna() == c["has_post"]).all()
    assert (c["grid_code"].notna() == c["has_post"]).all()
    assert (posted["grid_code"].str[:9] == posted["subdistrict_code"]).all()


def test_communities_tile_the_grids(metric):
    c = metric["communities"].dropna(subset=["geometry"])
    g = metric["grids"].set_index("code").geometry
    cg = c.geometry.to_numpy()
    assert shapely.area(cg).sum() - shapely.union_all(cg).area < TOL_M2
    assert shapely.union_all(cg).symmetric_difference(shapely.union_all(g.to_numpy())).area < TOL_M2
    for geom, grid in zip(cg, c["grid_code"]):
        assert _area_outside(geom, g[grid]) < TOL_M2
    per_grid = c.groupby("grid_code").size()
    assert set(per_grid.index) == set(g.index)
    assert per_grid.min() >= 1 and per_grid.max() <= 4


def test_posts(layers, metric):
    p = layers["posts"]
    assert len(p) == 117 and p["code"].is_unique
    assert (p["code"] == p["community_code"]).all()
    c = metric["communities"].set_index("code")
    pm = metric["posts"]
    for pt, code, grid in zip(pm.geometry, pm["community_code"], pm["grid_code"]):
        assert c.loc[code, "geometry"].contains(pt)
        assert c.loc[code, "grid_code"] == grid
    assert p["name"].str.endswith("城市管理服务岗").all()
    assert p["phone"].str.fullmatch(r"0633-\d{7}").all()
    assert (p.loc[p["county_code"] == "371103", "opening_hours"] == "24/7").all()
    assert p["generated"].all()


# --- roads and POIs -------------------------------------------------------------------------

def test_roads(layers, metric):
    r = layers["roads"]
    assert set(r["kind"]) == {"arterial", "local"}
    assert r["id"].is_unique and r["generated"].all()
    assert set(r["county_code"]) == {"371102", "371103", "371171"}
    lengths = shapely.length(metric["roads"].geometry.to_numpy())
    assert np.allclose(lengths, r["length_m"])
    total = r.groupby("kind")["length_m"].sum() / 1000
    assert 200 < total["arterial"] < 800 and 400 < total["local"] < 2000
    assert r["name"].str.endswith(("路", "街", "巷", "里")).all()
    assert r["name"].str.contains("东路").any() and r["name"].str.contains("西路").any()


def test_roads_form_a_walkable_graph(layers):
    """Street sections meet at exactly shared end points; almost all of the network
    is one connected graph per core (patrol routing)."""
    r = layers["roads"]
    xy = shapely.get_coordinates(shapely.boundary(r.geometry.to_numpy()))
    assert len(xy) == 2 * len(r)
    _, node = np.unique(xy, axis=0, return_inverse=True)
    node = node.ravel().reshape(-1, 2)
    parent = np.arange(node.max() + 1)

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in node:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comp = np.array([find(a) for a in node[:, 0]])
    length = r["length_m"].to_numpy()
    share = max(length[comp == c].sum() for c in np.unique(comp)) / length.sum()
    # two cores -> two big components
    big = sorted((length[comp == c].sum() for c in np.unique(comp)), reverse=True)
    assert (big[0] + big[1]) / length.sum() > 0.98, share
    # junctions: most nodes are T or X crossings
    deg = np.bincount(node.ravel())
    assert (deg >= 3).sum() > 0.8 * (deg != 2).sum()


def test_pois(layers, metric):
    p = layers["pois"]
    kinds = {"market", "night_market", "school", "nightlife", "construction_site",
             "urban_village", "substation", "fuel_depot"}
    assert set(p["kind"]) == kinds
    assert (p.loc[p["kind"] == "night_market", "opening_hours"] == "Mo-Su 18:00-23:30").all()
    assert p["generated"].all() and p["grid_code"].notna().all()
    g = metric["grids"].set_index("code").geometry
    for pt, grid in zip(metric["pois"].geometry, p["grid_code"]):
        assert g[grid].contains(pt)


# --- airspace and service area ------------------------------------------------------------

def _along_runway(dist_m):
    ap = sources.airport()
    lon, lat, _ = GEOD.fwd(ap["lon"], ap["lat"], 123.0, dist_m)
    return Point(lon, lat)


def test_airport_clearance_zone(layers):
    a = layers["airspace"].set_index("id")
    zone = a.loc["ZSRZ-clearance"]
    assert zone["kind"] == "controlled" and not zone["generated"]
    assert zone["floor_m"] == 0.0 and zone["ceiling_m"] > zone["floor_m"]
    geom = zone["geometry"]
    assert geom.contains(Point(119.324403, 35.405033))
    for sign in (1, -1):
        assert geom.contains(_along_runway(sign * 15_000))
        assert not geom.contains(_along_runway(sign * 25_000))
    # 10 km either side of the centre line
    ap = sources.airport()
    for bearing in (33.0, 213.0):
        lon, lat, _ = GEOD.fwd(ap["lon"], ap["lat"], bearing, 9_500)
        assert geom.contains(Point(lon, lat))
        lon, lat, _ = GEOD.fwd(ap["lon"], ap["lat"], bearing, 10_500)
        assert not geom.contains(Point(lon, lat))
    area = layers["airspace"].to_crs(METRIC).set_index("id").geometry["ZSRZ-clearance"].area
    assert abs(area / 1e6 - 20 * (2.59994 + 40)) < 0.5


def test_generated_airspace(layers):
    a = layers["airspace"]
    gen = a[a["id"] != "ZSRZ-clearance"]
    assert len(gen) >= 1
    assert gen["generated"].all() and (gen["kind"] == "prohibited").all()
    assert gen["source"].str.startswith("GENERATED").all()
    assert set(a["kind"]) <= {"prohibited", "controlled"}


def test_service_area(layers, metric):
    sa = metric["service_area"].geometry.iloc[0]
    city = to_m(sources.amap_outline("371100"))
    islands = to_m(sources.fastgeocn_islands())
    assert sa.contains(city.buffer(-1)) and sa.contains(islands)
    assert 0 < (sa.area - city.area) / 1e6 < 200
    ll = layers["service_area"].geometry.iloc[0]
    # the coast crosses 35.45 N at about 119.607 E: 0.7 km offshore is inside, 2 km is not
    sea_07km, sea_2km = Point(119.615, 35.45), Point(119.629, 35.45)
    assert not sources.amap_outline("371100").contains(sea_07km)
    assert ll.contains(sea_07km) and not ll.contains(sea_2km)
    assert not ll.contains(Point(119.75, 35.45))  # open sea
    assert not ll.contains(Point(118.40, 35.60))  # Linyi, inland
    assert ll.contains(Point(119.891, 35.009)) or ll.contains(Point(119.91, 35.14))


# --- determinism ----------------------------------------------------------------------------------

def _digest(layers) -> str:
    h = hashlib.sha256()
    for name in COLLECTIONS:
        gdf = layers[name]
        h.update(name.encode())
        h.update(gdf.drop(columns="geometry").to_csv(index=False).encode())
        for g in gdf.geometry:
            h.update(b"-" if g is None else shapely.to_wkb(g))
    return h.hexdigest()


def test_deterministic(layers):
    again = build_all()
    assert _digest(layers) == _digest(again)
