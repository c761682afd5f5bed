"""``citygrid layers ...``: build Rizhao's reference layers, import a city's own, export."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from citygrid.db.schema import REFERENCE_TABLES
from citygrid.settings import get_settings

layers_app = typer.Typer(help="Reference layers: build, load, import, export.", no_args_is_help=True)
console = Console()
EXPORTED = tuple(REFERENCE_TABLES)  # every reference layer, from the catalog


@layers_app.command("load")
def load() -> None:
    """Build Rizhao's layers from the bundled sources and load them (replacing what is there)."""
    from citygrid.db.engine import get_engine
    from gis.layers.build import build_all
    from gis.layers.load import load_layers

    counts = load_layers(get_engine(get_settings(), role="owner"), build_all())
    table = Table("layer", "rows")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


@layers_app.command("import")
def import_layer(
    layer: str = typer.Argument(..., help="grids|posts|subdistricts|communities|roads|airspace"),
    file: Path = typer.Argument(..., exists=False),
    crs: str = typer.Option(None, "--crs", help="CRS of a file that declares none, e.g. EPSG:4549"),
    coord_sys: str = typer.Option("wgs84", "--coord-sys", help="lon/lat drawn on a Chinese basemap: gcj02 "
                                  "(Gaode/Tencent) or bd09 (Baidu); shifted to WGS84 before validation"),
) -> None:
    """Validate a GeoJSON/GeoPackage/Shapefile and, only if it has no problem, replace the layer."""
    import geopandas as gpd

    from citygrid.db.engine import get_engine
    from gis.layers.load import load_layers
    from gis.layers.validate import read_layer_file, shift_to_wgs84, validate_layer

    engine = get_engine(get_settings(), role="owner")
    frame = shift_to_wgs84(read_layer_file(file, crs), coord_sys)
    with engine.connect() as conn:
        area = gpd.read_postgis("SELECT geom FROM service_area", conn, geom_col="geom")
    service_area = area.union_all() if len(area) else None
    ready = validate_layer(layer, frame, service_area)
    counts = load_layers(engine, {layer: ready})
    console.print(f"imported {counts[layer]} {layer}")


@layers_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="a .gpkg file, or a folder for GeoJSON"),
    fmt: str = typer.Option("gpkg", "--format", help="gpkg|geojson"),
) -> None:
    """Export every reference layer from the database."""
    import geopandas as gpd

    from citygrid.db.engine import get_engine

    if fmt not in ("gpkg", "geojson"):
        raise typer.BadParameter(f"unknown format {fmt!r}; use gpkg or geojson", param_hint="--format")
    engine = get_engine(get_settings())
    written = {}
    with engine.connect() as conn:
        for name in EXPORTED:
            frame = gpd.read_postgis(f"SELECT * FROM {name}", conn, geom_col="geom")
            if fmt == "gpkg":
                frame.to_file(out, layer=name, driver="GPKG", engine="pyogrio")
            else:
                out.mkdir(parents=True, exist_ok=True)
                frame.to_file(out / f"{name}.geojson", driver="GeoJSON", engine="pyogrio")
            written[name] = len(frame)
    console.print(json.dumps(written))
