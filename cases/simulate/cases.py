"""A realistic, seeded history of urban-management cases: ``simulate_cases(layers, ...)``.

The history is a mixture of *components*, each a category happening at a kind of place on a
rhythm: vending along the streets around markets in the morning and around night markets in
summer evenings, vendors at school gates at the bell, illegal building in urban villages and
at the urban fringe, bar-street noise at night, cooking fumes at night markets in summer,
garbage-sorting problems across residential communities, ... Every component's intensity
over the hours of the years multiplies an hour-of-day (or the POI's own busy hours) profile,
a month profile, working day vs weekend/holiday, the Spring Festival and the days before it
(work calendar), school terms and a yearly trend. Planted hotspots (planted.py) come on top.

Then the workflow clock runs for each case (file, dispatch, deadline by the category limit on
the work calendar, handle, feedback, verify and close, evaluate; some reworked; a few not yet
disposed or closed) calibrated so the city-wide 处置率 and 结案率 over the years, as
``cases.kpi`` defines them, come out at Rizhao's published 98.61% and 98.51%.

All vectorised with numpy/shapely: loops run over components, POI groups and hotspots only.
Deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from cases.simulate import planted as planted_mod
from citygrid.worktable import DAY, HOUR, WorkTable, to_aware
from cases.simulate.hours import week_matrix
from cases.simulate.scene import Lines, Scene, along, around, gps_error, inside
from gis.crs import from_metric
from cases.simulate.timeline import Timeline
from citygrid.vocab import CASE_STATES, CATEGORIES, CATEGORY_SLUGS, SOURCES, WORKING_DAYS

YEARS = (2023, 2024, 2025)
N_CASES = 191_000
TARGET_DISPOSAL = 0.9861  # 处置率, Rizhao since 2023
TARGET_CLOSURE = 0.9851  # 结案率
REWORK_RATE = 0.015
SOURCE_MIX = {"citizen": 0.60, "patrol": 0.25, "drone": 0.04, "sensor": 0.04, "hotline": 0.07}
TREND = {2023: 0.90, 2024: 1.0, 2025: 1.10}  # the platform's growing use
MINUTE = 60


def hours_profile(spans: dict[tuple[int, int], float], base: float = 0.03) -> np.ndarray:
    """24 hourly weights: ``{(from, to): weight}``, ``to`` may pass midnight (e.g. (20, 26))."""
    out = np.full(24, base)
    for (a, b), w in spans.items():
        out[np.arange(a, b) % 24] = np.maximum(out[np.arange(a, b) % 24], w)
    return out


FLAT = np.ones(12)
M_VEND_DAY = np.array([0.7, 0.7, 0.9, 1.0, 1.1, 1.15, 1.2, 1.2, 1.1, 1.05, 0.9, 0.75])
M_EVENING = np.array([0.3, 0.35, 0.55, 0.85, 1.15, 1.6, 1.9, 1.9, 1.4, 1.0, 0.55, 0.35])
M_FUMES = np.array([0.25, 0.3, 0.5, 0.8, 1.2, 1.9, 2.3, 2.2, 1.4, 0.9, 0.45, 0.3])
M_NOISE = np.array([0.7, 0.7, 0.85, 1.0, 1.15, 1.3, 1.45, 1.45, 1.2, 1.0, 0.8, 0.7])
M_BUILD = np.array([0.5, 0.45, 1.1, 1.3, 1.25, 1.1, 0.9, 0.9, 1.2, 1.3, 1.1, 0.7])
M_GARBAGE = np.array([0.95, 1.0, 1.0, 1.0, 1.0, 1.1, 1.15, 1.15, 1.05, 1.0, 0.95, 0.95])
M_GREEN = np.array([0.5, 0.6, 1.0, 1.3, 1.3, 1.2, 1.5, 1.5, 1.1, 0.9, 0.7, 0.5])
M_GAS = np.array([1.6, 1.5, 1.1, 0.8, 0.7, 0.6, 0.6, 0.6, 0.7, 0.9, 1.3, 1.6])
M_WATER = np.array([0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.3, 1.1, 1.0, 0.9, 0.8])

H_DAY = hours_profile({(8, 18): 1.0, (7, 8): 0.5, (18, 20): 0.5})
H_SHOPS = hours_profile({(9, 21): 1.0, (8, 9): 0.5, (21, 22): 0.5})
H_EVENING = hours_profile({(18, 23): 1.0, (17, 18): 0.5, (23, 25): 0.4})
H_NIGHT = hours_profile({(20, 26): 1.0, (19, 20): 0.4, (26, 27): 0.3})
H_NIGHT_WORKS = hours_profile({(22, 29): 1.0, (21, 22): 0.4})
H_GARBAGE = hours_profile({(6, 10): 1.0, (17, 21): 0.9, (10, 17): 0.45})
H_ALLDAY = hours_profile({(7, 22): 1.0}, base=0.25)


@dataclass
class Rhythm:
    """How a component's intensity varies over the hours of the years."""
    hours: np.ndarray | None = None  # 24 weights; None: the POIs' own weekly hours
    months: np.ndarray = field(default_factory=lambda: FLAT)
    off: float = 1.0  # non-working days (weekends and holidays) vs working days
    holiday: float = 1.0  # official holidays on top of ``off``
    spring: float = 0.5  # the Spring Festival break on top of ``off``/``holiday``
    pre: float = 1.0  # the two weeks before the Spring Festival
    school: bool = False  # only on school days

    def intensity(self, tl: Timeline, weekly: np.ndarray | None = None) -> np.ndarray:
        """Relative intensity over every hour of ``tl``: the hour-of-day profile (or the POIs'
        ``weekly`` 7 x 24 matrix) times the month, yearly-trend, day-off, holiday, Spring Festival
        and pre-festival factors; zero outside school days when ``school``."""
        base = tl.by_week(weekly) if weekly is not None else tl.by_hour(self.hours)
        out = base * tl.by_month(self.months) * tl.by_year(TREND)
        out = out * np.where(tl.workday, 1.0, self.off) * np.where(tl.holiday, self.holiday, 1.0)
        out = out * np.where(tl.spring_festival, self.spring, 1.0) * np.where(tl.pre_festival, self.pre, 1.0)
        if self.school:
            out = out * tl.school_day
        return out


@dataclass
class Component:
    """One source of background cases: ``category`` at a kind of place (``where``) on a ``rhythm``,
    taking ``share`` of all cases. ``poi_hours`` (a, b, c) makes the rhythm the POIs' own:
    weekly intensity a + b x opening hours + c x busy hours."""
    driver: str  # a name for where/why (kept in the output's ``driver`` column)
    category: str
    share: float  # of all cases
    where: tuple  # ("roads_near", kinds, radius[, road kinds]) | ("poi", kinds, sd) | ("roads", kinds)
    #               | ("communities",) | ("fringe", sd) | ("towns", sd)
    rhythm: Rhythm
    poi_hours: tuple[float, float, float] | None = None  # weekly = a + b*opening + c*busy


# Shares add up to 1 - planted hotspots' shares (renormalised below).
COMPONENTS = (
    # occupied-road vending: markets (mornings, late afternoon), night markets (evenings,
    # summer), school gates at the bell, anywhere on busy streets
    Component("market_street", "occupied_road", 0.085, ("roads_near", ("market",), 250.0),
              Rhythm(months=M_VEND_DAY, off=1.6, holiday=1.2, spring=0.35, pre=1.8), (0.03, 0.25, 1.0)),
    Component("night_market", "occupied_road", 0.07, ("roads_near", ("night_market",), 250.0),
              Rhythm(months=M_EVENING, off=1.6, holiday=1.4, spring=0.3), (0.01, 0.3, 1.0)),
    Component("school_gate", "occupied_road", 0.015, ("roads_near", ("school",), 90.0),
              Rhythm(school=True), (0.0, 0.02, 1.0)),
    Component("street", "occupied_road", 0.03, ("roads", ("arterial", "local")),
              Rhythm(hours=H_SHOPS, months=M_VEND_DAY, off=1.5, spring=0.4)),
    Component("market_street", "storefront_extension", 0.05, ("roads_near", ("market",), 300.0),
              Rhythm(hours=H_SHOPS, months=M_VEND_DAY, off=1.5, spring=0.35, pre=1.6)),
    Component("street", "storefront_extension", 0.08, ("roads", ("local", "arterial")),
              Rhythm(hours=H_SHOPS, months=M_VEND_DAY, off=1.4, spring=0.4, pre=1.3)),
    Component("school_gate", "unlicensed_vendor", 0.03, ("roads_near", ("school",), 90.0),
              Rhythm(school=True), (0.0, 0.02, 1.0)),
    Component("night_market", "unlicensed_vendor", 0.025, ("roads_near", ("night_market",), 300.0),
              Rhythm(months=M_EVENING, off=1.6, holiday=1.4, spring=0.3), (0.01, 0.3, 1.0)),
    Component("market_street", "unlicensed_vendor", 0.015, ("roads_near", ("market",), 300.0),
              Rhythm(months=M_VEND_DAY, off=1.6, spring=0.3, pre=1.8), (0.03, 0.25, 1.0)),
    Component("street", "unlicensed_vendor", 0.01, ("roads", ("arterial",)),
              Rhythm(hours=H_SHOPS, months=M_VEND_DAY, off=1.3, spring=0.4)),
    # illegal construction: urban villages, the urban fringe, scattered; more on days off
    # (when enforcement is thin), little over the Spring Festival and in deep winter
    Component("urban_village", "illegal_construction", 0.028, ("poi", ("urban_village",), 160.0),
              Rhythm(hours=H_DAY, months=M_BUILD, off=1.3, spring=0.15, pre=0.6)),
    Component("fringe", "illegal_construction", 0.022, ("fringe", 120.0),
              Rhythm(hours=H_DAY, months=M_BUILD, off=1.3, spring=0.15, pre=0.6)),
    Component("residential", "illegal_construction", 0.006, ("communities",),
              Rhythm(hours=H_DAY, months=M_BUILD, off=1.2, spring=0.2)),
    Component("town", "illegal_construction", 0.004, ("towns", 900.0),
              Rhythm(hours=H_DAY, months=M_BUILD, off=1.2, spring=0.2)),
    # noise: bar streets at night (their own hours), night works on sites, neighbourhoods
    Component("nightlife", "noise", 0.04, ("poi", ("nightlife",), 70.0),
              Rhythm(months=M_NOISE, off=1.15, holiday=1.3, spring=0.6), (0.0, 0.35, 1.0)),
    Component("construction_site", "noise", 0.012, ("poi", ("construction_site",), 60.0),
              Rhythm(hours=H_NIGHT_WORKS, months=M_BUILD, off=0.8, spring=0.1)),
    Component("residential", "noise", 0.018, ("communities",),
              Rhythm(hours=H_NIGHT, months=M_NOISE, off=1.3, holiday=1.2, spring=1.2)),
    # garbage sorting: residential communities, at the sorting points' hours
    Component("residential", "garbage_sorting", 0.125, ("communities",),
              Rhythm(hours=H_GARBAGE, months=M_GARBAGE, off=1.1, spring=1.3, pre=1.15)),
    Component("town", "garbage_sorting", 0.015, ("towns", 900.0),
              Rhythm(hours=H_GARBAGE, months=M_GARBAGE, off=1.1, spring=1.2)),
    # outdoor advertising: along arterials, found on patrol (working days)
    Component("arterial", "outdoor_advertising", 0.055, ("roads", ("arterial",)),
              Rhythm(hours=H_DAY, off=0.6, holiday=1.2, spring=0.5, pre=1.4)),
    Component("market_street", "outdoor_advertising", 0.015, ("roads_near", ("market",), 300.0),
              Rhythm(hours=H_DAY, off=0.6, spring=0.5, pre=1.4)),
    # cooking fumes: night markets in summer evenings, bar streets, restaurant streets
    Component("night_market", "cooking_fumes", 0.025, ("poi", ("night_market",), 60.0),
              Rhythm(hours=H_EVENING, months=M_FUMES, off=1.3, holiday=1.3, spring=0.4)),
    Component("nightlife", "cooking_fumes", 0.01, ("poi", ("nightlife",), 80.0),
              Rhythm(hours=H_EVENING, months=M_FUMES, off=1.3, spring=0.5)),
    Component("street", "cooking_fumes", 0.015, ("roads", ("local",)),
              Rhythm(hours=hours_profile({(11, 13): 1.0, (17, 21): 1.0}, 0.1), months=M_FUMES, off=1.2)),
    # construction waste: around sites, dumped at night at the fringe, decoration waste at home
    Component("construction_site", "construction_waste", 0.035, ("poi", ("construction_site",), 120.0),
              Rhythm(hours=H_DAY, months=M_BUILD, off=0.7, spring=0.1)),
    Component("fringe", "construction_waste", 0.02, ("fringe", 150.0),
              Rhythm(hours=H_NIGHT_WORKS, months=M_BUILD, off=1.2, spring=0.2)),
    Component("residential", "construction_waste", 0.015, ("communities",),
              Rhythm(hours=H_DAY, months=M_BUILD, off=1.1, spring=0.3, pre=1.2)),
    # landscaping: street trees along roads, green space in communities (storms in summer)
    Component("street", "landscaping", 0.04, ("roads", ("arterial", "local")),
              Rhythm(hours=H_DAY, months=M_GREEN, off=0.7, spring=0.5)),
    Component("residential", "landscaping", 0.03, ("communities",),
              Rhythm(hours=H_DAY, months=M_GREEN, off=1.0, spring=0.6)),
    # gas safety: homes (sensor alarms, winter), markets and night markets (bottled gas)
    Component("residential", "gas_safety", 0.015, ("communities",),
              Rhythm(hours=H_ALLDAY, months=M_GAS, off=1.1, spring=1.3)),
    Component("market", "gas_safety", 0.01, ("poi", ("market", "night_market"), 60.0),
              Rhythm(hours=H_ALLDAY, months=M_GAS, off=1.2, spring=0.8)),
    # illegal discharge: restaurant streets near (night) markets, urban villages, sites
    Component("market_street", "illegal_discharge", 0.015, ("roads_near", ("market", "night_market"), 300.0),
              Rhythm(hours=H_ALLDAY, months=M_WATER, off=1.1, spring=0.6)),
    Component("urban_village", "illegal_discharge", 0.01, ("poi", ("urban_village",), 200.0),
              Rhythm(hours=H_ALLDAY, months=M_WATER, off=1.1, spring=0.6)),
    Component("construction_site", "illegal_discharge", 0.01, ("poi", ("construction_site",), 100.0),
              Rhythm(hours=H_DAY, months=M_WATER, off=0.8, spring=0.2)),
)

# Source mix per category (citizen, patrol, drone, sensor, hotline) before calibration to
# SOURCE_MIX: sensors only where there are IoT devices (noise, fumes, gas, water), drones
# where a problem is seen from above.
SOURCE_WEIGHTS = {
    "occupied_road": (0.55, 0.33, 0.08, 0.0, 0.04),
    "storefront_extension": (0.50, 0.42, 0.04, 0.0, 0.04),
    "unlicensed_vendor": (0.55, 0.38, 0.03, 0.0, 0.04),
    "illegal_construction": (0.45, 0.22, 0.25, 0.0, 0.08),
    "noise": (0.60, 0.05, 0.0, 0.15, 0.20),
    "garbage_sorting": (0.68, 0.26, 0.0, 0.02, 0.04),
    "outdoor_advertising": (0.48, 0.42, 0.08, 0.0, 0.02),
    "cooking_fumes": (0.58, 0.10, 0.0, 0.24, 0.08),
    "construction_waste": (0.52, 0.25, 0.15, 0.03, 0.05),
    "landscaping": (0.65, 0.28, 0.03, 0.0, 0.04),
    "gas_safety": (0.22, 0.05, 0.0, 0.63, 0.10),
    "illegal_discharge": (0.48, 0.20, 0.08, 0.16, 0.08),
}
# Who reports at what hour: patrols and drones fly by day, the hotline is busier at night.
SOURCE_HOURS = {
    "citizen": np.ones(24),
    "patrol": hours_profile({(8, 21): 1.0, (7, 8): 0.5}, 0.12),
    "drone": hours_profile({(8, 18): 1.0}, 0.02),
    "sensor": np.ones(24),
    "hotline": hours_profile({(20, 31): 1.6}, 1.0),
}

# Handling: working-hour categories in wall-clock minutes (median), working-day ones as a
# fraction (median) of their office-time budget.
HANDLE_MINUTES = {"occupied_road": 35, "storefront_extension": 45, "unlicensed_vendor": 30,
                  "noise": 50, "cooking_fumes": 70, "gas_safety": 18}
HANDLE_FRACTION = {"illegal_construction": 0.30, "garbage_sorting": 0.28, "outdoor_advertising": 0.3,
                   "construction_waste": 0.3, "landscaping": 0.3, "illegal_discharge": 0.3}
# Hard to dispose: what stays open longest (relative odds of being among the undisposed).
STUCK_ODDS = {"illegal_construction": 10.0, "outdoor_advertising": 3.0, "illegal_discharge": 3.0,
              "construction_waste": 2.0, "landscaping": 1.5}
FILE_MINUTES = {"citizen": 25, "patrol": 4, "drone": 6, "sensor": 2, "hotline": 12}

CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORY_SLUGS)}
SOURCE_INDEX = {s: i for i, s in enumerate(SOURCES)}


def _lognormal(rng, median, sigma, n):
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(n))


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total`` by ``weights`` (deterministic)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    rest = total - out.sum()
    if rest:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


@dataclass
class Prepared:
    """What the generator needs from the layers, built once (reused across calls)."""
    scene: Scene
    table: WorkTable
    timeline: Timeline
    planted: list[dict]
    lines: dict = field(default_factory=dict)

    @classmethod
    def build(cls, layers, years=YEARS) -> Prepared:
        """Prepare the scene, work table, hour timeline and planted hotspots of ``years`` from the
        reference ``layers``."""
        scene = Scene.from_layers(layers)
        table = WorkTable.for_years(years)
        return cls(scene, table, Timeline.build(years, table), planted_mod.resolve(scene))

    def poi_weights(self, pois: pd.DataFrame) -> np.ndarray:
        """Popularity: central POIs are busier; a fixed per-POI factor (not seed-dependent)."""
        d = dict(zip(self.scene.grids["code"], self.scene.grids["d_rel"]))
        d_rel = np.array([d.get(c, 1.0) for c in pois["grid_code"]])
        ids = pois["id"].to_numpy()
        fixed = np.exp(0.35 * np.sin(ids * 12.9898) * 1.7)  # deterministic spread 0.55..1.8
        return (1.6 - d_rel) * fixed

    def can_place(self, comp: Component) -> bool:
        """Whether the layers have anywhere to put ``comp``'s cases (roads with length, POIs of its
        kinds, communities, towns)."""
        kind = comp.where[0]
        if kind in ("roads_near", "roads", "fringe"):
            lines, _ = self.lines_for(comp.where)
            return len(lines) > 0 and float(lines.weight.sum()) > 0
        if kind == "poi":
            return len(self.scene.pois_of(*comp.where[1])) > 0
        if kind == "communities":
            return len(self.scene.communities) > 0
        if kind == "towns":
            return len(self.scene.towns) > 0
        return False

    def lines_for(self, where: tuple) -> tuple[Lines, pd.DataFrame]:
        """The line pieces a ``where`` of kind roads_near, roads or fringe samples along, and for
        roads_near the POIs they belong to (else None); built once per ``where``. Near POIs each
        POI's pieces together weigh its popularity. ValueError for another kind."""
        key = where
        if key not in self.lines:
            kind = where[0]
            if kind == "roads_near":
                pois = self.scene.pois_of(*where[1])
                w = self.poi_weights(pois)
                lines = self.scene.roads_near(pois, where[2])
                # every POI weighs its popularity whatever the street length around it
                per_poi = np.bincount(lines.anchor, weights=lines.weight, minlength=len(pois))
                if len(lines):
                    lines.weight = lines.weight / per_poi[lines.anchor] * w[lines.anchor]
                self.lines[key] = (lines, pois)
            elif kind == "roads":
                self.lines[key] = (self.scene.road_lines(where[1]), None)
            elif kind == "fringe":
                self.lines[key] = (self.scene.fringe_lines(), None)
            else:
                raise ValueError(kind)
        return self.lines[key]


def _poi_groups(pois: pd.DataFrame, mix: tuple[float, float, float]):
    """Group POIs by their weekly activity matrix: [(matrix, positions in pois)]."""
    a, b, c = mix
    mats = []
    for op, busy in zip(pois["opening_hours"], pois["busy_hours"]):
        o, bz = week_matrix(op), week_matrix(busy)
        o = o if o is not None else np.zeros((7, 24))
        bz = bz if bz is not None else o
        mats.append(a + b * o + c * bz)
    if not mats:
        return []
    stack = np.stack(mats)
    keys, inv = np.unique(stack.reshape(len(stack), -1), axis=0, return_inverse=True)
    return [(keys[k].reshape(7, 24), np.flatnonzero(inv.ravel() == k)) for k in range(len(keys))]


def _labels(strings: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place labels as (distinct strings, code per case): strings are built once per distinct
    place, never per case. ``strings(unique_keys)`` is a callable or an array indexed by key."""
    uniq, codes = np.unique(keys, return_inverse=True)
    table = strings(uniq) if callable(strings) else np.asarray(strings, dtype=object)[uniq]
    return np.asarray(table, dtype=object), codes.ravel().astype(np.int64)


def _component_cases(prep: Prepared, comp: Component, n: int, rng: np.random.Generator) -> dict:
    """Place, time and a place label for ``n`` cases of one component."""
    scene, tl = prep.scene, prep.timeline
    kind = comp.where[0]
    if kind in ("roads_near", "poi") and comp.poi_hours is not None:
        pois = scene.pois_of(*comp.where[1])
        groups = _poi_groups(pois, comp.poi_hours)
        w = prep.poi_weights(pois)
        counts = rng.multinomial(n, np.array([w[g].sum() for _, g in groups]) / w.sum())
        xs, ys, ts, keys = [], [], [], []
        for (mat, members), k in zip(groups, counts):
            ts.append(tl.sample(comp.rhythm.intensity(tl, weekly=mat), k, rng))
            x, y, key, strings = _place(prep, comp, k, rng, members)
            xs.append(x), ys.append(y), keys.append(key)
        x, y, t, key = (np.concatenate(xs), np.concatenate(ys), np.concatenate(ts),
                        np.concatenate(keys))
    else:
        t = tl.sample(comp.rhythm.intensity(tl), n, rng)
        x, y, key, strings = _place(prep, comp, n, rng, None)
    table, codes = _labels(strings, key)
    return {"x": x, "y": y, "t": t, "label": codes, "labels": table}


def _place(prep: Prepared, comp: Component, n: int, rng, members: np.ndarray | None):
    """x, y (metres, before GPS error), an integer place key per case and the key's label
    (an array indexed by key, or a callable on keys) for n cases of a component; with
    ``members`` only around those POIs (positions in the component's POI frame)."""
    scene = prep.scene
    kind = comp.where[0]
    if kind == "roads_near":
        lines, pois = prep.lines_for(comp.where)
        select = None if members is None else np.isin(lines.anchor, members)
        x, y, piece = along(lines, n, rng, select=select)
        road_names = scene.roads["name"].to_numpy(dtype=object)
        poi_names = pois["name"].to_numpy(dtype=object)
        m = len(pois)
        key = lines.road[piece].astype(np.int64) * m + lines.anchor[piece]
        return x, y, key, lambda k: road_names[k // m] + "（" + poi_names[k % m] + "附近）"
    if kind == "roads":
        lines, _ = prep.lines_for(comp.where)
        x, y, piece = along(lines, n, rng)
        return x, y, lines.road[piece], scene.roads["name"].to_numpy(dtype=object)
    if kind == "poi":
        pois = scene.pois_of(*comp.where[1])
        w = prep.poi_weights(pois)
        if members is not None:
            w = np.where(np.isin(np.arange(len(pois)), members), w, 0.0)
        i = rng.choice(len(pois), size=n, p=w / w.sum())
        x, y = around(pois["x"].to_numpy()[i], pois["y"].to_numpy()[i], comp.where[2], rng)
        return x, y, i, pois["name"].to_numpy(dtype=object) + "附近"
    if kind == "communities":
        comms = scene.communities
        polys = comms["geometry"].to_numpy()
        area = shapely.area(polys)
        x, y, i = inside(polys, area, n, rng)
        return x, y, i, comms["name"].to_numpy(dtype=object)
    if kind == "fringe":
        lines, _ = prep.lines_for(comp.where)
        x, y, piece = along(lines, n, rng, side=0.0, side_sd=comp.where[1])
        return x, y, np.zeros(n, dtype=np.int64), np.array(["城乡结合部"], dtype=object)
    if kind == "towns":
        towns = scene.towns
        w = np.where(towns["kind"].to_numpy() == "街道", 3.0, 1.0)
        i = rng.choice(len(towns), size=n, p=w / w.sum())
        x, y = around(towns["x"].to_numpy()[i], towns["y"].to_numpy()[i], comp.where[1], rng)
        return x, y, i, towns["name"].to_numpy(dtype=object)
    raise ValueError(f"unknown place kind {kind!r}")


def _hotspot_cases(prep: Prepared, h: dict, n: int, rng) -> dict:
    tl = prep.timeline
    start = np.datetime64(h["start"], "D").astype(np.int64) * DAY
    end = np.datetime64(h["end"], "D").astype(np.int64) * DAY
    a, b = h["hours"]
    in_hours = np.zeros(24)
    in_hours[np.arange(a, b) % 24] = 1.0
    # a case after midnight belongs to the evening before: the period test uses the hour start
    in_period = (tl.start >= start) & (tl.start < end)
    g0, g1 = h["growth"]
    pos = np.clip((tl.start - start) / max(end - start, 1), 0, 1)
    intensity = in_hours[tl.hod] * in_period * (g0 + (g1 - g0) * pos) * tl.by_year(TREND)
    intensity = intensity * np.where(tl.workday, 1.0, 1.2)
    t = tl.sample(intensity, n, rng)
    r = h["radius_m"]
    if h["spread"] == "roads":
        centre = pd.DataFrame({"x": [h["x"]], "y": [h["y"]]})
        lines = prep.scene.roads_near(centre, 0.8 * r)
        if len(lines) == 0:
            x, y = around(np.full(n, h["x"]), np.full(n, h["y"]), r / 2, rng)
        else:
            x, y, _ = along(lines, n, rng)
    else:
        x, y = around(np.full(n, h["x"]), np.full(n, h["y"]), r / 2, rng)
    place = (h["poi_name"] + "附近") if h["poi_name"] else "城乡结合部"
    return {"x": x, "y": y, "t": t, "label": np.zeros(n, dtype=np.int64),
            "labels": np.array([place], dtype=object)}


def _sources(cat: np.ndarray, t: np.ndarray, rng) -> np.ndarray:
    """Source index per case: category weights x hour factors, calibrated to SOURCE_MIX."""
    base = np.array([SOURCE_WEIGHTS[c] for c in CATEGORY_SLUGS])  # (categories, 5)
    hour_f = np.stack([SOURCE_HOURS[s] for s in SOURCES], axis=1)  # (24, 5)
    p = base[:, None, :] * hour_f[None, :, :]  # (categories, 24, 5)
    cell = cat * 24 + (t // HOUR) % 24
    count = np.bincount(cell, minlength=p.shape[0] * 24).reshape(p.shape[:2])
    target = np.array([SOURCE_MIX[s] for s in SOURCES])
    g = np.ones(len(SOURCES))
    for _ in range(50):  # iterative proportional fitting of one multiplier per source
        q = p * g
        q = q / q.sum(-1, keepdims=True)
        g *= target / ((q * count[..., None]).sum((0, 1)) / max(count.sum(), 1))
    q = p * g
    cdf = np.cumsum(q / q.sum(-1, keepdims=True), axis=-1).reshape(-1, len(SOURCES))[cell]
    return (rng.random(len(t))[:, None] > cdf).sum(1).clip(0, len(SOURCES) - 1)


def _workflow(prep: Prepared, cat: np.ndarray, src: np.ndarray, reported: np.ndarray,
              rng, period: tuple[int, int]) -> dict:
    """The clock of each case: int64 local seconds, -1 where a step has not happened."""
    n = len(cat)
    table = prep.table
    cats = [CATEGORIES[c] for c in CATEGORY_SLUGS]
    limit_value = np.array([c.limit_value for c in cats])[cat]
    limit_unit = np.array([c.limit_unit for c in cats], dtype=object)[cat]
    by_days = limit_unit == WORKING_DAYS
    hod = (reported // HOUR) % 24
    night = (hod >= 22) | (hod < 7)

    file_med = np.array([FILE_MINUTES[s] for s in SOURCES])[src] * MINUTE
    file_med = file_med * np.where(night & np.isin(src, [0, 4]), 3.0, 1.0)
    filed = reported + _lognormal(rng, file_med, 0.9, n).astype(np.int64)
    urgent = cat == CATEGORY_INDEX["gas_safety"]
    disp_med = np.where(urgent, 3, np.where(by_days, 40, 8)) * MINUTE
    dispatched = filed + _lognormal(rng, disp_med * np.where(night, 2.0, 1.0), 0.8, n).astype(np.int64)
    due = table.deadline(dispatched, limit_value, limit_unit)

    def handle(start):
        minutes = np.array([HANDLE_MINUTES.get(c, 60) for c in CATEGORY_SLUGS])[cat]
        wall = start + _lognormal(rng, minutes * MINUTE, 0.7, n).astype(np.int64)
        frac = np.array([HANDLE_FRACTION.get(c, 0.3) for c in CATEGORY_SLUGS])[cat]
        office_h = _lognormal(rng, frac * limit_value * 8.0, 0.7, n)
        office = table.add_working_hours(start, np.where(by_days, office_h, 0.0))
        return np.where(by_days, office, wall)

    def verify(fb):
        # the command centre verifies round the clock, slower at night, urgent cases first
        fh = (fb // HOUR) % 24
        slow = np.where((fh >= 23) | (fh < 7), 4.0, 1.0)
        median = np.where(urgent, 8, 20) * MINUTE * slow
        return fb + _lognormal(rng, median, 0.9, n).astype(np.int64)

    handled = handle(dispatched)
    feedback = handled + _lognormal(rng, 8 * MINUTE, 0.6, n).astype(np.int64)
    checked = verify(feedback)
    # rework (返工): verification fails, the case goes back; handled_at keeps the first disposal
    rework = rng.random(n) < REWORK_RATE
    rework_count = rework.astype(np.int32)
    rework_count[rework & (rng.random(n) < 0.08)] = 2
    h2 = handle(checked)
    fb2 = h2 + _lognormal(rng, 8 * MINUTE, 0.6, n).astype(np.int64)
    c2 = verify(fb2)
    feedback = np.where(rework, fb2, feedback)
    closed = np.where(rework, c2 + (rework_count == 2) * (c2 - checked), checked)

    # Not yet disposed / not yet closed, in exact numbers so the published rates come out
    # (the KPI cohorts: dispatched in the period; due in the period).
    start, end = period
    in_disp = (dispatched >= start) & (dispatched < end)
    in_due = (due >= start) & (due < end)
    odds = np.array([STUCK_ODDS.get(c, 1.0) for c in CATEGORY_SLUGS])[cat]
    n_stuck = int(round(in_disp.sum() * (1 - TARGET_DISPOSAL)))
    cand = np.flatnonzero(in_disp & in_due)
    stuck = np.zeros(n, dtype=bool)
    if n_stuck and len(cand):
        stuck[rng.choice(cand, size=min(n_stuck, len(cand)), replace=False,
                         p=odds[cand] / odds[cand].sum())] = True
    # reworked cases still open (handled once, sent back, not closed yet)
    n_open = int(round(in_due.sum() * (1 - TARGET_CLOSURE))) - int((stuck & in_due).sum())
    cand = np.flatnonzero(in_due & ~stuck)
    reopened = np.zeros(n, dtype=bool)
    if n_open > 0 and len(cand):
        reopened[rng.choice(cand, size=min(n_open, len(cand)), replace=False,
                            p=odds[cand] / odds[cand].sum())] = True
    rework_count[reopened] = np.maximum(rework_count[reopened], 1)

    handled = np.where(stuck, -1, handled)
    feedback = np.where(stuck | reopened, -1, feedback)
    closed = np.where(stuck | reopened, -1, closed)
    # evaluation: most reporters rate a closed case; staff-found ones less often
    p_eval = np.where(np.isin(src, [0, 4]), 0.7, 0.3)
    evaluated = np.where((closed >= 0) & (rng.random(n) < p_eval),
                         closed + _lognormal(rng, 20 * HOUR, 0.8, n).astype(np.int64), -1)
    state = {name: i for i, name in enumerate(CASE_STATES)}
    status = np.select(
        [evaluated >= 0, closed >= 0, stuck | reopened],
        [state["evaluated"], state["closed"], state["dispatched"]], state["closed"]).astype(np.int8)
    updated = np.max(np.stack([reported, filed, dispatched, handled, feedback, closed, evaluated]), axis=0)
    updated = np.where(reopened, checked, updated)
    return dict(filed=filed, dispatched=dispatched, due=due, handled=handled, feedback=feedback,
                closed=closed, evaluated=evaluated, updated=updated, status=status,
                rework_count=rework_count)


# IoT devices (978), remote gas alarms (214), drones: the reporting device of a case
DEVICE_NAMES = np.array([None] + [f"IOT-{i:04d}" for i in range(1, 979)]
                        + [f"GAS-{i:03d}" for i in range(1, 215)] + [f"UAV-{i:02d}" for i in range(1, 13)],
                        dtype=object)
DEVICE_OFFSET = {"iot": 0, "gas": 978, "uav": 978 + 214}
TIME_NAMES = ("reported", "filed", "dispatched", "due", "handled", "feedback", "closed", "evaluated",
              "updated")
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default string dtype with pyarrow


def _arrow_str(codes: np.ndarray, table) -> pa.DictionaryArray:
    """Dictionary-encoded strings from integer codes into a table of strings (None in the
    table or a negative code = missing): no Python string per row. ``table`` may be an Arrow
    array already (reused across chunks)."""
    codes = np.asarray(codes)
    if not isinstance(table, pa.Array):
        table = pa.array(np.asarray(table, dtype=object), type=pa.large_string(), from_pandas=True)
    missing = codes < 0
    if table.null_count:
        missing = missing | table.is_null().to_numpy(zero_copy_only=False)[np.where(missing, 0, codes)]
    indices = pa.array(np.where(missing, 0, codes).astype(np.int32), mask=missing if missing.any() else None)
    return pa.DictionaryArray.from_arrays(indices, table)


def _arrow_ids(prefix: str, index: np.ndarray, digits: int = 7) -> pa.Array:
    """prefix + zero-padded number, built as fixed-width bytes (no Python string per row)."""
    index = np.asarray(index, dtype=np.int64)
    digits = max(digits, len(str(int(index.max())))) if len(index) else digits
    head = np.frombuffer(prefix.encode(), np.uint8)
    width = len(head) + digits
    out = np.empty((len(index), width), np.uint8)
    out[:, :len(head)] = head
    rest = index.copy()
    for k in range(digits - 1, -1, -1):  # one column per digit
        out[:, len(head) + k] = ord("0") + rest % 10
        rest //= 10
    offsets = np.arange(0, width * (len(index) + 1), width, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_string(), len(index),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(out.tobytes())])


@dataclass
class Draw:
    """Every random choice of a history, made up front and kept as plain arrays in time order
    (cheap); ``frame(rows)`` turns any slice of it into the case table (no randomness there,
    so a history built whole or chunk by chunk is the same)."""
    seed: int
    lon: np.ndarray
    lat: np.ndarray
    cat: np.ndarray
    src: np.ndarray
    times: dict  # name -> int64 local seconds (-1: not happened)
    status: np.ndarray  # index into CASE_STATES
    rework_count: np.ndarray
    label: np.ndarray  # code into ``labels``
    labels: np.ndarray
    driver: np.ndarray  # code into ``drivers``
    drivers: np.ndarray
    hotspot: np.ndarray  # code into ``hotspots`` (0: none)
    hotspots: np.ndarray
    device: np.ndarray  # index into DEVICE_NAMES (0: none)

    def __len__(self) -> int:
        return len(self.cat)

    def columns(self, rows: slice = slice(None)) -> dict:
        """Rows as plain columns: Arrow strings, float lon/lat, int64 local-second times
        (``<name>_at``, -1 = not happened). What the COPY encoder reads without pandas."""
        idx = np.arange(len(self))[rows]
        cat, label = self.cat[rows].astype(np.int64), self.label[rows]
        # descriptions: built once per distinct (category, place) in the rows
        pair, inverse = np.unique(cat * len(self.labels) + label, return_inverse=True)
        names_zh = np.array([CATEGORIES[c].name_zh for c in CATEGORY_SLUGS], dtype=object)
        descriptions = names_zh[pair // len(self.labels)] + "：" + self.labels[pair % len(self.labels)]
        tables = self._tables()
        cols = {
            "category": _arrow_str(cat, tables["category"]),
            "source": _arrow_str(self.src[rows], tables["source"]),
            "status": _arrow_str(self.status[rows], tables["status"]),
            "description": _arrow_str(inverse.ravel(), descriptions),
            "address_string": _arrow_str(label, tables["labels"]),
            "device_id": _arrow_str(self.device[rows], tables["device"]),
            "external_id": _arrow_ids(f"sim-{self.seed}-", idx),
            "lon": self.lon[rows], "lat": self.lat[rows],
        }
        for name in TIME_NAMES:
            cols[f"{name}_at"] = self.times[name][rows]
        cols["rework_count"] = self.rework_count[rows]
        cols["driver"] = _arrow_str(self.driver[rows], tables["drivers"])
        cols["hotspot"] = _arrow_str(self.hotspot[rows], tables["hotspots"])
        return cols

    def _tables(self) -> dict:
        """The string tables as Arrow arrays, made once per history."""
        if not hasattr(self, "_arrow_tables"):
            def arrow(values):
                return pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=True)
            self._arrow_tables = {"category": arrow(CATEGORY_SLUGS), "source": arrow(SOURCES),
                                  "status": arrow(CASE_STATES), "labels": arrow(self.labels),
                                  "device": arrow(DEVICE_NAMES), "drivers": arrow(self.drivers),
                                  "hotspots": arrow(self.hotspots)}
        return self._arrow_tables

    def frame(self, rows: slice = slice(None)) -> pd.DataFrame:
        """The case table of ``rows`` as a DataFrame: strings as pandas strings, ``<name>_at`` as
        aware Asia/Shanghai datetimes (NaT: not happened)."""
        cols = self.columns(rows)
        out = {}
        for name, values in cols.items():
            if isinstance(values, pa.DictionaryArray):
                out[name] = pd.array(values.cast(pa.large_string()), dtype=_STR)
            elif isinstance(values, pa.Array):
                out[name] = pd.array(values, dtype=_STR)
            elif name.endswith("_at"):
                out[name] = to_aware(values)
            else:
                out[name] = values
        return pd.DataFrame(out)


def draw_cases(prep: Prepared, n: int = N_CASES, seed: int = 42) -> Draw:
    """All the randomness of a history of ``n`` cases (see ``simulate_cases``)."""
    years = prep.timeline.years
    rng = np.random.default_rng(seed)
    specs = prep.planted
    h_counts = np.array([int(round(h["share"] * n)) for h in specs], dtype=int)
    # a component whose places the layers lack (e.g. a city without night markets) gives
    # its share to the others
    shares = np.array([c.share if prep.can_place(c) else 0.0 for c in COMPONENTS])
    base = _allocate(n - int(h_counts.sum()), shares)

    drivers = list(dict.fromkeys([c.driver for c in COMPONENTS] + ["hotspot"]))
    hotspots = [None] + [h["id"] for h in specs]
    parts, label_tables, offset = [], [], 0
    jobs = [(comp, int(k), None) for comp, k in zip(COMPONENTS, base)] + \
           [(None, int(k), h) for h, k in zip(specs, h_counts)]
    for job, (comp, k, h) in enumerate(jobs):
        if k == 0:
            continue
        sub = np.random.default_rng([seed, job])
        p = _component_cases(prep, comp, k, sub) if comp is not None else _hotspot_cases(prep, h, k, sub)
        p["label"] = p["label"] + offset
        offset += len(p["labels"])
        label_tables.append(p.pop("labels"))
        p["cat"] = np.full(k, CATEGORY_INDEX[comp.category if comp is not None else h["category"]], np.int8)
        p["driver"] = np.full(k, drivers.index(comp.driver if comp is not None else "hotspot"), np.int16)
        p["hotspot"] = np.full(k, 0 if comp is not None else hotspots.index(h["id"]), np.int16)
        parts.append(p)
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    # chronological order, ties by draw order (stable) for determinism
    order = np.argsort(cols["t"], kind="stable")
    cols = {key: v[order] for key, v in cols.items()}
    reported = cols["t"]
    cat = cols["cat"].astype(np.int64)
    x, y = gps_error(cols["x"], cols["y"], rng)
    lon, lat = from_metric(x, y)
    src = _sources(cat, reported, rng)
    period = (np.datetime64(date(years[0], 1, 1), "D").astype(np.int64) * DAY,
              np.datetime64(date(years[-1] + 1, 1, 1), "D").astype(np.int64) * DAY)
    wf = _workflow(prep, cat, src, reported, rng, period)

    gas = cat == CATEGORY_INDEX["gas_safety"]
    sensor, drone = src == SOURCE_INDEX["sensor"], src == SOURCE_INDEX["drone"]
    device = np.select([sensor & ~gas, sensor & gas, drone],
                       [DEVICE_OFFSET["iot"] + rng.integers(1, 979, size=n),
                        DEVICE_OFFSET["gas"] + rng.integers(1, 215, size=n),
                        DEVICE_OFFSET["uav"] + rng.integers(1, 13, size=n)], 0)
    times = {"reported": reported, **{name: wf[name] for name in TIME_NAMES if name != "reported"}}
    return Draw(seed, lon, lat, cat, src, times, wf["status"], wf["rework_count"], cols["label"],
                np.concatenate(label_tables), cols["driver"], np.array(drivers, dtype=object),
                cols["hotspot"], np.array(hotspots, dtype=object), device)


class CaseStream:
    """A history as chunks of rows in time order, made as they are consumed: the bulk loader
    writes one chunk while the next is being made. ``lon``/``lat`` of every case are known up
    front (so locating can start at once); iterating yields DataFrames like
    ``simulate_cases(..., assign=False, geometry=False)`` cut in ``chunk_rows``."""

    def __init__(self, draw: Draw, chunk_rows: int = 25_000):
        self.draw, self.chunk_rows = draw, chunk_rows
        self.lon, self.lat = draw.lon, draw.lat

    def __len__(self) -> int:
        return len(self.draw)

    def __iter__(self):
        """DataFrames of ``chunk_rows`` cases, in time order."""
        for start in range(0, len(self.draw), self.chunk_rows):
            yield self.draw.frame(slice(start, start + self.chunk_rows))

    def column_chunks(self):
        """The same chunks as plain columns (``Draw.columns``): the loader's fast path."""
        for start in range(0, len(self.draw), self.chunk_rows):
            yield self.draw.columns(slice(start, start + self.chunk_rows))


def stream_cases(prepared: Prepared, n: int = N_CASES, seed: int = 42, chunk_rows: int = 25_000) -> CaseStream:
    """The same history as ``simulate_cases(n=n, seed=seed, assign=False, geometry=False)``, as a
    stream of chunks for the bulk loader."""
    return CaseStream(draw_cases(prepared, n, seed), chunk_rows)


def simulate_cases(layers=None, years=YEARS, n: int = N_CASES, seed: int = 42, *,
                   prepared: Prepared | None = None, locator=None, assign: bool = True,
                   geometry: bool = True) -> pd.DataFrame:
    """``n`` cases over ``years`` (default 2023-2025), deterministic for ``seed``.

    Returns a GeoDataFrame (EPSG:4326) with one row per case: category, source, status,
    description, address_string, device_id, external_id, lon, lat, the workflow times
    (aware, Asia/Shanghai; NaT where a step has not happened), rework_count, driver (which
    component made it), hotspot (planted hotspot id or None) and, with ``assign``, the
    location codes by the foundation's rule (``gis.location.Locator``). ``prepared`` reuses
    the layer preparation across calls; ``geometry=False`` returns a plain DataFrame.
    """
    years = tuple(sorted(years))
    prep = prepared or Prepared.build(layers, years)
    if prep.timeline.years != years:
        raise ValueError(f"prepared for {prep.timeline.years}, asked for {years}")
    frame = draw_cases(prep, n, seed).frame()
    if assign:
        frame = assign_locations(frame, locator or _locator(layers, prep), prep.scene.posts)
    if geometry:
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"], crs=4326))
    return frame


def _locator(layers, prep: Prepared):
    from gis.location import Locator

    if layers is None:
        raise ValueError("give layers or a locator to assign locations")
    return Locator.from_layers(layers)


def assign_locations(frame: pd.DataFrame, locator, posts: dict | None = None,
                     codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Grid, community, subdistrict, county (the foundation's rule, ``Locator.assign``), the
    community's post and ``outside_grid``, vectorised. ``codes``: the output of
    ``locator.assign`` for these rows when already computed (e.g. in a worker process)."""
    if codes is None:
        codes = locator.assign(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    frame = frame.copy()
    for col in ("grid_code", "community_code", "subdistrict_code", "county_code", "in_service_area"):
        frame[col] = codes[col].to_numpy()
    post = pd.Series(codes["community_code"].to_numpy()).map(posts or {})
    frame["post_code"] = post.astype(object).where(post.notna(), None).to_numpy()
    frame["outside_grid"] = pd.isna(frame["grid_code"]).to_numpy()
    return frame


def kpis(frame: pd.DataFrame, date_from: date, date_to: date, as_of=None) -> dict:
    """City-wide KPIs of a case frame through ``cases.kpi.indicators`` (the same definitions
    ``kpi.compute`` applies to the database), computed in process; the tests check both agree
    on the loaded rows."""
    from cases import kpi

    start, end = kpi.period_bounds(date_from, date_to)
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="Asia/Shanghai")
    facts = frame.assign(unit="")[kpi.FACT_COLUMNS]
    row = kpi.indicators(facts, start, end, as_of)
    if row.empty:
        return {}
    rec = row.iloc[0].to_dict()
    return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else
                int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in rec.items()}


def write_cases(frame: pd.DataFrame, path) -> None:
    """GeoJSON (.geojson/.json) or GeoParquet (.parquet) by the file's suffix. Times are kept
    with their +08:00 offset (GeoJSON: ISO 8601 strings)."""
    from pathlib import Path

    path = Path(path)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"], crs=4326))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix in (".geojson", ".json"):
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    else:
        raise ValueError(f"{path}: write .geojson or .parquet")
