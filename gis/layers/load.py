"""Write reference layers to PostGIS: all tables in one transaction, as the owner role."""
from __future__ import annotations

import geopandas as gpd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.cache import invalidate_all
from citygrid.db.schema import REFERENCE_TABLES

# Tables whose geometry column is MULTIPOLYGON: single polygons are promoted by ST_Multi.
_MULTI = {name for name, table in REFERENCE_TABLES.items() if table.c.geom.type.geometry_type == "MULTIPOLYGON"}


def _rows(name: str, frame: gpd.GeoDataFrame) -> list[dict]:
    table = REFERENCE_TABLES[name]
    cols = [c.name for c in table.columns if c.name != "geom"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"layer {name} lacks columns {missing}")
    wkb = shapely.to_wkb(frame.geometry.values, hex=True, output_dimension=2, include_srid=False)
    data = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    for row, w in zip(data, wkb):
        row["geom"] = w
    return data


def load_layers(engine: Engine, layers: dict[str, gpd.GeoDataFrame]) -> dict[str, int]:
    """Replace the named layers' rows; return the row count per layer. Every in-memory cache
    is emptied once they are committed (``citygrid.cache``)."""
    counts = {}
    with engine.begin() as conn:
        for name, frame in layers.items():
            table = REFERENCE_TABLES[name]
            if frame.crs is not None and frame.crs.to_epsg() != 4326:
                frame = frame.to_crs(4326)
            rows = _rows(name, frame)
            conn.execute(sa.text(f"DELETE FROM {table.name}"))
            if rows:
                cols = [c.name for c in table.columns if c.name != "geom"]
                geom = "ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326)"
                if name in _MULTI:
                    geom = f"ST_Multi({geom})"
                conn.execute(sa.text(
                    f"INSERT INTO {table.name} ({', '.join(cols)}, geom) VALUES "
                    f"({', '.join(':' + c for c in cols)}, {geom})"
                ), rows)
            counts[name] = len(rows)
    invalidate_all()
    return counts
