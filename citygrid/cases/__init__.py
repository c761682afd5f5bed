"""Cases: citizen and staff reports through the CJ/T 315 workflow (file, dispatch, handle,
feedback, verify and close, evaluate), escalations, KPIs and the Open311 view of them.

Plain functions over an Engine; no web framework here. Importing the package registers the
``cases`` OGC API collection, whose reporter columns only staff may read.
"""
from __future__ import annotations

from citygrid import vocab
from citygrid.cases.records import PERSONAL_COLUMNS
from gis.collections import Collection, register

CASES_COLLECTION = register(Collection(
    vocab.CASES, "Cases (案卷)", "cases", "service_request_id",
    "Urban-management cases: reports, their location codes and workflow state. "
    "Reporter contact is staff-only.",
    datetime_column="reported_at",
    staff_only=PERSONAL_COLUMNS,
    # the portal's styling and popup; 8 time columns as text cost more than half a tile's time
    tile_columns=("service_request_id", "category", "status", "source", "reported_at", "grid_code",
                  "address_string"),
))
