"""``citygrid demo load``: everything a commander meets on day one, through the same functions
a city would use. Every layer of the portal is filled:

* the reference layers, and the organisation: the city bureau, a bureau per county, a resident
  enforcement squad (执法中队) per town/street, Donggang's 17 subteams (分队) stationed in
  grids, officers in every squad, and one sign-in per role (the patrol officer's linked to
  an officer, as live patrols need);
* the 191,000-case history 2023-2025 with each case's workflow events, dispatched cases
  carrying the squad of their subdistrict as responsible department;
* hotspot runs: the portal's own (Gi* per grid and clusters, all categories) and the
  per-category runs drone planning reads;
* a walking campaign ("脚步丈量城市") by several officers over the last days, imported as
  their patrols;
* the drone fleet with approved loudspeaker templates, and flown missions over the hot spots
  with their broadcasts (played in flight, and a live order per mission).

Idempotent: a second run adds nothing twice (existing rows are kept or updated).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from rich.console import Console

from citygrid.settings import Settings
from citygrid.vocab import COUNTY_NAMES, ROLES

console = Console()

CITY_BUREAU = "RZ-CGJ"
CAMPAIGN = "脚步丈量城市-demo"
PATROL_OFFICERS = 4  # officers walking the demo campaign, each with a sign-in
OUTINGS_PER_OFFICER = 4
# Hot-spot runs the portal requests by default (api/portal.py OVERLAYS), then those drone
# planning reads per category.
PORTAL_RUNS = (("gi_star", "grid", None), ("clusters", "grid", None))
CATEGORY_RUNS = (("gi_star", "h3_9"), ("clusters", "grid"))
HOTSPOT_CATEGORIES = ("occupied_road", "illegal_construction", "noise")
MISSION_HOURS = (9.5, 11, 14, 15.5, 17, 18.5)
# The place a warning names: the nearest place of a kind where that problem happens.
PLACE_KINDS = {"occupied_road": ("market", "night_market"), "noise": ("nightlife", "night_market"),
               "illegal_construction": ("construction_site", "urban_village")}  # local, daytime: no quiet-hour override needed

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "强", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚",
          "建华", "海燕", "志强", "晓东", "立新", "春梅", "国庆", "海涛", "红霞", "建国", "文博", "思远")


def officer_name(k: int) -> str:
    """A deterministic Chinese name for the k-th demo officer."""
    return _SURNAMES[k % len(_SURNAMES)] + _GIVEN[(k * 7 + k // len(_SURNAMES)) % len(_GIVEN)]


def load_demo(settings: Settings, *, n_cases: int = 191_000, seed: int = 42, years: int = 3,
              start_year: int = 2023, now: datetime | None = None, layers=None, users_file=None) -> dict:
    """Load the whole demo into the configured database; a summary of what is there.
    ``n_cases`` smaller than the city's 191,000 makes a quick demo (the browser test's);
    ``users_file``: where the demo passwords are kept (default: the state folder's
    demo_users.json)."""
    from citygrid.db.engine import get_engine
    from gis.layers.build import build_all
    from gis.layers.load import load_layers

    timings: dict[str, float] = {}
    t = time.perf_counter()
    layers = layers if layers is not None else build_all()
    counts = load_layers(get_engine(settings, role="owner"), layers)
    console.print("layers:", counts)
    timings["layers"] = time.perf_counter() - t

    t = time.perf_counter()
    org = load_organisation(settings, layers, users_file)
    timings["organisation"] = time.perf_counter() - t

    t = time.perf_counter()
    from cli.simulate import load_history

    load_history(settings, years=years, start=start_year, seed=seed, n=n_cases, role="owner", attributes=True,
                 events=True, layers=layers)
    timings["cases"] = time.perf_counter() - t

    t = time.perf_counter()
    store_demo_hotspots(settings, end_year=start_year + years - 1)
    timings["hotspots"] = time.perf_counter() - t

    t = time.perf_counter()
    patrols = load_patrol_campaign(settings, layers, org["patrol_badges"], now=now)
    timings["patrols"] = time.perf_counter() - t

    t = time.perf_counter()
    drones = load_drone_missions(settings, now=now)
    timings["drone"] = time.perf_counter() - t
    console.print("demo timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {"layers": counts, "organisation": org, "patrols": patrols, "drone": drones, "timings": timings}


# --- organisation ----------------------------------------------------------------------------

def load_organisation(settings: Settings, layers, users_file=None) -> dict:
    """Departments, squads, subteams, officers and the demo sign-ins (passwords generated once
    into the state folder). The patrol officer sign-ins are linked to officers."""
    import secrets

    from citygrid.db.engine import get_engine
    from citygrid.org import add_department, add_officer, add_user

    engine = get_engine(settings)
    add_department(engine, CITY_BUREAU, "日照市城市管理局", "department", county_code=None)
    for county, name in COUNTY_NAMES.items():
        add_department(engine, f"CG-{county}", f"{name}综合行政执法局", "department", CITY_BUREAU, county)
    subs = layers["subdistricts"].sort_values("code")
    for _, s in subs.iterrows():
        add_department(engine, f"SQ-{s['code']}", f"{s['name']}执法中队", "squad", f"CG-{s['county_code']}",
                       s["county_code"], subdistrict_code=s["code"])
    # Donggang runs 17 sub-teams stationed in grids
    dg = layers["grids"][layers["grids"]["county_code"] == "371102"].sort_values("code").head(17)
    for _, g in dg.iterrows():
        add_department(engine, f"ST-{g['code']}", f"{g['name']}分队", "subteam", f"SQ-{g['subdistrict_code']}",
                       g["county_code"], g["code"], g["subdistrict_code"])
    # two officers per squad
    badges = []
    for k, (_, s) in enumerate(subs.iterrows()):
        for j in range(2):
            badge = f"RZ{371100 + k:06d}{j + 1}"
            add_officer(engine, badge, officer_name(2 * k + j), f"SQ-{s['code']}")
            badges.append(badge)
    # sign-ins: one per role, plus the campaign's officers (linked to their officers)
    from pathlib import Path

    path = Path(users_file) if users_file else settings.state_dir / "demo_users.json"
    creds = json.loads(path.read_text()) if path.exists() else {}
    roles = {f"demo_{r}": r for r in ROLES}
    patrol_badges = badges[:PATROL_OFFICERS]
    links = {"demo_patrol_officer": patrol_badges[0]}
    for i, badge in enumerate(patrol_badges[1:], start=2):
        roles[f"demo_patrol_officer_{i}"] = "patrol_officer"
        links[f"demo_patrol_officer_{i}"] = badge
    for name in roles:
        creds.setdefault(name, secrets.token_urlsafe(9))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(creds, indent=1))
    path.chmod(0o600)
    for name, role in roles.items():
        add_user(engine, name, role, creds[name], officer=links.get(name), actor="demo")
    console.print(f"organisation: {len(COUNTY_NAMES) + 1} departments, {len(subs)} squads, {len(dg)} subteams, "
                  f"{len(badges)} officers; demo users (passwords in {path}): {', '.join(roles)}")
    return {"squads": len(subs), "subteams": len(dg), "officers": len(badges), "patrol_badges": patrol_badges,
            "users": list(roles), "users_file": str(path)}


# --- hot spots -------------------------------------------------------------------------------

def store_demo_hotspots(settings: Settings, end_year: int = 2025) -> None:
    """The latest year's hotspot runs: the portal's city-wide ones (all categories) and the
    per-category ones drone planning reads."""
    import pandas as pd

    from citygrid.db.engine import get_engine
    from citygrid.workcal import TZ
    from gis.hotspots import hotspots, store

    engine = get_engine(settings)
    start, end = pd.Timestamp(f"{end_year}-01-01", tz=TZ), pd.Timestamp(f"{end_year + 1}-01-01", tz=TZ)
    runs = [(m, u, c) for m, u, c in PORTAL_RUNS] + [(m, u, c) for c in HOTSPOT_CATEGORIES for m, u in CATEGORY_RUNS]
    read: dict = {}
    for method, unit, category in runs:
        if category not in read:
            read[category] = store.read_cases(engine, category, start, end)
        cases, grids = read[category]
        if len(cases) == 0:
            continue
        result = hotspots(cases, method=method, unit=unit, category=category, start=start, end=end, grids=grids)
        store.save_run(engine, result, method=method, unit=unit, category=category, start=start, end=end)
    console.print(f"hotspot runs stored for {end_year}: all categories (portal), " + ", ".join(HOTSPOT_CATEGORIES))


# --- patrols ---------------------------------------------------------------------------------

def campaign_starts(n: int, now: datetime) -> list:
    """UTC start times of ``n`` outings over the last days, the latest today (Shanghai): one
    every 5 hours back from a little before now, so outings have ended by now (except just
    after midnight, when today's first outing is still under way)."""
    import pandas as pd

    from citygrid.workcal import TZ

    local = pd.Timestamp(now).tz_convert(TZ)
    latest = max(local - pd.Timedelta(hours=3, minutes=30), local.normalize() + pd.Timedelta(minutes=5))
    return [(latest - pd.Timedelta(hours=5) * (n - 1 - k)).tz_convert("UTC") for k in range(n)]


def load_patrol_campaign(settings: Settings, layers, badges: list[str], now: datetime | None = None) -> dict:
    """The demo campaign: simulated outings (phone GPS errors included) of several officers,
    written as GPX and imported as each officer's patrols (cleaned and measured)."""
    import tempfile
    from pathlib import Path

    from citygrid.db.engine import get_engine
    from citygrid.workcal import TZ
    from patrol.simulate import simulate_patrols, write_gpx
    from patrol.store import import_files

    import sqlalchemy as sa

    engine = get_engine(settings)
    n = len(badges) * OUTINGS_PER_OFFICER
    now = now or datetime.now(TZ)
    with engine.connect() as conn:
        recent = conn.execute(sa.text("SELECT count(*) FROM patrols WHERE campaign = :c AND started_at > :t"),
                              {"c": CAMPAIGN, "t": now - timedelta(days=1)}).scalar()
    if recent:  # a demo loaded in the last day: its campaign still shows as today's and this week's
        console.print(f"patrol campaign {CAMPAIGN}: {recent} outings of the last day already there")
        return {"outings": n, "officers": len(badges), "new": 0}
    sim = simulate_patrols(layers, n_outings=n, seed=17, interval_s=5, campaign="demo",
                           starts=campaign_starts(n, now))
    stored, km = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        files = write_gpx(sim.fixes, Path(tmp))
        for i, badge in enumerate(badges):
            mine = files[i::len(badges)]  # outings alternate between officers
            out = import_files(engine, mine, officer=badge, campaign=CAMPAIGN, created_by="demo")
            stored += sum(1 for r in out if not r["already_imported"])
            km += sum(r.get("distance_m", 0.0) for r in out) / 1000
    console.print(f"patrol campaign {CAMPAIGN}: {n} outings by {len(badges)} officers "
                  f"({stored} new, {km:.1f} km)")
    return {"outings": n, "officers": len(badges), "new": stored}


# --- drones ----------------------------------------------------------------------------------

def load_drone_missions(settings: Settings, now: datetime | None = None) -> dict:
    """Fleet and templates; a commander approves the templates; missions over the strongest
    hot spots of each loudspeaker category, each with its broadcast, flown in simulation; and
    a live broadcast ordered on each mission's drone (served by the simulator)."""
    import sqlalchemy as sa

    from citygrid.db.engine import get_engine
    from citygrid.errors import CitygridError
    from citygrid.workcal import TZ
    from drone import broadcast, context, fleet, missions, simulate

    engine = get_engine(settings)
    fleet.seed(engine)
    broadcast.seed_templates(engine, created_by="demo_drone_operator")
    context.invalidate()
    for code in HOTSPOT_CATEGORIES:
        broadcast.approve_template(engine, code, "demo_commander", "commander")
    now = now or datetime.now(TZ)
    today = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        done = conn.execute(sa.text("SELECT count(*) FROM missions WHERE created_by = 'demo_drone_operator' "
                                    "AND planned_start >= :d"), {"d": today}).scalar()
        if done:
            console.print(f"drone: {done} demo missions already planned today")
            return {"missions": int(done), "new": 0}
        targets = conn.execute(sa.text("""
            SELECT h.category, ST_X(c) AS lon, ST_Y(c) AS lat
            FROM (SELECT category, statistic, ST_Centroid(geom) AS c,
                         row_number() OVER (PARTITION BY category ORDER BY statistic DESC) AS k
                  FROM hotspots WHERE method = 'gi_star' AND unit = 'h3_9' AND category = ANY(:cats)
                    AND gi_bin = 3) h
            WHERE h.k <= 12 ORDER BY h.k, h.category"""), {"cats": list(HOTSPOT_CATEGORIES)}).all()
    made, per_cat, refused = [], {}, 0
    for t in targets:
        if len(made) >= len(MISSION_HOURS) or per_cat.get(t.category, 0) >= 2:
            continue
        with engine.connect() as conn:
            place = conn.execute(sa.text(
                "SELECT name FROM pois WHERE kind = ANY(:kinds) AND name IS NOT NULL "
                "ORDER BY geom <-> ST_SetSRID(ST_Point(:x, :y), 4326) LIMIT 1"),
                {"kinds": list(PLACE_KINDS[t.category]), "x": t.lon, "y": t.lat}).scalar()
        start = today + timedelta(hours=MISSION_HOURS[len(made)])
        variables = {"place": place}
        if t.category == "noise":
            variables["time"] = f"{start:%H:%M}"
        spec = {"kind": "target", "lon": t.lon, "lat": t.lat, "start": start.isoformat(), "capture": "video",
                "broadcasts": [{"template": t.category, "variables": variables, "plays": 2, "volume": 80}]}
        try:
            m, _ = missions.create_mission(engine, spec, "demo_drone_operator", "drone_operator")
        except CitygridError:  # a hot spot in controlled airspace or out of range: the next one
            refused += 1
            continue
        made.append((m, t.category, variables))
        per_cat[t.category] = per_cat.get(t.category, 0) + 1
    played = commands = 0
    for m, template, variables in made:
        out = simulate.fly_mission(engine, m["id"], step_s=10)
        played += len(out["played"])
        # the operator repeats the warning live from the same drone (a commander's override
        # first when the demo is loaded in quiet hours)
        ov = None
        if broadcast.in_quiet_hours(broadcast.clock()):
            ov = broadcast.grant_override(engine, out["drone_id"], "demo_commander", "commander",
                                          "demo: repeat the mission's warning", minutes=30)["id"]
        broadcast.order_broadcast(engine, out["drone_id"], "demo_drone_operator", "drone_operator",
                                  template=template, variables=variables, mission_id=m["id"], override_id=ov)
        commands += 1
        simulate.serve_commands(engine, out["drone_id"], operator="demo_drone_operator")
    console.print(f"drone: {len(made)} missions flown ({played} broadcasts played in flight, {commands} live "
                  f"orders served; {refused} hot spots skipped by the flight rules)")
    return {"missions": len(made), "new": len(made), "played": played, "commands": commands}

