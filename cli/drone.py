"""``citygrid drone``: seed the fleet, plan/check/export missions, fly a stored mission in
simulation. A plan that breaks a rule prints every violation and exits 2."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

drone_app = typer.Typer(help="Drone missions and loudspeaker broadcasts.", no_args_is_help=True)
console = Console()


def _engine():
    from citygrid.db.engine import get_engine

    return get_engine()


def _point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter("expected LON,LAT (in --coord-sys, WGS84 by default), e.g. 119.55,35.44") from None
    return lon, lat


@drone_app.command("seed")
def seed() -> None:
    """Seed stations (from posts), drones, pilots and the draft loudspeaker templates."""
    from drone import broadcast, fleet
    from drone.context import invalidate

    eng = _engine()
    out = fleet.seed(eng)
    out["templates_added"] = broadcast.seed_templates(eng)
    invalidate()
    console.print_json(json.dumps(out, ensure_ascii=False))


@drone_app.command("plan")
def plan_cmd(
    target: str = typer.Option(None, "--target", help="LON,LAT of the target (a case or hotspot point)"),
    coord_sys: str = typer.Option("wgs84", "--coord-sys", help="frame of --target: wgs84|gcj02|bd09"),
    case: str = typer.Option(None, "--case", help="case id or RZ-YYYY-NNNNNN instead of --target"),
    hotspot: str = typer.Option(None, "--hotspot", help="hotspot cluster id instead of --target"),
    grid: str = typer.Option(None, "--grid", help="survey this grid (14-digit code) instead"),
    station: str = typer.Option(None, "--station"),
    template: list[str] = typer.Option([], "--template", help="approved template code (repeatable)"),
    var: list[str] = typer.Option([], "--var", help="template variable NAME=VALUE (repeatable)"),
    plays: int = typer.Option(2, "--plays"),
    volume: int = typer.Option(80, "--volume"),
    altitude: float = typer.Option(None, "--altitude", help="metres above take-off"),
    hold: float = typer.Option(None, "--hold", help="seconds over the target"),
    start: str = typer.Option(None, "--start", help="ISO time; default now (Asia/Shanghai)"),
    out: Path = typer.Option(..., "--out", help="FILE.plan | FILE.waypoints | FILE.kmz"),
    save: bool = typer.Option(False, "--save", help="also store the mission"),
    user: str = typer.Option("cli", "--user", help="recorded as created_by with --save"),
) -> None:
    """Plan a target flight (or a grid survey), check every rule, export it."""
    from drone import context, missions, rules
    from drone.export import export_file

    if sum(x is not None for x in (target, case, hotspot, grid)) != 1:
        raise typer.BadParameter("give exactly one of --target, --case, --hotspot, --grid")
    variables = {}
    for v in var:
        if "=" not in v:
            raise typer.BadParameter(f"--var wants NAME=VALUE, got {v!r}")
        k, val = v.split("=", 1)
        variables[k] = val
    spec: dict = {"kind": "survey" if grid else "target", "station_id": station, "altitude_m": altitude,
                  "hold_s": hold, "start": start, "grid_code": grid, "case_id": case, "hotspot_id": hotspot,
                  "broadcasts": [{"template": t, "variables": variables, "plays": plays, "volume": volume}
                                 for t in template]}
    if target:
        spec["lon"], spec["lat"] = _point(target)
        spec["coord_sys"] = coord_sys
    eng = _engine()
    ctx = context.load(eng)
    plan, _ = missions.build_plan(eng, spec, ctx)
    rules.enforce(plan, ctx)  # a plan that breaks a rule: every violation listed, exit 2, no file
    files = export_file(plan, ctx, out)
    if save:
        m, _ = missions.create_mission(eng, spec, user, "drone_operator")
        console.print(f"stored mission {m['id']}")
    d = plan.to_dict()
    console.print(f"station {d['station_id']} drone {d['airframe_id']}: {d['distance_m'] / 1000:.2f} km, "
                  f"{d['duration_s'] / 60:.1f} min of {d['usable_s'] / 60:.1f} usable, "
                  f"{len(d['waypoints'])} waypoints" + (f", application {plan.application_ref}"
                                                        if plan.application_ref else ""))
    for f in files:
        console.print(f"wrote {f}")


@drone_app.command("fly")
def fly_cmd(mission_id: int, step: float = typer.Option(10.0, "--step")) -> None:
    """Fly a stored mission in simulation (telemetry + broadcasts into the service)."""
    from drone.simulate import fly_mission

    console.print_json(json.dumps(fly_mission(_engine(), mission_id, step_s=step), ensure_ascii=False))


@drone_app.command("approve")
def approve_cmd(code: str, commander: str = typer.Option(..., "--commander", help="username of a commander")) -> None:
    """Approve a loudspeaker template or free text as a commander (audited)."""
    from citygrid.errors import NotFound
    from citygrid.org import get_user
    from drone import broadcast

    eng = _engine()
    user = get_user(eng, commander)
    if user is None:
        raise NotFound(f"no user {commander!r}")
    t = broadcast.approve_template(eng, code, user["username"], user["role"])
    console.print(f"template {t['code']} approved by {t['approved_by']}: {t['text_zh']}")
