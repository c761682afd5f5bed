"""Cases: citizen and staff reports through the CJ/T 315 workflow (file, dispatch, handle,
feedback, verify and close, evaluate), escalations, KPIs and the Open311 view of them.

Plain functions over an Engine; no web framework here. The ``cases`` collection
(reporter columns and photos staff-only) is declared in ``citygrid.catalog``.
"""
from __future__ import annotations

from citygrid import vocab
from citygrid.catalog import BY_ID

CASES_COLLECTION = BY_ID[vocab.CASES]
