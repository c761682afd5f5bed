"""The one idempotency rule: a retryable write carries a key (the ``Idempotency-Key`` header
or a natural key); a retry with the same key returns the first result and writes nothing.

The key row is written in the same transaction as the work, so either both commit or
neither does; a per-key advisory lock makes concurrent retries wait for the first.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from citygrid.db.schema import idempotency_keys
from citygrid.errors import Conflict


def request_digest(payload: Any) -> str:
    """SHA-256 of the payload as canonical JSON: a retry must send the same request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_once(engine: Engine, scope: str, principal: str, key: str | None, payload: Any,
             work: Callable[[Connection], Any]) -> tuple[Any, bool]:
    """Run ``work(conn)`` once per (scope, principal, key); return (its JSON-able result,
    replayed). A replay returns the first run's result and runs nothing."""
    if not key:
        with engine.begin() as conn:
            return work(conn), False
    digest = request_digest(payload)
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                     {"k": f"{scope}\x1f{principal}\x1f{key}"})
        row = conn.execute(
            sa.select(idempotency_keys.c.request_sha256, idempotency_keys.c.response)
            .where(idempotency_keys.c.scope == scope, idempotency_keys.c.principal == principal,
                   idempotency_keys.c.key == key)
        ).first()
        if row is not None:
            if row.request_sha256 != digest:
                raise Conflict(f"Idempotency-Key {key!r} was already used for a different request")
            return row.response, True
        body = work(conn)
        conn.execute(sa.insert(idempotency_keys).values(
            scope=scope, principal=principal, key=key, request_sha256=digest,
            response=json.loads(json.dumps(body, default=str))))
    return body, False
