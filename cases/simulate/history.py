"""The workflow events of a simulated history: each loaded case's steps as ``case_events``
rows, from its own time columns, in one server-side statement.

A case loaded by the simulator carries the times of its steps (reported, filed, dispatched,
handled, closed, evaluated); the case page, Open311 status notes and the portal read the
steps from ``case_events`` as for a live case. Each step becomes the event a live case
would have written: who (``sim:<role>``), in which role (the role vocab.TRANSITIONS allows
for that move), when, and for the dispatch, the responsible department.

Feedback (处理反馈) has no time of its own in the simulator: it is put halfway between
handling and closing (at handling for a case still awaiting verification). Rework loops
(``rework_count``) are not replayed step by step: the events show the last pass, and the
count stays on the case; a case sent back and not yet handled again (status dispatched
after handling) ends with its rework move, feedback -> dispatched.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.db import bulk

_REPORTER_ROLE = ("CASE c.source WHEN 'citizen' THEN 'public' WHEN 'patrol' THEN 'patrol_officer' "
                  "WHEN 'drone' THEN 'drone_operator' ELSE 'commander' END")

# (from, to, at, actor, role): the roles are those vocab.TRANSITIONS allows for the move
_STEPS = f"""
  (NULL, 'reported', c.reported_at, 'sim:' || c.source, {_REPORTER_ROLE}),
  ('reported', 'filed', c.filed_at, 'sim:commander', 'commander'),
  ('filed', 'dispatched', c.dispatched_at, 'sim:commander', 'commander'),
  ('dispatched', 'handled', c.handled_at, 'sim:patrol_officer', 'patrol_officer'),
  ('handled', 'feedback', CASE WHEN c.closed_at IS NOT NULL THEN c.handled_at + (c.closed_at - c.handled_at) / 2
                               WHEN c.status IN ('feedback', 'dispatched') THEN c.handled_at END,
   'sim:patrol_officer', 'patrol_officer'),
  ('feedback', 'dispatched', CASE WHEN c.status = 'dispatched' AND c.handled_at IS NOT NULL
                                  THEN greatest(c.updated_at, c.handled_at + interval '1 minute') END,
   'sim:commander', 'commander'),
  ('feedback', 'closed', c.closed_at, 'sim:commander', 'commander'),
  ('closed', 'evaluated', c.evaluated_at, 'sim:planner', 'planner')
"""

_INSERT = f"""
INSERT INTO case_events (case_id, from_state, to_state, actor, role, at, department_id, county_code)
SELECT c.id, s.from_state, s.to_state, s.actor, s.role, s.at,
       CASE WHEN s.to_state = 'dispatched' THEN c.department_id END, c.county_code
FROM cases c
CROSS JOIN LATERAL (VALUES {_STEPS}) AS s(from_state, to_state, at, actor, role)
WHERE c.external_id LIKE :prefix AND s.at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id)
"""
# A history load into a (nearly) empty case_events by its owner drops and rebuilds its
# secondary index and foreign keys (citygrid.db.bulk): a key check per row took 3x the insert.
REBUILD_MIN_CASES = 50_000


def add_workflow_events(engine: Engine, external_prefix: str) -> int:
    """Write the events of every case whose ``external_id`` starts with ``external_prefix``
    (one simulated load, e.g. ``sim-42-``) and has none yet; the number of events written.
    Idempotent: a case that has events is left alone."""
    prefix = external_prefix.replace("%", r"\%") + "%"
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
        cur = conn.connection.driver_connection.cursor()  # the same transaction
        dropped = bulk.drop_secondary(cur, "case_events") if _rebuild_worth_it(conn, prefix) \
            else bulk.Dropped("case_events")
        written = conn.execute(sa.text(_INSERT), {"prefix": prefix}).rowcount
        bulk.rebuild(cur, dropped)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE case_events"))
    return int(written)


def _rebuild_worth_it(conn, prefix: str) -> bool:
    """The caller owns case_events, many cases need events, and the table holds fewer events
    than are coming (a history load into a new database)."""
    if not bulk.owns(conn.connection.driver_connection.cursor(), "case_events"):
        return False
    todo = conn.execute(sa.text("SELECT count(*) FROM cases c WHERE c.external_id LIKE :p AND NOT EXISTS "
                                "(SELECT 1 FROM case_events e WHERE e.case_id = c.id)"), {"p": prefix}).scalar()
    if todo < REBUILD_MIN_CASES:
        return False
    have = conn.execute(sa.text("SELECT count(*) FROM (SELECT 1 FROM case_events LIMIT :n) t"),
                        {"n": 4 * todo + 1}).scalar()
    return have <= 4 * todo
