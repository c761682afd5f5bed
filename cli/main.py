"""The ``citygrid`` command line (typer). Sub-apps per capability; each calls plain functions."""
from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from cli.cases import cases_app
from cli.errors import HandledGroup
from cli.drone import drone_app
from cli.hotspots import hotspots_cmd
from cli.layers import layers_app
from cli.patrol import patrol_app
from cli.simulate import simulate_app
from citygrid.settings import get_settings

app = typer.Typer(help="citygrid: the spatial heart of Rizhao's urban management.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=HandledGroup)
db_app = typer.Typer(help="The database: embedded cluster and migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and Open311 API clients.", no_args_is_help=True)
org_app = typer.Typer(help="Organisation: departments, squads and officers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(org_app, name="org")
app.add_typer(layers_app, name="layers")
app.add_typer(cases_app, name="cases")
app.add_typer(drone_app, name="drone")
app.add_typer(patrol_app, name="patrol")
app.add_typer(simulate_app, name="simulate")
app.command("hotspots")(hotspots_cmd)
demo_app = typer.Typer(help="Demo data for `make demo`.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
console = Console()


# --- db ----------------------------------------------------------------------
@db_app.command("up")
def db_up() -> None:
    """Start the embedded PostgreSQL + PostGIS cluster (idempotent)."""
    from citygrid.db.cluster import Cluster

    settings = get_settings()
    if settings.database_url:
        console.print("Using the configured database server; nothing to start.")
        return
    started = Cluster(settings).start()
    console.print("started" if started else "already running", f"(port {settings.db_port})")


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster (idempotent)."""
    from citygrid.db.cluster import Cluster

    stopped = Cluster(get_settings()).stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Show the embedded cluster's state."""
    from citygrid.db.cluster import Cluster

    settings = get_settings()
    if settings.database_url:
        console.print_json(json.dumps({"external": True, "database": settings.db_name}))
        return
    console.print_json(json.dumps(Cluster(settings).status()))


@db_app.command("migrate")
def db_migrate(revision: str = "head") -> None:
    """Create roles and database if needed, then run the Alembic migrations as the owner."""
    from citygrid.db.migrate import migrate

    migrate(get_settings(), revision)
    console.print(f"database {get_settings().db_name} at {revision}")


@db_app.command("backup")
def db_backup(file: str = typer.Argument(..., help="where to write the dump (pg_dump custom format)")) -> None:
    """Dump the whole database (every table, grant and trigger) with pg_dump -Fc."""
    from pathlib import Path

    from citygrid.db.backup import backup

    path = backup(get_settings(), Path(file))
    console.print(f"database {get_settings().db_name} written to {path} ({path.stat().st_size} bytes)")


@db_app.command("restore")
def db_restore(file: str = typer.Argument(..., help="a dump written by `citygrid db backup`")) -> None:
    """Replace the configured database with a backup (restored into a fresh database, then swapped in)."""
    from pathlib import Path

    from citygrid.db.backup import restore

    restore(get_settings(), Path(file))
    console.print(f"database {get_settings().db_name} restored from {file}")


# --- users -------------------------------------------------------------------
@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option(..., "--role", help="commander|drone_operator|planner|patrol_officer|public"),
    password: str = typer.Option(None, "--password", help="Prompted for when not given.", envvar="CITYGRID_NEW_USER_PASSWORD"),
    display_name: str = typer.Option(None, "--display-name"),
    officer: str = typer.Option(None, "--officer", help="badge (or id) of the officer this user is; "
                                "required for patrol_officer. With --officer-name the officer is created."),
    officer_name: str = typer.Option(None, "--officer-name", help="create (or rename) the officer --officer"),
    department: str = typer.Option(None, "--department", help="the new officer's department/squad code"),
) -> None:
    """Add a user with a role, linked to an officer (or reset the password, role and link of an
    existing one)."""
    from citygrid.db.engine import get_engine
    from citygrid.org import add_officer, add_user

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = get_engine()
    if officer_name:
        if not officer:
            raise typer.BadParameter("--officer-name needs --officer BADGE")
        add_officer(engine, officer, officer_name, department)
    u = add_user(engine, name, role, password, display_name=display_name, officer=officer, actor="cli")
    linked = f", officer {u['officer_badge']} {u['officer_name']}" if u["officer_badge"] else ""
    dep = f" in {u['department_code']}" if u["department_code"] else ""
    console.print(f"user {name} ({role}) id={u['id']}{linked}{dep}")


@users_app.command("list")
def users_list(
    active: bool = typer.Option(None, "--active/--inactive", help="only active (or only deactivated) users"),
) -> None:
    """Users with their role, officer, department and whether they are active."""
    from citygrid.db.engine import get_engine
    from citygrid.org import list_users

    table = Table("id", "username", "role", "officer", "department", "active")
    for u in list_users(get_engine(), active=active):
        officer = f"{u['officer_badge']} {u['officer_name']}" if u["officer_badge"] else ""
        table.add_row(str(u["id"]), u["username"], u["role"], officer, u["department_code"] or "",
                      str(u["active"]))
    console.print(table)


@users_app.command("deactivate")
def users_deactivate(name: str) -> None:
    """Deactivate a user: no more sign-ins, and every token they hold stops working now."""
    from citygrid.db.engine import get_engine
    from citygrid.org import set_user_active

    set_user_active(get_engine(), name, False, actor="cli")
    console.print(f"user {name} deactivated; their tokens are revoked")


@users_app.command("activate")
def users_activate(name: str) -> None:
    """Reactivate a user (they sign in again: older tokens stay revoked)."""
    from citygrid.db.engine import get_engine
    from citygrid.org import set_user_active

    set_user_active(get_engine(), name, True, actor="cli")
    console.print(f"user {name} active")


# --- organisation -------------------------------------------------------------
@org_app.command("add-department")
def org_add_department(
    code: str, name: str,
    kind: str = typer.Option("department", "--kind", help="department | squad (执法中队) | subteam (分队)"),
    parent: str = typer.Option(None, "--parent", help="parent department's code (a squad's department)"),
    county: str = typer.Option(None, "--county", help="6-digit county code"),
    grid: str = typer.Option(None, "--grid", help="14-digit grid code (a subteam's station)"),
    subdistrict: str = typer.Option(None, "--subdistrict", help="9-digit code of the town/street a squad serves "
                                    "(cases there are dispatched to it)"),
) -> None:
    """Add (or rename) a department, squad or subteam."""
    from citygrid.db.engine import get_engine
    from citygrid.org import add_department

    did = add_department(get_engine(), code, name, kind, parent, county, grid, subdistrict)
    console.print(f"{kind} {code} {name} id={did}")


@org_app.command("add-officer")
def org_add_officer(
    badge: str, name: str,
    department: str = typer.Option(None, "--department", help="department/squad/subteam code"),
    county: str = typer.Option(None, "--county", help="6-digit county code (default: the department's)"),
) -> None:
    """Add an officer (or rename one / move them to --department)."""
    from citygrid.db.engine import get_engine
    from citygrid.org import add_officer

    oid = add_officer(get_engine(), badge, name, department, county)
    console.print(f"officer {badge} {name} id={oid}")


@org_app.command("retire-officer")
def org_retire_officer(badge: str) -> None:
    """Retire an officer: their patrols stay, they start no new one, their user is deactivated."""
    from citygrid.db.engine import get_engine
    from citygrid.org import set_officer_active

    o = set_officer_active(get_engine(), badge, False, actor="cli")
    console.print(f"officer {badge} retired" + (f"; user {o['username']} deactivated" if o["username"] else ""))


@org_app.command("reinstate-officer")
def org_reinstate_officer(badge: str) -> None:
    """Reinstate a retired officer (reactivate their user with `users activate`)."""
    from citygrid.db.engine import get_engine
    from citygrid.org import set_officer_active

    set_officer_active(get_engine(), badge, True, actor="cli")
    console.print(f"officer {badge} active")


@org_app.command("list")
def org_list(what: str = typer.Argument("officers", help="officers | departments")) -> None:
    """List officers (with their squad and user) or departments (with their parent)."""
    from citygrid.db.engine import get_engine
    from citygrid.errors import InvalidInput
    from citygrid.org import list_departments, list_officers

    if what == "officers":
        table = Table("badge", "name", "department", "county", "user", "active")
        for o in list_officers(get_engine()):
            table.add_row(o["badge"], o["name"], o["department_code"] or "", o["county_code"] or "",
                          o["username"] or "", str(o["active"]))
    elif what == "departments":
        table = Table("code", "name", "kind", "parent", "county", "officers")
        for d in list_departments(get_engine()):
            table.add_row(d["code"], d["name"], d["kind"], d["parent_code"] or "", d["county_code"] or "",
                          str(d["officers"]))
    else:
        raise InvalidInput(f"list officers or departments, not {what!r}")
    console.print(table)


@users_app.command("add-client")
def users_add_client(name: str) -> None:
    """Register an Open311 API client; prints its key once."""
    from citygrid.db.engine import get_engine
    from citygrid.org import add_api_client

    key = add_api_client(get_engine(), name)
    console.print(f"api_key for {name}: {key}")


@demo_app.command("load")
def demo_load(
    n: int = typer.Option(191_000, "--n", min=1000, help="cases in the simulated history (the city's 191,000)"),
) -> None:
    """Load everything the demo shows: layers, organisation and sign-ins, the case history with
    its workflow events, hotspot runs, a patrol campaign, drone missions with broadcasts."""
    import time

    from cli.demo import load_demo

    t0 = time.perf_counter()
    load_demo(get_settings(), n_cases=n)
    console.print(f"demo loaded in {time.perf_counter() - t0:.1f} s")


@app.command("serve")
def serve(host: str = typer.Option(None), port: int = typer.Option(None),
          workers: int = typer.Option(None, min=1, help="worker processes (CITYGRID_WORKERS; default 1)")) -> None:
    """Serve the API and map portal."""
    from api.server import serve as run

    settings = get_settings()
    run(host or settings.host, port or settings.port, workers or settings.workers)


if __name__ == "__main__":
    app()
