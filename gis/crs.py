"""Coordinate reference systems and Chinese datum offsets.

Policy: everything we *store* is WGS84 (EPSG:4326) lon/lat.  GCJ-02 ("Mars
coordinates", used by AMap/Tencent) and BD-09 (Baidu) exist only so that points
can be drawn on, or read back from, Chinese basemaps; convert at the edge and
never persist them.  Metric work (buffers, areas, grids) around Rizhao is done
in CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549).  The WGS84 <-> CGCS2000
datum difference is a few centimetres, far below our accuracy needs, so pyproj's
"ballpark" (null) shift between them is acceptable.

All conversions are vectorised: lon/lat may be scalars or arrays (broadcast
together) and come back as float64 numpy arrays of the broadcast shape (0-d for
scalar input).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from citygrid.errors import InvalidInput

WGS84 = "EPSG:4326"
CGCS2000 = "EPSG:4490"
CGCS2000_GK_CM120 = "EPSG:4549"
WEB_MERCATOR = "EPSG:3857"
METRIC = CGCS2000_GK_CM120

# The planar frames citygrid reads and can draw in: WGS84 (what it stores), GCJ-02 (Gaode/AMap,
# Tencent) and BD-09 (Baidu). The one list every input and output checks against.
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")

# (lon_min, lat_min, lon_max, lat_max) of Rizhao's administrative area, generous.
RIZHAO_BOUNDS = (118.5, 34.9, 119.8, 36.2)

# GCJ-02 constants. The obfuscation is defined on the Krasovsky ellipsoid, not
# WGS84; some ports (e.g. eviltransform) use 6378137 instead, which moves results
# by up to ~1 cm.  We follow the published original.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# Inverse transforms have no closed form; iterate until this (~0.1 mm) or give up.
_INV_TOL_DEG = 1e-9
_INV_MAX_ITER = 20


def _as_arrays(lon, lat):
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64),
                                   np.asarray(lat, dtype=np.float64))
    # broadcast_arrays returns read-only views; copy so callers may mutate results.
    return lon.copy(), lat.copy()


def in_mainland_china(lon, lat):
    """Elementwise mask of where the GCJ-02 offset applies.

    The usual bounding box; it wrongly includes e.g. parts of Korea/Japan, but
    it is what every other implementation (and hence every basemap consumer)
    uses, so matching it matters more than geographic truth.
    """
    lon, lat = _as_arrays(lon, lat)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_delta(lon, lat):
    """Unmasked GCJ-02 offset (dlon, dlat) in degrees at WGS84 lon/lat."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
            + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _max_abs(a):
    # NaN inputs stay NaN; they must not keep the iteration running (or warn).
    return np.max(np.abs(a), where=np.isfinite(a), initial=0.0)


def _invert(forward, lon, lat):
    """Solve forward(guess) == (lon, lat) by fixed-point iteration.

    Both offsets vary slowly (Jacobian ~ identity), so this converges to
    machine precision in a handful of steps; the common one-step shortcut
    (subtract the offset evaluated at the *shifted* point) is metres off.
    """
    g_lon, g_lat = lon.copy(), lat.copy()
    for _ in range(_INV_MAX_ITER):
        f_lon, f_lat = forward(g_lon, g_lat)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        g_lon -= e_lon
        g_lat -= e_lat
        if max(_max_abs(e_lon), _max_abs(e_lat)) < _INV_TOL_DEG:
            break
    return g_lon, g_lat


def wgs84_to_gcj02(lon, lat):
    """WGS84 -> GCJ-02 lon/lat in degrees; points outside mainland China are returned unchanged."""
    lon, lat = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    inside = in_mainland_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS84 lon/lat in degrees, by inverting the offset iteratively (to ~0.1 mm);
    points outside mainland China are returned unchanged."""
    lon, lat = _as_arrays(lon, lat)
    # Decide "in China" once on the input: letting the mask flip between
    # iterations near the box edge would stop the iteration converging.
    inside = in_mainland_china(lon, lat)

    def forward(x, y):
        dx, dy = _gcj_delta(x, y)
        return np.where(inside, x + dx, x), np.where(inside, y + dy, y)

    return _invert(forward, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu) lon/lat in degrees: a closed formula, applied everywhere."""
    # BD-09 is a pure formula on top of GCJ-02 with no domain restriction; the
    # China mask is already applied in the GCJ-02 step where it matters.
    x, y = _as_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """BD-09 (Baidu) -> GCJ-02 lon/lat in degrees, by inverting gcj02_to_bd09 (to ~0.1 mm)."""
    lon, lat = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS84 -> BD-09 (Baidu) lon/lat in degrees, through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 (Baidu) -> WGS84 lon/lat in degrees, through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"wgs84": _as_arrays, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"wgs84": _as_arrays, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _lookup(table, coord_sys):
    func = table.get(str(coord_sys).lower())
    if func is None:
        raise ValueError(f"unknown coord_sys {coord_sys!r}; expected one of {COORD_SYSTEMS}")
    return func


def parse_coord_sys(text: str | None, where: str = "coord_sys") -> str:
    """A ``coord_sys`` parameter normalised (``GCJ-02`` -> ``gcj02``; none -> ``wgs84``), or
    InvalidInput naming ``where`` and the frames there are: how every read and write that takes
    coordinates (cases, fixes, drone targets, telemetry, flight-application areas, layer files,
    map output) reads its ``coord_sys``."""
    value = (text or "wgs84").strip().lower().replace("-", "").replace("_", "")
    if value not in COORD_SYSTEMS:
        problem = f"unknown coord_sys {text!r}; valid: {', '.join(COORD_SYSTEMS)}"
        raise InvalidInput(f"{where}: {problem}", [{"where": where, "problem": problem}])
    return value


def to_wgs84(lon, lat, coord_sys):
    """Convert lon/lat given in `coord_sys` ("wgs84" | "gcj02" | "bd09") to WGS84."""
    return _lookup(_TO_WGS84, coord_sys)(lon, lat)


def from_wgs84(lon, lat, coord_sys):
    """Convert WGS84 lon/lat to `coord_sys` ("wgs84" | "gcj02" | "bd09")."""
    return _lookup(_FROM_WGS84, coord_sys)(lon, lat)


# --- metric helpers -------------------------------------------------------

@functools.lru_cache(maxsize=None)
def transformer(src, dst):
    """A pyproj Transformer from ``src`` to ``dst`` (e.g. "EPSG:4326", "EPSG:4549"), cached per
    pair; it always takes and gives x/y (lon/lat) order."""
    # Building a Transformer costs milliseconds (PROJ db lookup); reuse them.
    # always_xy: we always pass lon/lat (x/y), whatever the CRS's axis order says.
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def to_metric(lon, lat):
    """WGS84 lon/lat -> (x, y) metres in EPSG:4549 (easting, northing)."""
    lon, lat = _as_arrays(lon, lat)
    x, y = transformer(WGS84, METRIC).transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def from_metric(x, y):
    """EPSG:4549 (x, y) metres -> WGS84 (lon, lat)."""
    x, y = _as_arrays(x, y)
    lon, lat = transformer(METRIC, WGS84).transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def to_m(geom):
    """WGS84 shapely geometry (or array of them) -> EPSG:4549 metres, all vertices in one call."""
    return shapely.transform(geom, lambda xy: np.column_stack(to_metric(xy[:, 0], xy[:, 1])))


def to_ll(geom):
    """EPSG:4549 shapely geometry (or array of them) -> WGS84 lon/lat, all vertices in one call."""
    return shapely.transform(geom, lambda xy: np.column_stack(from_metric(xy[:, 0], xy[:, 1])))


GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_distance_m(lon1, lat1, lon2, lat2):
    """Ellipsoidal distance in metres between WGS84 points (elementwise)."""
    lon1, lat1, lon2, lat2 = (a.copy() for a in np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))))
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist, dtype=np.float64)


def plane_m(dx, dy):
    """Length of plane vectors (dx, dy): sqrt(dx^2 + dy^2). ``np.hypot`` guards against an
    overflow metres never reach and took 3-4 x as long (20 vs 6 ms per million here), in
    code that measures every step of every track several times."""
    return np.sqrt(dx * dx + dy * dy)


SHORT_STEP_M = 1000.0  # steps longer than this go to GEOD


def short_steps_m(lon1, lat1, lon2, lat2):
    """Ellipsoidal distance in metres between WGS84 points (elementwise), for the short steps
    of a GPS track: the plane of the ellipsoid's radii of curvature at the mid-latitude
    (Gauss' mid-latitude formula: within 1 micrometre of GEOD.inv for steps up to 1 km, at
    a seventh of its cost). Longer steps are measured by GEOD."""
    lon1, lat1, lon2, lat2 = (np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    phi = np.radians((lat1 + lat2) / 2)
    w2 = 1.0 - GEOD.es * np.sin(phi) ** 2
    n = GEOD.a / np.sqrt(w2)  # prime vertical radius
    m = n * (1.0 - GEOD.es) / w2  # meridian radius
    dlon = (lon2 - lon1 + 180.0) % 360.0 - 180.0
    d = plane_m(m * np.radians(lat2 - lat1), n * np.cos(phi) * np.radians(dlon))
    far = d > SHORT_STEP_M
    if far.any():
        d[far] = geodesic_distance_m(lon1[far], lat1[far], lon2[far], lat2[far])
    return d


# --- sanity checks --------------------------------------------------------

def check_lonlat(lon, lat):
    """Mask of plausible WGS84 values (finite and within the globe)."""
    lon, lat = _as_arrays(lon, lat)
    return (np.isfinite(lon) & np.isfinite(lat)
            & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0))


def _in_bounds(lon, lat, bounds):
    lon_min, lat_min, lon_max, lat_max = bounds
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def looks_swapped(lon, lat, bounds=RIZHAO_BOUNDS):
    """Mask where the pair only lands inside `bounds` if read as (lat, lon).

    Swapped axes are the most common upstream mistake (EPSG:4326's official
    axis order is lat, lon), and 35.4/119.5 still passes check_lonlat.
    """
    lon, lat = _as_arrays(lon, lat)
    return _in_bounds(lat, lon, bounds) & ~_in_bounds(lon, lat, bounds)


@dataclass(frozen=True)
class LonLatScreen:
    """What is wrong with each of many lon/lat pairs, as disjoint masks (checked in this order:
    missing, swapped, off the globe, outside the bounds), and the pairs in WGS84 (0 where not
    usable). ``ok`` is every pair that passed."""

    lon: np.ndarray
    lat: np.ndarray
    missing: np.ndarray
    swapped: np.ndarray
    off_globe: np.ndarray
    outside: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Mask of the pairs that passed every check (in none of the four masks)."""
        return ~(self.missing | self.swapped | self.off_globe | self.outside)


def screen_lonlat(lon, lat, coord_sys: str = "wgs84", bounds=RIZHAO_BOUNDS) -> LonLatScreen:
    """The one check of incoming coordinates (phones, files, reports): non-finite, swapped (a
    pair that lies in ``bounds`` only when read as lat, lon: named so the sender can fix it),
    off the globe, or outside ``bounds`` once converted from ``coord_sys`` to WGS84."""
    lon, lat = _as_arrays(lon, lat)
    missing = ~(np.isfinite(lon) & np.isfinite(lat))
    swapped = ~missing & looks_swapped(np.where(missing, 0.0, lon), np.where(missing, 0.0, lat), bounds)
    off_globe = ~missing & ~swapped & ~check_lonlat(lon, lat)
    usable = ~(missing | swapped | off_globe)
    wlon, wlat = to_wgs84(np.where(usable, lon, 0.0), np.where(usable, lat, 0.0), coord_sys)
    outside = usable & ~_in_bounds(wlon, wlat, bounds)
    return LonLatScreen(np.where(usable, wlon, 0.0), np.where(usable, wlat, 0.0), missing, swapped, off_globe,
                        outside)


# --- input in another frame -------------------------------------------------------

def point_to_wgs84(lon: float, lat: float, coord_sys: str, where: str = "lon/lat") -> tuple[float, float]:
    """One lon/lat in ``coord_sys`` as WGS84 floats, through ``screen_lonlat``: missing,
    swapped or impossible numbers refused (InvalidInput naming ``where``). Whether the point is
    in the city is the caller's rule (a service area, an airspace), not a bounding box."""
    s = screen_lonlat(lon, lat, coord_sys)
    problem = ("not finite" if s.missing.item() else
               f"lon {lon}, lat {lat} look swapped (Rizhao is near lon 119.5, lat 35.4)" if s.swapped.item() else
               "lon/lat out of range" if s.off_globe.item() else None)
    if problem:
        raise InvalidInput(f"{where}: {problem}", [{"where": where, "problem": problem}])
    return float(s.lon.item()), float(s.lat.item())


def geometry_to_wgs84(geom, coord_sys: str):
    """A shapely geometry (or array of them) drawn in ``coord_sys`` lon/lat, in WGS84: every
    vertex shifted in one vectorised call."""
    if coord_sys == "wgs84":
        return geom

    def shift(xy):
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], coord_sys)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, shift)
