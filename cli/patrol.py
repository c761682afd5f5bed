"""``citygrid patrol ...``: patrol mileage from GPS files and simulated patrols, offline
(``mileage``, ``simulate``: grids come from gis.layers.build.build_all()), and against the
database (``import``: tracks as stopped patrols; ``report``: campaign, mileage, coverage).
"""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

patrol_app = typer.Typer(help="Patrols: mileage from GPX/GeoJSON/CSV tracks, simulated patrols.",
                         no_args_is_help=True)
console = Console()


def mileage_report(files, mode="foot", gaps="bridge", coord_sys="wgs84", grid_index=None) -> list[dict]:
    """Per-track mileage dicts for the given files (the CLI's --json output)."""
    from gis.layers.build import build_all
    from gis.location import UnitIndex
    from patrol.clean import CleanParams
    from patrol.mileage import mileage
    from patrol.readers import read_track_files

    fixes, reads = read_track_files(files, coord_sys)
    layers = build_all()  # grids, and the streets whose junctions corners snap to
    table, _ = mileage(fixes, grid_index if grid_index is not None else UnitIndex.from_frame(layers["grids"]),
                       CleanParams(mode=mode, gaps=gaps), streets=layers["roads"])
    file_of = {tid: f for f, r in reads.items() for tid in r.fixes["track_id"].unique()}
    out = []
    for row in table.to_dict("records"):
        read = reads[file_of[row["track_id"]]]
        read_drops = read.dropped_by_track.get(row["track_id"], {})
        by_reason = {k: v for k, v in {**row["dropped_by_reason"], **read_drops}.items()}
        out.append({
            "track_id": row["track_id"], "file": file_of[row["track_id"]],
            "distance_m": round(float(row["distance_m"]), 1),
            "distance_sd_m": round(float(row["distance_sd_m"]), 1),
            "raw_distance_m": round(float(row["raw_distance_m"]), 1),
            "duration_s": round(float(row["duration_s"]), 1),
            "moving_time_s": round(float(row["moving_time_s"]), 1),
            "stop_time_s": round(float(row["stop_time_s"]), 1),
            "points": int(row["points"]) + sum(read_drops.values()),
            "dropped_points": int(sum(by_reason.values())),
            "dropped_by_reason": by_reason,
            "reordered_in_file": read.reordered,
            "gaps": int(row["gaps"]), "gap_time_s": round(float(row["gap_time_s"]), 1),
            "gap_handling": gaps,
            "per_grid_m": {k: round(v, 1) for k, v in sorted(row["per_grid_m"].items())},
            "stops": row["stops"],
            "file_problems": read.problems,  # first 20 dropped rows of the file, with line
        })
    return out


@patrol_app.command("mileage")
def mileage_cmd(
    files: list[Path] = typer.Argument(..., help="GPX, GeoJSON or CSV (device_id,time,lon,lat[,accuracy_m,speed_mps])"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per track)."),
    mode: str = typer.Option("foot", "--mode", help="foot|e_bike|vehicle (speed cap 3/8/25 m/s)"),
    gaps: str = typer.Option("bridge", "--gaps", help="Signal lost > 120 s: bridge (count the straight line) or split (leave out)"),
    coord_sys: str = typer.Option("wgs84", "--coord-sys", help="wgs84|gcj02|bd09 of the input coordinates"),
) -> None:
    """Cleaned geodesic mileage per track, with stops and metres per grid."""
    report = mileage_report(files, mode, gaps, coord_sys)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    for r in report:
        console.print(f"{r['track_id']}: {r['distance_m'] / 1000:.2f} km +- {r['distance_sd_m'] / 1000:.2f} "
                      f"(raw {r['raw_distance_m'] / 1000:.2f}), "
                      f"moving {r['moving_time_s'] / 60:.0f} min, stopped {r['stop_time_s'] / 60:.0f} min, "
                      f"{r['dropped_points']}/{r['points']} fixes dropped, {len(r['per_grid_m'])} grids")


@patrol_app.command("simulate")
def simulate_cmd(
    campaign: str = typer.Option("spring", "--campaign"),
    seed: int = typer.Option(7, "--seed"),
    outings: int = typer.Option(388, "--outings"),
    interval_s: float = typer.Option(5, "--interval-s", help="Seconds between fixes (1 or 5)."),
    gpx_dir: Path = typer.Option(..., "--gpx-dir", help="Write one GPX file per outing here."),
) -> None:
    """Simulate foot patrols along the roads with phone-GPS errors; write GPX and the truth."""
    from gis.layers.build import build_all
    from patrol.simulate import simulate_patrols

    sim = simulate_patrols(build_all(), n_outings=outings, seed=seed, interval_s=interval_s,
                           campaign=campaign)
    paths = sim.write_gpx(gpx_dir)
    sim.truth.to_csv(Path(gpx_dir) / "truth.csv", index=False)
    console.print(f"{len(paths)} GPX files, {len(sim.fixes):,} fixes, true length "
                  f"{sim.truth['true_length_m'].sum() / 1000:,.1f} km -> {gpx_dir} (truth.csv)")


# --- database: import tracks, reports ---------------------------------------------------------

def _engine():
    from citygrid.db.engine import get_engine

    return get_engine()


@patrol_app.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(..., help="GPX, GeoJSON or CSV tracks"),
    officer: str = typer.Option(..., "--officer", help="officer id or badge who walked the tracks"),
    campaign: str | None = typer.Option(None, "--campaign", help="campaign (专项行动) name"),
    team: str | None = typer.Option(None, "--team", help="department id or code; the officer's by default"),
    coord_sys: str = typer.Option("wgs84", "--coord-sys", help="wgs84|gcj02|bd09 of the input coordinates"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per track)."),
) -> None:
    """Store tracks as stopped patrols (one per track) with cleaned mileage; re-importing is a no-op."""
    from patrol.store import import_files

    rows = import_files(_engine(), files, officer=officer, campaign=campaign, team=team,
                        coord_sys=coord_sys, created_by="cli")
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        if r["already_imported"]:
            console.print(f"{r['track_id']}: already imported as patrol {r['patrol_id']}")
        else:
            console.print(f"{r['track_id']}: patrol {r['patrol_id']}, {r['stored']:,} fixes, "
                          f"{r['distance_m'] / 1000:.2f} km +- {r['distance_sd_m'] / 1000:.2f}")
    new = [r for r in rows if not r["already_imported"]]
    console.print(f"{len(new)} patrols imported, {sum(r['stored'] for r in new):,} fixes stored, "
                  f"{len(rows) - len(new)} already there")


@patrol_app.command("report")
def report_cmd(
    campaign: str | None = typer.Option(None, "--campaign", help="campaign summary (outings, km, problems)"),
    by: str | None = typer.Option(None, "--by", help="mileage by officer|team|grid|day|campaign"),
    coverage: bool = typer.Option(False, "--coverage", help="share of each grid's streets covered"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Campaign report (--campaign), mileage table (--by) or street coverage (--coverage)."""
    from patrol import report

    engine = _engine()
    if by or coverage:
        rows = (report.street_coverage(engine, campaign=campaign) if coverage
                else report.mileage(engine, by, campaign=campaign))
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
            return
        for r in rows:
            console.print("  ".join(f"{k}={v}" for k, v in r.items()))
        return
    if not campaign:
        raise typer.BadParameter("give --campaign NAME, --by GROUPING or --coverage")
    rep = report.campaign_report(engine, campaign)
    if as_json:
        typer.echo(json.dumps(rep, ensure_ascii=False, indent=1, default=str))
        return
    share = "n/a" if rep["rectified_share"] is None else f"{rep['rectified_share']:.0%}"
    console.print(f"campaign {rep['campaign']}: {rep['outings']} outings by {rep['officers']} officers, "
                  f"{rep['km']:.1f} km; {rep['problems_found']} problems found, {rep['rectified']} rectified "
                  f"({share})")
    for r in rep["by_officer"]:
        console.print(f"  {r['badge']} {r['name']}: {r['outings']} outings, {r['km']:.1f} km +- {r['km_sd']:.2f}, "
                      f"{r['problems_found']} problems, {r['rectified']} rectified")
    console.print(f"  tracks: {rep['tracks']}")
