"""Read a city's own layer file and check it before anything is written.

Every problem is collected (with the feature id it concerns) and reported at once; a file
with any problem writes nothing.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from citygrid.errors import InvalidInput
from gis.crs import METRIC, RIZHAO_BOUNDS, WGS84, looks_swapped

MAX_GAP_OVERLAP_M2 = 1.0
READABLE = {".geojson", ".json", ".gpkg", ".shp", ".zip"}
# Zipped shapefiles: limits that a real city layer never reaches but a zip bomb does.
MAX_UNZIPPED_BYTES = 1 << 30
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 100


@dataclass(frozen=True)
class LayerSpec:
    """What a city layer file must hold: the code column and its pattern (None: features are
    numbered ``#i``), the allowed geometry types, the required columns, and the values given to
    optional columns the file lacks."""
    code_column: str | None
    code_pattern: str | None
    geom_types: tuple[str, ...]
    required: tuple[str, ...]
    defaults: dict = field(default_factory=dict)


def _street_kind(code: str) -> str:
    # CJ/T 213 street codes: 001-099 街道, 100-199 镇, 200-399 乡.
    n = int(code[6:9])
    return "街道" if n < 100 else ("镇" if n < 200 else "乡")


POLY = ("Polygon", "MultiPolygon")
SPECS = {
    "grids": LayerSpec("code", r"\d{14}", POLY, ("code", "name"),
                       {"leader": None, "party_branch": None}),
    "subdistricts": LayerSpec("code", r"\d{9}", POLY, ("code", "name"), {"urban_core": False}),
    "communities": LayerSpec("code", r"\d{12}", POLY, ("code", "name"),
                             {"kind": "社区", "has_post": False, "grid_code": None}),
    "posts": LayerSpec("code", r"\d{12}", ("Point",), ("code", "name", "community_code"),
                       {"grid_code": None, "opening_hours": None, "phone": None}),
    "roads": LayerSpec(None, None, ("LineString",), ("name",), {"kind": "local"}),
    "airspace": LayerSpec("id", r"[\w.-]{1,64}", POLY, ("id", "name", "kind", "floor_m", "ceiling_m"),
                          {"source": "city import"}),
}


def read_layer_file(path: Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read GeoJSON, GeoPackage or Shapefile; a file with no CRS needs ``crs``."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if path.suffix.lower() not in READABLE:
        raise InvalidInput(f"{path}: unsupported format {path.suffix!r}; use GeoJSON, GeoPackage or Shapefile")
    if path.suffix.lower() == ".zip":
        check_zip(path)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except MemoryError:
        raise
    except Exception as exc:  # GDAL on a hostile file: pyogrio errors, IndexError, TypeError, ...
        raise InvalidInput(f"{path}: not a readable GeoJSON, GeoPackage or Shapefile "
                           f"({type(exc).__name__}: {str(exc)[:300]})") from None
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame:
        raise InvalidInput(f"{path}: the file holds no geometry (a .dbf without its .shp?)")
    declared = crs
    if declared is not None:
        try:
            declared = CRS.from_user_input(declared)
        except CRSError:
            raise InvalidInput(f"unknown CRS {crs!r}") from None
        if frame.crs is not None and CRS(frame.crs) != declared:
            raise InvalidInput(f"{path}: file declares {frame.crs.to_string()} but --crs says {crs}")
        frame = frame.set_crs(declared, allow_override=True)
    if frame.crs is None:
        raise InvalidInput(f"{path}: the file declares no CRS; pass --crs (e.g. --crs EPSG:4326)")
    return frame


def shift_to_wgs84(frame: gpd.GeoDataFrame, coord_sys: str) -> gpd.GeoDataFrame:
    """A layer digitised on a Chinese basemap (lon/lat in GCJ-02 or BD-09, though the file
    says EPSG:4326) moved to true WGS84; without this its features sit a few hundred metres
    off. Only for geographic (lon/lat) files: a projected file has no such offset."""
    from gis.crs import parse_coord_sys, geometry_to_wgs84

    coord_sys = parse_coord_sys(coord_sys)
    if coord_sys == "wgs84":
        return frame
    if frame.crs is None or not CRS(frame.crs).is_geographic:
        raise InvalidInput(f"coord_sys {coord_sys} applies to lon/lat files only; this file is in "
                           f"{frame.crs.to_string() if frame.crs is not None else 'no CRS'}",
                           [{"where": "coord_sys", "problem": "needs a lon/lat (geographic) file"}])
    out = frame.to_crs(4326) if CRS(frame.crs).to_epsg() not in (4326, 4490) else frame.copy()
    shifted = gpd.GeoSeries(geometry_to_wgs84(out.geometry.to_numpy(), coord_sys), index=out.index, crs=4326)
    return out.set_geometry(shifted.rename(out.geometry.name)).set_crs(4326, allow_override=True)


def check_zip(path: Path) -> None:
    """Refuse a zip that is not a plain archive of a few layer files: unreadable, too many
    members, names that climb out (``..``, absolute), or more than MAX_UNZIPPED_BYTES
    uncompressed or a compression ratio above MAX_ZIP_RATIO (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidInput(f"{path}: not a readable zip archive ({exc})") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InvalidInput(f"{path}: {len(infos)} files in the archive; at most {MAX_ZIP_MEMBERS}")
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or re.match(r"^[A-Za-z]:", name):
            raise InvalidInput(f"{path}: archive member {info.filename!r} has an unsafe path")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidInput(f"{path}: {total} bytes uncompressed; at most {MAX_UNZIPPED_BYTES}")
    if total > 1_000_000 and total > MAX_ZIP_RATIO * max(packed, 1):
        raise InvalidInput(f"{path}: compression ratio {total / max(packed, 1):.0f}:1 looks like a zip bomb; "
                           f"at most {MAX_ZIP_RATIO}:1")


def validate_layer(layer: str, frame: gpd.GeoDataFrame, service_area=None) -> gpd.GeoDataFrame:
    """Return the layer ready to load (WGS84, derived columns), or raise InvalidInput listing
    every problem as ``{"feature": id, "problem": text}``."""
    if layer not in SPECS:
        raise InvalidInput(f"unknown layer {layer!r}; importable: {', '.join(SPECS)}")
    spec = SPECS[layer]
    problems: list[dict] = []
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{layer}: missing columns {', '.join(missing)}",
                           [{"feature": None, "problem": f"missing column {c}"} for c in missing])
    ids = (frame[spec.code_column].astype(str) if spec.code_column
           else pd.Series([f"#{i}" for i in range(len(frame))], index=frame.index))

    def add(mask, text):
        for fid in ids[np.asarray(mask, dtype=bool)]:
            problems.append({"feature": fid, "problem": text})

    geoms = frame.geometry.values
    add(pd.isna(geoms) | shapely.is_empty(geoms), "empty or missing geometry")
    present = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    types = np.array(shapely.get_type_id(geoms))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                      "MultiPolygon", "GeometryCollection", "None"])[np.where(types < 0, 8, types)]
    add(present & ~np.isin(names, spec.geom_types), f"geometry type must be {' or '.join(spec.geom_types)}")
    valid = shapely.is_valid(geoms)
    for fid, reason in zip(ids[present & ~valid], shapely.is_valid_reason(geoms[present & ~valid])):
        problems.append({"feature": fid, "problem": f"invalid geometry: {reason}"})

    if spec.code_column:
        codes = frame[spec.code_column].astype(str)
        add(~codes.str.fullmatch(spec.code_pattern), f"malformed {spec.code_column} (expected {spec.code_pattern})")
        add(codes.duplicated(keep=False), f"duplicate {spec.code_column}")

    wgs = frame.to_crs(WGS84)
    ok = present & valid
    if ok.any():
        rep = shapely.point_on_surface(wgs.geometry.values[ok])
        x, y = shapely.get_x(rep), shapely.get_y(rep)
        swapped = np.zeros(len(frame), bool)
        swapped[ok] = looks_swapped(x, y, RIZHAO_BOUNDS)
        add(swapped, "coordinates look like lat/lon swapped (x is a latitude near Rizhao)")
        if service_area is not None:
            # About a metre of slack: coastal grids share the coastline, and exports round it.
            area = shapely.buffer(service_area, 1e-5)
            outside = np.zeros(len(frame), bool)
            outside[ok] = ~shapely.covers(area, wgs.geometry.values[ok]) & ~swapped[ok]
            add(outside, "outside Rizhao's service area")
    if layer == "grids" and ok.sum() > 1:
        problems += _tiling_problems(ids[ok].to_numpy(), wgs.geometry.values[ok])
    if problems:
        raise InvalidInput(f"{layer}: {len(problems)} problem(s); nothing was written", problems)
    return _complete(layer, spec, wgs)


def _tiling_problems(ids: np.ndarray, geoms: np.ndarray) -> list[dict]:
    """Overlaps between any two grids, and holes in their union, larger than 1 m².

    Topology is computed on the stored WGS84 coordinates (reprojecting first would bend
    shared edges at T-junctions into false slivers); only the areas are measured in metres.
    """
    def area_m2(shapes) -> np.ndarray:
        return gpd.GeoSeries(shapes, crs=WGS84).to_crs(METRIC).area.to_numpy()

    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    areas = area_m2(shapely.intersection(geoms[a], geoms[b])) if len(a) else np.array([])
    problems = [{"feature": f"{ids[i]}", "problem": f"overlaps grid {ids[j]} by {ar:.1f} m²"}
                for i, j, ar in zip(a, b, areas) if ar > MAX_GAP_OVERLAP_M2]
    union = shapely.union_all(geoms)
    holes = np.array([shapely.Polygon(r) for p in getattr(union, "geoms", [union]) for r in p.interiors])
    if len(holes):
        for hole, ar in zip(holes, area_m2(holes)):
            if ar > MAX_GAP_OVERLAP_M2:
                centre = hole.representative_point()
                near = ids[tree.query(hole, predicate="intersects")]
                problems.append({"feature": ",".join(map(str, near[:4])),
                                 "problem": f"gap of {ar:.1f} m² between grids near "
                                            f"({centre.x:.6f}, {centre.y:.6f})"})
    return problems


def _complete(layer: str, spec: LayerSpec, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    for col, value in spec.defaults.items():
        if col not in out:
            out[col] = value
    out["generated"] = out["generated"].astype(bool) if "generated" in out else False
    area_km2 = frame.to_crs(METRIC).area.to_numpy() / 1e6
    if layer == "grids":
        out["subdistrict_code"] = out["code"].str[:9]
        out["county_code"] = out["code"].str[:6]
        out["area_km2"] = area_km2
    elif layer == "subdistricts":
        out["county_code"] = out["code"].str[:6]
        out["kind"] = out["code"].map(_street_kind)
        out["area_km2"] = area_km2
    elif layer == "communities":
        out["subdistrict_code"] = out["code"].str[:9]
        out["county_code"] = out["code"].str[:6]
    elif layer == "posts":
        out["subdistrict_code"] = out["community_code"].str[:9]
        out["county_code"] = out["community_code"].str[:6]
    elif layer == "roads":
        out["id"] = np.arange(1, len(out) + 1)
        out["length_m"] = frame.to_crs(METRIC).length.to_numpy()
        if "county_code" not in out:
            out["county_code"] = "371100"
    return out
