"""Planted hotspots: deliberate place + category + period concentrations in the simulated
history, so hotspot analysis can be checked against a known answer.

Places are chosen from the reference layers by fixed rules (never by the case seed), so
every seed plants the same hotspots in the same places. ``planted.json`` and ``PLANTED.md``
beside this file are written from :func:`resolve` by ``citygrid simulate planted``; a test
checks they still match the layers.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import shapely

from cases.simulate.scene import Scene
from gis.crs import from_metric

HERE = Path(__file__).resolve().parent
PLANTED_JSON = HERE / "planted.json"
PLANTED_MD = HERE / "PLANTED.md"


@dataclass(frozen=True)
class HotspotSpec:
    """One planted hotspot: extra ``category`` cases on a disc of ``radius_m`` metres, on the days
    [start, end) at local hours [from, to), taking ``share`` of all simulated cases, intensity
    growing linearly from ``growth[0]`` to ``growth[1]``. Where the disc lies: ``resolve``."""
    id: str
    title: str
    category: str
    pattern: str  # surge | new | growing | historical (emerging-hotspot vocabulary)
    start: date  # first day (inclusive)
    end: date  # last day (exclusive)
    share: float  # of all simulated cases
    radius_m: float  # the place: a disc around the centre
    hours: tuple[int, int]  # local hours [from, to) when its cases happen (to may pass midnight)
    growth: tuple[float, float] = (1.0, 1.0)  # intensity at start and at end (linear)
    spread: str = "roads"  # roads: along the streets in the disc; disc: gaussian in the disc
    description: str = ""


SPECS = (
    HotspotSpec(
        "night_market_surge_2024", "Night-market vending surge, summer 2024", "occupied_road",
        "surge", date(2024, 6, 1), date(2024, 9, 1), 0.005, 200.0, (18, 24),
        description="A night market spills onto the surrounding streets every evening of the "
                    "2024 summer season (stalls on the carriageway and pavements)."),
    HotspotSpec(
        "urban_village_construction_2025", "New illegal-construction cluster, urban village, from 2025-03",
        "illegal_construction", "new", date(2025, 3, 1), date(2026, 1, 1), 0.004, 250.0, (7, 19),
        spread="disc",
        description="Rebuilding and extensions without permits in an urban village at the fringe "
                    "start in March 2025 (before an expected demolition/compensation survey)."),
    HotspotSpec(
        "nightlife_noise_growing", "Nightlife noise growing 2023-2025", "noise", "growing",
        date(2023, 1, 1), date(2026, 1, 1), 0.005, 150.0, (20, 26), growth=(0.25, 1.75),
        spread="disc",
        description="A bar street's late-night noise complaints grow steadily as bars open."),
    HotspotSpec(
        "night_market_fumes_2025", "Cooking-fume complaints at a Lanshan night market, summer 2025",
        "cooking_fumes", "surge", date(2025, 6, 1), date(2025, 9, 1), 0.0025, 150.0, (17, 24),
        spread="disc",
        description="Open-air barbecue stalls without fume purification at a night market in "
                    "Lanshan during the 2025 beach season."),
    HotspotSpec(
        "fringe_dumping_2023", "Construction-waste dumping at the urban fringe, autumn 2023",
        "construction_waste", "historical", date(2023, 9, 1), date(2024, 1, 1), 0.0025, 300.0,
        (21, 29), spread="roads",
        description="Night-time dumping of muck and decoration waste on fringe roads of the "
                    "central urban area, stopped after a drone-patrol campaign in January 2024."),
)


def _pick_poi(scene: Scene, kind: str, county: str | None, score) -> int:
    """Index (into scene.pois) of the POI of ``kind`` (in ``county``) with the highest score,
    ties to the lowest id."""
    pois = scene.pois
    of_kind = (pois["kind"] == kind).to_numpy()
    in_county = of_kind & (pois["county_code"] == county).to_numpy() if county else of_kind
    sel = np.flatnonzero(in_county if in_county.any() else of_kind)  # any county if none there
    s = np.asarray(score(pois.iloc[sel]), dtype=float)
    order = np.lexsort((pois["id"].to_numpy()[sel], -s))
    return int(sel[order[0]])


def _road_length_near(scene: Scene, pois, radius: float) -> np.ndarray:
    lines = scene.roads_near(pois, radius)
    return np.bincount(lines.anchor, weights=shapely.length(lines.geoms), minlength=len(pois))


def _grid_d_rel(scene: Scene, pois) -> np.ndarray:
    d = dict(zip(scene.grids["code"], scene.grids["d_rel"]))
    return np.array([d.get(c, 0.0) for c in pois["grid_code"]])


def resolve(scene: Scene) -> list[dict]:
    """Each planted hotspot with its place: centre (metres and lon/lat), radius, grid, POI."""
    out = []
    used: set[int] = set()

    def pick(kind, county, score):
        # never two hotspots on one POI
        def s(p):
            base = np.asarray(score(p), dtype=float)
            return np.where(np.isin(p.index.to_numpy(), list(used)), -np.inf, base)
        i = _pick_poi(scene, kind, county, s)
        used.add(i)
        return i

    for spec in SPECS:
        needs = {"night_market_surge_2024": "night_market", "urban_village_construction_2025": "urban_village",
                 "nightlife_noise_growing": "nightlife", "night_market_fumes_2025": "night_market"}.get(spec.id)
        if needs and not len(scene.pois_of(needs).index.difference(list(used))):
            continue  # the layers have no such place: this hotspot is not planted
        poi = None
        if spec.id == "night_market_surge_2024":
            # the Donggang night market with the most street length around it
            poi = pick("night_market", "371102", lambda p: _road_length_near(scene, p, 200))
        elif spec.id == "urban_village_construction_2025":
            # the urban village farthest out (its grid farthest from the core centre)
            poi = pick("urban_village", None, lambda p: _grid_d_rel(scene, p))
        elif spec.id == "nightlife_noise_growing":
            poi = pick("nightlife", "371102", lambda p: _road_length_near(scene, p, 150))
        elif spec.id == "night_market_fumes_2025":
            poi = pick("night_market", "371103", lambda p: _road_length_near(scene, p, 150))
        if poi is not None:
            row = scene.pois.iloc[poi]
            cx, cy = float(row["x"]), float(row["y"])
            poi_info = {"poi_id": int(row["id"]), "poi_name": row["name"], "poi_kind": row["kind"]}
        else:  # fringe dumping: the boundary point of the farthest core-A grid farthest out
            g = scene.grids
            core_a = g[g["county_code"].isin(["371102", "371171"])]
            far = core_a.sort_values(["d_rel", "code"], ascending=[False, True]).iloc[0]
            core = g[g["core"] == far["core"]]
            w = shapely.area(core["geometry"].to_numpy())
            cen = shapely.get_coordinates(shapely.centroid(core["geometry"].to_numpy()))
            centre = (cen * w[:, None]).sum(0) / w.sum()
            ring = shapely.get_coordinates(shapely.boundary(far["geometry"]))
            k = int(np.argmax(np.hypot(*(ring - centre).T)))
            cx, cy = float(ring[k, 0]), float(ring[k, 1])
            poi_info = {"poi_id": None, "poi_name": None, "poi_kind": None}
        lon, lat = from_metric(np.array([cx]), np.array([cy]))
        out.append({
            **{k: v for k, v in asdict(spec).items() if k not in ("start", "end")},
            "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "x": cx, "y": cy, "lon": round(float(lon[0]), 6), "lat": round(float(lat[0]), 6),
            **poi_info,
        })
    return out


def document(resolved: list[dict], locator=None, n_reference: int = 191_000) -> dict:
    """The machine-readable planted.json content (grid codes by the location rule)."""
    hotspots = []
    if locator is not None:
        codes = locator.assign([h["lon"] for h in resolved], [h["lat"] for h in resolved])
    for i, h in enumerate(resolved):
        hotspots.append({
            "id": h["id"], "title": h["title"], "category": h["category"], "pattern": h["pattern"],
            "place": {"lon": h["lon"], "lat": h["lat"], "radius_m": h["radius_m"],
                      "grid_code": codes["grid_code"].iloc[i] if locator is not None else None,
                      "poi_id": h["poi_id"], "poi_name": h["poi_name"], "poi_kind": h["poi_kind"]},
            "period": {"start": h["start"], "end": h["end"], "end_exclusive": True,
                       "hours": list(h["hours"])},
            "growth": list(h["growth"]),
            "share": h["share"],
            "expected_cases_191k": int(round(h["share"] * n_reference)),
            "description": h["description"],
        })
    return {"generated_by": "citygrid simulate planted", "crs": "EPSG:4326",
            "note": "hours are local (Asia/Shanghai) [from, to); to > 24 passes midnight. "
                    "Counts scale with --n; about 86% of a disc hotspot's cases and nearly all "
                    "of a road hotspot's fall within radius_m of the centre.",
            "hotspots": hotspots}


def markdown(doc: dict) -> str:
    """PLANTED.md from the ``document`` content: a table of the hotspots, then one line each."""
    lines = ["# Planted hotspots (GENERATED)", "",
             "Written by `citygrid simulate planted` from `cases/simulate/planted.py`; the "
             "machine-readable twin is `planted.json`. The simulated case history "
             "(`citygrid simulate cases`) adds these concentrations on top of its background "
             "structure, for every seed, in the same places.", "",
             "| id | category | pattern | place | radius | grid | period | hours | cases at 191k |",
             "|---|---|---|---|---|---|---|---|---|"]
    for h in doc["hotspots"]:
        p, t = h["place"], h["period"]
        where = f"{p['poi_name']} ({p['poi_kind']})" if p["poi_name"] else "urban fringe"
        hours = f"{t['hours'][0]:02d}:00-{t['hours'][1] % 24:02d}:00"
        lines.append(f"| {h['id']} | {h['category']} | {h['pattern']} | {where} at "
                     f"{p['lon']:.5f}, {p['lat']:.5f} | {p['radius_m']:.0f} m | {p['grid_code']} | "
                     f"{t['start']} .. {t['end']} (exclusive) | {hours} | {h['expected_cases_191k']} |")
    lines.append("")
    for h in doc["hotspots"]:
        lines.append(f"- **{h['id']}** — {h['title']}. {h['description']}"
                     + (f" Intensity grows linearly x{h['growth'][0]} → x{h['growth'][1]}."
                        if h["growth"][0] != h["growth"][1] else ""))
    return "\n".join(lines) + "\n"


def write(scene: Scene, locator, json_path: Path = PLANTED_JSON, md_path: Path = PLANTED_MD) -> dict:
    """Resolve the hotspots on ``scene`` and write planted.json and PLANTED.md (grid codes from
    ``locator``); returns the document."""
    doc = document(resolve(scene), locator)
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(markdown(doc), encoding="utf-8")
    return doc


def load(path: Path = PLANTED_JSON) -> dict:
    """The planted-hotspot document (planted.json unless ``path`` says otherwise)."""
    return json.loads(path.read_text(encoding="utf-8"))
