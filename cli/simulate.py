"""``citygrid simulate ...``: a realistic, seeded case history (and its planted hotspots)."""
from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

simulate_app = typer.Typer(help="Simulated data: a seeded urban-management case history.",
                           no_args_is_help=True)
console = Console()


@simulate_app.command("cases")
def cases(
    years: int = typer.Option(3, "--years", min=1, max=10, help="How many years, from --start."),
    start: int = typer.Option(2023, "--start", help="First year."),
    seed: int = typer.Option(42, "--seed"),
    n: int = typer.Option(191_000, "--n", min=1, help="How many cases in all."),
    out: Path = typer.Option(None, "--out", help="Write FILE.geojson or FILE.parquet instead of the database."),
    role: str = typer.Option("owner", "--role", help="Database role for the load: owner (fast index "
                             "rebuild for a history load) or app."),
    attributes: bool = typer.Option(True, "--attributes/--no-attributes",
                                    help="Tag loaded cases {simulated, driver, hotspot} in attributes."),
    events: bool = typer.Option(True, "--events/--no-events",
                                help="Also write each case's workflow events (case_events)."),
) -> None:
    """Generate the history; load it into the database (default) or write it to a file.

    Dispatched cases get the squad of their subdistrict as responsible department (when the
    organisation has squads: `citygrid org add-department ... --kind squad --subdistrict`),
    and every case its workflow events. Loading is idempotent per seed: cases already loaded
    (same source system id sim-<seed>-<n>) are skipped, so a second run adds nothing.
    """
    from citygrid.settings import get_settings

    load_history(get_settings(), years=years, start=start, seed=seed, n=n, out=out, role=role,
                 attributes=attributes, events=events)


def load_history(settings, *, years: int = 3, start: int = 2023, seed: int = 42, n: int = 191_000,
                 out: Path | None = None, role: str = "owner", attributes: bool = True, events: bool = True,
                 layers=None) -> None:
    """``citygrid simulate cases`` against ``settings``' database (or into ``out``)."""
    from cases.simulate.cases import Prepared, simulate_cases, stream_cases, write_cases
    from gis.layers.build import build_all
    from gis.location import Locator

    span = tuple(range(start, start + years))
    t0 = time.perf_counter()
    layers = layers if layers is not None else build_all()
    prepared = Prepared.build(layers, span)
    locator = Locator.from_layers(layers)
    if out is not None:
        if out.suffix.lower() not in (".geojson", ".json", ".parquet"):
            raise typer.BadParameter("must end in .geojson or .parquet", param_hint="--out")
        frame = simulate_cases(years=span, n=n, seed=seed, prepared=prepared, locator=locator)
        write_cases(frame, out)
        _print_kpis(frame, span)
        console.print(f"{len(frame):,} cases ({span[0]}-{span[-1]}, seed {seed}) written to {out} "
                      f"in {time.perf_counter() - t0:.1f} s")
        return

    import sqlalchemy as sa

    from cases.simulate.history import add_workflow_events
    from cases.simulate.load import bulk_load_cases
    from citygrid.db.engine import get_engine
    from citygrid.org import squads_by_subdistrict

    engine = get_engine(settings, role="owner" if role == "owner" else "app")
    stream = stream_cases(prepared, n=n, seed=seed)
    ids = stream.draw.columns(slice(0, 1))["external_id"].to_pylist() + \
        stream.draw.columns(slice(n - 1, n))["external_id"].to_pylist()
    with engine.connect() as conn:
        loaded_before = conn.execute(sa.text(
            "SELECT count(*) FROM cases WHERE external_id = ANY(:ids)"), {"ids": ids}).scalar()
    squads = squads_by_subdistrict(engine)
    written = bulk_load_cases(engine, stream, locator=locator, posts=prepared.scene.posts,
                              on_conflict="skip" if loaded_before else "error", attributes=attributes,
                              departments=squads)
    t_events = time.perf_counter()
    n_events = add_workflow_events(engine, f"sim-{seed}-") if events else 0
    frame = stream.draw.frame()
    _print_kpis(frame, span)
    console.print(f"{written:,} of {len(frame):,} cases ({span[0]}-{span[-1]}, seed {seed}) loaded "
                  f"in {time.perf_counter() - t0:.1f} s"
                  + (f"; {len(frame) - written:,} were already there" if written < len(frame) else "")
                  + (f"; {n_events:,} workflow events in {time.perf_counter() - t_events:.1f} s" if events else "")
                  + (f"; dispatched to {len(squads)} squads" if squads else "; no squads: no responsible departments"))


def _print_kpis(frame, span) -> None:
    from datetime import date

    from cases.simulate.cases import kpis

    k = kpis(frame, date(span[0], 1, 1), date(span[-1], 12, 31))
    console.print(f"处置率 disposal {k['disposal_rate']:.2%} ({k['disposed']:,}/{k['dispatched']:,}), "
                  f"结案率 closure {k['closure_rate']:.2%} ({k['closed']:,}/{k['due']:,}), "
                  f"on time {k['on_time_rate']:.2%}, rework {k['rework_rate']:.2%}")


@simulate_app.command("planted")
def planted(
    check: bool = typer.Option(False, "--check", help="Only check the committed files match the layers."),
) -> None:
    """Write cases/simulate/planted.json and PLANTED.md from the reference layers."""
    import json

    from cases.simulate import planted as planted_mod
    from cases.simulate.scene import Scene
    from gis.layers.build import build_all
    from gis.location import Locator

    layers = build_all()
    scene, locator = Scene.from_layers(layers), Locator.from_layers(layers)
    if check:
        doc = planted_mod.document(planted_mod.resolve(scene), locator)
        same = planted_mod.PLANTED_JSON.exists() and json.loads(
            planted_mod.PLANTED_JSON.read_text(encoding="utf-8")) == json.loads(json.dumps(doc))
        console.print("planted.json matches the layers" if same else "[red]planted.json is stale[/red]: "
                      "run `citygrid simulate planted`")
        raise typer.Exit(0 if same else 1)
    doc = planted_mod.write(scene, locator)
    for h in doc["hotspots"]:
        p = h["place"]
        console.print(f"{h['id']}: {h['category']} at {p['lon']}, {p['lat']} (r {p['radius_m']:.0f} m, "
                      f"grid {p['grid_code']}) {h['period']['start']}..{h['period']['end']}")
    console.print(f"written {planted_mod.PLANTED_JSON} and {planted_mod.PLANTED_MD}")
