"""Airspace zones for drone planning.

Real: Rizhao Shanzihe Airport (ZSRZ) reference point and runway length (OurAirports)
and the published rule for a civil airport's clearance protection area used for
drone flight control: 10 km either side of the runway centre line and 20 km beyond
each runway end.  Assumptions: the runway is centred on the airport reference point;
its true bearing is 123 deg (the designator 13 is magnetic; OurAirports has no
runway-end coordinates or true heading for ZSRZ).

GENERATED: small prohibited zones around the generated substation / fuel-depot POIs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gis.crs import GEOD, to_metric

from . import sources

RUNWAY_TRUE_BEARING_DEG = 123.0
CLEARANCE_HALF_WIDTH_M = 10_000.0
CLEARANCE_BEYOND_END_M = 20_000.0
CLEARANCE_FLOOR_M = 0.0
# The rule has no upper limit; 10,000 m stands for "all heights a drone can reach".
CLEARANCE_CEILING_M = 10_000.0
DENSIFY_M = 500.0

PROHIBITED_RADIUS_M = {"substation": 300.0, "fuel_depot": 500.0}
PROHIBITED_FLOOR_M = 0.0
PROHIBITED_CEILING_M = 500.0


def runway_axis_m():
    """(centre_xy, unit vector along the true bearing) in EPSG:4549."""
    ap = sources.airport()
    lon2, lat2, _ = GEOD.fwd(ap["lon"], ap["lat"], RUNWAY_TRUE_BEARING_DEG, 1000.0)
    x, y = to_metric([ap["lon"], lon2], [ap["lat"], lat2])
    d = np.array([x[1] - x[0], y[1] - y[0]])
    return np.array([x[0], y[0]]), d / np.hypot(*d)


def clearance_area_m():
    """Runway-aligned rectangle (metres, densified so it keeps its shape in WGS84)."""
    ap = sources.airport()
    c, e = runway_axis_m()
    n = np.array([-e[1], e[0]])
    half_len = ap["runway_length_m"] / 2 + CLEARANCE_BEYOND_END_M
    corners = [c + sa * half_len * e + sb * CLEARANCE_HALF_WIDTH_M * n
               for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    poly = shapely.Polygon(corners)
    return shapely.segmentize(poly, DENSIFY_M)


def airspace_rows_m(pois_m: pd.DataFrame) -> list[dict]:
    """Airspace rows, geometry in EPSG:4549: ZSRZ's clearance protection area (controlled,
    0-10,000 m) and a GENERATED prohibited disc (0-500 m) around each substation (300 m radius)
    and fuel depot (500 m) in ``pois_m``, each row with the source it was built from."""
    ap = sources.airport()
    rows = [dict(
        id=f"{ap['icao']}-clearance",
        name="日照山字河机场净空保护区 (ZSRZ clearance area)",
        kind="controlled",
        floor_m=CLEARANCE_FLOOR_M,
        ceiling_m=CLEARANCE_CEILING_M,
        source=(f"{sources.AIRPORT_SOURCE}: ARP {ap['lat']:.6f}N {ap['lon']:.6f}E, runway "
                f"{ap['runway']} {ap['runway_length_m']:.0f} m; rule: 10 km either side of "
                f"the runway centre line, 20 km beyond each runway end; runway assumed "
                f"centred on the ARP, true bearing {RUNWAY_TRUE_BEARING_DEG:.0f} deg "
                f"(designator 13 is magnetic); built in EPSG:4549"),
        generated=False,
        geometry=clearance_area_m(),
    )]
    for kind, radius in PROHIBITED_RADIUS_M.items():
        sel = pois_m[pois_m["kind"] == kind]
        for k, (name, geom) in enumerate(zip(sel["name"], sel["geometry"]), start=1):
            rows.append(dict(
                id=f"GEN-{kind.replace('_', '-')}-{k:02d}",
                name=f"{name}禁飞区 (GENERATED)",
                kind="prohibited",
                floor_m=PROHIBITED_FLOOR_M,
                ceiling_m=PROHIBITED_CEILING_M,
                source=f"GENERATED: {radius:.0f} m around the generated {kind} POI '{name}'",
                generated=True,
                geometry=shapely.buffer(geom, radius, quad_segs=16),
            ))
    return rows
