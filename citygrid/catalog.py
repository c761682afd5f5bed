"""The catalog: every feature collection citygrid serves, declared once.

The API lists and serves what is here (``gis.collections``), the layer loader writes the
reference ones (``gis.layers.load``) and the schema maps them to tables
(``citygrid.db.schema.REFERENCE_TABLES``). Adding a collection is one entry here plus its
table in the schema and a migration; nothing registers itself by being imported.
"""
from __future__ import annotations

from dataclasses import dataclass

from citygrid import vocab


@dataclass(frozen=True)
class Collection:
    """One collection: a table with an id column and a WGS84 ``geom`` column."""

    id: str
    title: str
    table: str
    id_column: str
    description: str = ""
    datetime_column: str | None = None
    # Columns only staff may read (personal data, photos); hidden from public readers.
    staff_only: tuple[str, ...] = ()
    # Restrict rows, e.g. only communities that have a polygon.
    where: str | None = None
    item_type: str = "feature"
    # The columns vector tiles carry: what a map styles and shows in a popup (the full record
    # is one items request away). Empty: every public column.
    tile_columns: tuple[str, ...] = ()
    # Reference layers change rarely and are loaded by the city (``citygrid layers load``);
    # the rest is operational data written by the service.
    reference: bool = False


# Who reported a case, and what identifies them or shows them (photos of people, plates,
# homes): staff-only on every read path, the OGC collection, /api/cases and Open311 alike.
CASE_PERSONAL_COLUMNS = ("reporter_name", "reporter_phone", "reporter_email", "device_id", "account_id",
                         "api_client_id", "reporter_username", "external_id", "media_urls")

CATALOG: tuple[Collection, ...] = (
    Collection(vocab.DISTRICTS, "Districts and counties", "districts", "code",
               "Rizhao's county-level units: real outlines (Amap, converted GCJ-02 to WGS84) and the development zone.",
               reference=True),
    Collection(vocab.SUBDISTRICTS, "Subdistricts (街道/乡镇)", "subdistricts", "code",
               "56 towns and streets with official codes; boundaries GENERATED.", reference=True),
    Collection(vocab.COMMUNITIES, "Communities (社区/村)", "communities", "code",
               "All official village-level units; polygons (GENERATED) for the 117 with service posts.",
               reference=True),
    Collection(vocab.GRIDS, "Urban-management grids (城市网格)", "grids", "code",
               "76 grids tiling the urban cores; 14-digit CJ/T 213 codes; GENERATED geometry.", reference=True),
    Collection(vocab.POSTS, "Community service posts (城市管理服务岗)", "posts", "code",
               "117 posts, one per community; GENERATED locations.", reference=True),
    Collection(vocab.ROADS, "Streets", "roads", "id", "GENERATED street network of the urban cores.",
               reference=True),
    Collection(vocab.POIS, "Places of interest", "pois", "id",
               "GENERATED markets, night markets, schools, nightlife, construction sites, urban villages.",
               reference=True),
    Collection(vocab.AIRSPACE, "Airspace: prohibited and controlled zones", "airspace", "id",
               "Airport clearance area (published local rule) and other zones.", reference=True),
    Collection(vocab.CASES, "Cases (案卷)", "cases", "service_request_id",
               "Urban-management cases: reports, their location codes and workflow state. "
               "Reporter contact and photos are staff-only.",
               datetime_column="reported_at", staff_only=CASE_PERSONAL_COLUMNS,
               # the portal's styling and popup; 8 time columns as text cost more than half a tile's time
               tile_columns=("service_request_id", "category", "status", "source", "reported_at", "grid_code",
                             "address_string")),
    Collection(vocab.PATROL_TRACKS, "Patrol tracks (巡查轨迹)", "patrols", "id",
               "Patrol outings: the cleaned GPS track (LineString), campaign, times and mileage. "
               "Filter by property, e.g. ?campaign=spring. Officer, team and stops are staff-only.",
               datetime_column="started_at",
               staff_only=("officer_id", "team_id", "created_by", "external_id", "stops")),
    Collection(vocab.HOTSPOTS, "Hot spots (latest runs)", "hotspots", "id",
               "Latest hotspot runs per method, unit and category: Gi* bins, DBSCAN clusters, emerging patterns.",
               datetime_column="run_at"),
    Collection(vocab.MISSIONS, "Drone missions (无人机任务)", "missions", "id",
               "Checked drone flight plans: the route flown (LineString), station, drone, times and status.",
               datetime_column="planned_start", staff_only=("plan", "created_by", "application_ref")),
)

BY_ID: dict[str, Collection] = {c.id: c for c in CATALOG}
REFERENCE_COLLECTIONS: tuple[str, ...] = tuple(c.id for c in CATALOG if c.reference)
ALL_COLLECTIONS: tuple[str, ...] = tuple(BY_ID)
