"""Load on loopback with faults: phones posting patrol fixes at 1 Hz, citizens posting Open311
reports, commanders reading items and tiles, against a uvicorn subprocess and its own database
(``citygrid_soak``). Mid-run the API server is killed with SIGKILL and started again, and
(optionally) PostgreSQL is restarted. Clients retry until acknowledged: phones resend their
unacknowledged fixes (natural key device_id + t), citizens resend with the same
Idempotency-Key. Afterwards the database must hold every acknowledged fix and report exactly
once. Everything stays on 127.0.0.1 and is bounded in time and count.
"""
from __future__ import annotations

import asyncio
import math
import os
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx
import sqlalchemy as sa

from citygrid.auth import issue_token
from citygrid.db.cluster import Cluster
from citygrid.db.engine import get_engine
from citygrid.org import add_api_client, add_officer, upsert_user
from citygrid.settings import Settings
from tests.harness import ServerProcess, fresh_database

CENTRE = (119.527, 35.416)  # Rizhao's urban core (Donggang)


@dataclass
class Plan:
    duration_s: float = 60
    phones: int = 200
    citizens: int = 50
    readers: int = 20
    citizen_interval_s: float = 10.0  # one report per citizen every ~10 s (6/min: under the device limit)
    reader_think_s: float = 0.5
    api_clients: int = 5  # the citizen apps (each with its own api_key)
    kill_server_at: list[float] = field(default_factory=lambda: [0.3])  # fractions of the duration
    restart_db_at: list[float] = field(default_factory=lambda: [0.65])
    drain_s: float = 60  # after the load: time allowed for every pending item to be acknowledged
    workers: int = 2
    db_name: str = "citygrid_soak"
    seed: int = 7
    # Run on a cluster of its own (``<state_dir>/soak``, port ``db_port + 7``), so restarting
    # PostgreSQL disturbs no one else's database. Needs the embedded cluster (no database_url).
    own_cluster: bool = True


@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    statuses: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    errors: dict = field(default_factory=lambda: defaultdict(int))  # connection errors, timeouts
    events: list = field(default_factory=list)

    def record(self, label: str, status: int, seconds: float):
        self.statuses[label][status] += 1
        if status < 500:
            self.latencies[label].append(seconds)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(q * len(values))) - 1)]


class Run:
    def __init__(self, base: Settings, plan: Plan, layers, log=print):
        self.plan = plan
        self.log = log
        self.rng = random.Random(plan.seed)
        self.own_cluster = plan.own_cluster and not base.database_url
        if self.own_cluster:
            base = base.model_copy(update={"state_dir": base.state_dir / "soak", "db_port": base.db_port + 7,
                                           "secret_key": None})
            Cluster(base).start()
        elif plan.restart_db_at:
            raise ValueError("restarting PostgreSQL needs the soak's own embedded cluster")
        self.settings = fresh_database(base, plan.db_name, layers)
        self.engine = get_engine(self.settings)
        self.server = ServerProcess(self.settings, workers=plan.workers)
        self.stats = Stats()
        self.acked_fixes: dict[str, set] = defaultdict(set)  # device -> {t iso}
        self.acked_reports: dict[str, str] = {}  # idempotency key -> service_request_id
        self.fixes_taken = 0
        self.tag = uuid.uuid4().hex[:6]
        self.stop_at = 0.0
        self.down = False

    # --- setup ---------------------------------------------------------------------------
    def setup(self):
        eng = self.engine
        self.phones = []
        for i in range(self.plan.phones):
            oid = add_officer(eng, f"SOAK-{self.tag}-{i}", f"巡查员{i}", county_code="371102")
            user = f"soak-{self.tag}-officer-{i}"
            upsert_user(eng, user, "patrol_officer", "x", officer_id=oid)
            token, _ = issue_token(self.settings, user, "patrol_officer")
            self.phones.append({"user": user, "device": f"soak-phone-{self.tag}-{i}",
                                "headers": {"Authorization": f"Bearer {token}"}})
        self.keys = [add_api_client(eng, f"soak-app-{self.tag}-{k}") for k in range(self.plan.api_clients)]
        upsert_user(eng, f"soak-{self.tag}-commander", "commander", "x")
        token, _ = issue_token(self.settings, f"soak-{self.tag}-commander", "commander")
        self.commander = {"Authorization": f"Bearer {token}"}

    # --- clients ---------------------------------------------------------------------------------
    async def call(self, client, label, method, url, **kw):
        t0 = time.perf_counter()
        try:
            r = await client.request(method, url, **kw)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            self.stats.errors[f"{label}: {type(exc).__name__}"] += 1
            return None
        self.stats.record(label, r.status_code, time.perf_counter() - t0)
        return r

    async def phone(self, client, p):
        r = None
        while r is None or r.status_code >= 300:
            if time.monotonic() > self.stop_at + self.plan.drain_s:
                return
            r = await self.call(client, "POST /api/patrols", "POST", "/api/patrols", json={},
                                headers={**p["headers"], "Idempotency-Key": f"start-{p['device']}"})
            if r is None or r.status_code >= 300:
                await asyncio.sleep(0.5)
        pid = r.json()["id"]
        lon, lat = CENTRE[0] + self.rng.uniform(-0.02, 0.02), CENTRE[1] + self.rng.uniform(-0.02, 0.02)
        pending: list[dict] = []
        # The GPS takes a fix every second whatever the network does; unacknowledged fixes queue up.
        first = datetime.now(timezone.utc).replace(microsecond=0)
        mono0 = time.monotonic()
        taken = 0
        while True:
            now = time.monotonic()
            while taken <= now - mono0 and mono0 + taken < self.stop_at:
                lon += self.rng.uniform(-1e-4, 1e-4)
                lat += self.rng.uniform(-1e-4, 1e-4)
                t = (first + timedelta(seconds=taken)).isoformat()
                self.fixes_taken += 1
                pending.append({"t": t, "lon": round(lon, 7), "lat": round(lat, 7), "accuracy_m": 8.0})
                taken += 1
            next_fix = mono0 + taken
            if pending:
                batch = pending[:500]
                r = await self.call(client, "POST /api/patrols/{id}/fixes", "POST", f"/api/patrols/{pid}/fixes",
                                    json={"device_id": p["device"], "fixes": batch}, headers=p["headers"])
                if r is not None and r.status_code in (200, 201):
                    self.acked_fixes[p["device"]].update(f["t"] for f in batch)
                    del pending[:len(batch)]
                elif r is not None and r.status_code < 500 and r.status_code != 429:
                    self.stats.events.append(f"fix batch refused {r.status_code}: {r.text[:200]}")
                    del pending[:len(batch)]  # refused for good: not acknowledged, not retried
                else:
                    await asyncio.sleep(0.5)
                    continue
            elif now >= self.stop_at:
                return
            await asyncio.sleep(max(0.0, next_fix - time.monotonic()) if time.monotonic() < self.stop_at else 0)

    async def citizen(self, client, i):
        key = self.keys[i % len(self.keys)]
        device = f"soak-citizen-{self.tag}-{i}"
        await asyncio.sleep(self.rng.uniform(0, self.plan.citizen_interval_s))
        n = 0
        while time.monotonic() < self.stop_at:
            n += 1
            ikey = f"soak-{self.tag}-{i}-{n}"
            form = {"api_key": key, "service_code": "occupied_road", "device_id": device,
                    "lat": CENTRE[1] + self.rng.uniform(-0.02, 0.02), "long": CENTRE[0] + self.rng.uniform(-0.02, 0.02),
                    "description": f"占道经营 soak {ikey}"}
            while True:
                if time.monotonic() > self.stop_at + self.plan.drain_s:
                    return
                r = await self.call(client, "POST /open311/v2/requests.json", "POST", "/open311/v2/requests.json",
                                    data=form, headers={"Idempotency-Key": ikey})
                if r is not None and r.status_code in (200, 201):
                    self.acked_reports[ikey] = r.json()[0]["service_request_id"]
                    break
                if r is not None and r.status_code == 429:
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                elif r is not None and r.status_code < 500:
                    self.stats.events.append(f"report refused {r.status_code}: {r.text[:200]}")
                    break
                else:
                    await asyncio.sleep(0.5)
            await asyncio.sleep(self.plan.citizen_interval_s * self.rng.uniform(0.7, 1.3))

    async def reader(self, client, i):
        z = 14
        while time.monotonic() < self.stop_at:
            choice = self.rng.random()
            lon, lat = CENTRE[0] + self.rng.uniform(-0.05, 0.05), CENTRE[1] + self.rng.uniform(-0.05, 0.05)
            if choice < 0.4:
                x = int((lon + 180) / 360 * 2 ** z)
                y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2 ** z)
                coll = self.rng.choice(["grids", "cases", "roads"])
                await self.call(client, f"GET /tiles/{coll}/z/x/y.pbf", "GET", f"/tiles/{coll}/{z}/{x}/{y}.pbf",
                                headers=self.commander)
            elif choice < 0.8:
                bbox = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
                await self.call(client, "GET /collections/grids/items", "GET", "/collections/grids/items",
                                params={"bbox": bbox, "limit": 50}, headers=self.commander)
            else:
                await self.call(client, "GET /collections/cases/items", "GET", "/collections/cases/items",
                                params={"limit": 50}, headers=self.commander)
            await asyncio.sleep(self.plan.reader_think_s * self.rng.uniform(0.5, 1.5))

    # --- faults -------------------------------------------------------------------------------------
    async def faults(self, start):
        plan = self.plan
        events = sorted([(f, "kill") for f in plan.kill_server_at] + [(f, "db") for f in plan.restart_db_at])
        for frac, kind in events:
            await asyncio.sleep(max(0.0, start + frac * plan.duration_s - time.monotonic()))
            t0 = time.monotonic()
            if kind == "kill":
                await asyncio.to_thread(self.server.kill)
                self.stats.events.append(f"{t0 - start:5.1f}s API server killed (SIGKILL)")
                await asyncio.to_thread(self.server.start)
                self.stats.events.append(f"{time.monotonic() - start:5.1f}s API server back "
                                         f"({time.monotonic() - t0:.1f}s down)")
            else:
                cluster = Cluster(self.settings)
                await asyncio.to_thread(cluster.stop)
                self.stats.events.append(f"{t0 - start:5.1f}s PostgreSQL stopped")
                await asyncio.to_thread(cluster.start)
                self.stats.events.append(f"{time.monotonic() - start:5.1f}s PostgreSQL back "
                                         f"({time.monotonic() - t0:.1f}s down)")

    async def _main(self):
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=400)
        async with httpx.AsyncClient(base_url=self.server.url, timeout=15, limits=limits) as client:
            start = time.monotonic()
            self.stop_at = start + self.plan.duration_s
            tasks = [self.phone(client, p) for p in self.phones]
            tasks += [self.citizen(client, i) for i in range(self.plan.citizens)]
            tasks += [self.reader(client, i) for i in range(self.plan.readers)]
            await asyncio.gather(self.faults(start), *tasks)
            self.elapsed = time.monotonic() - start

    # --- verify ------------------------------------------------------------------------------------
    def verify(self) -> dict:
        with self.engine.connect() as conn:
            fixes = dict(conn.execute(sa.text(
                "SELECT device_id, count(*) FROM patrol_fixes WHERE device_id LIKE :p GROUP BY device_id"),
                {"p": f"soak-phone-{self.tag}-%"}).all())
            fix_dupes = conn.execute(sa.text(
                "SELECT count(*) - count(DISTINCT (device_id, t)) FROM patrol_fixes WHERE device_id LIKE :p"),
                {"p": f"soak-phone-{self.tag}-%"}).scalar()
            found_fix_times = {d: {r.isoformat() for r in conn.execute(sa.text(
                "SELECT t FROM patrol_fixes WHERE device_id = :d"), {"d": d}).scalars()} for d in fixes}
            reports = conn.execute(sa.text(
                "SELECT service_request_id, description FROM cases WHERE device_id LIKE :p"),
                {"p": f"soak-citizen-{self.tag}-%"}).all()
        acked_fixes = sum(len(v) for v in self.acked_fixes.values())
        missing_fixes = sum(len({datetime.fromisoformat(t).isoformat() for t in v}
                                - found_fix_times.get(d, set())) for d, v in self.acked_fixes.items())
        by_desc = defaultdict(int)
        for _, desc in reports:
            by_desc[desc] += 1
        found_ids = {sid for sid, _ in reports}
        acked_ids = set(self.acked_reports.values())
        return {
            "fixes_acknowledged": acked_fixes, "fixes_found": sum(fixes.values()), "fixes_missing": missing_fixes,
            "fix_duplicates": int(fix_dupes),
            "reports_acknowledged": len(self.acked_reports), "reports_found": len(reports),
            "reports_missing": len(acked_ids - found_ids), "reports_unacknowledged": len(found_ids - acked_ids),
            "report_duplicates": sum(n - 1 for n in by_desc.values() if n > 1),
        }

    def run(self) -> dict:
        self.setup()
        self.server.start()
        try:
            asyncio.run(self._main())
        finally:
            self.server.stop()
        figures = self.verify()
        if self.own_cluster:
            self.engine.dispose()
            Cluster(self.settings).stop()
        requests = sum(sum(s.values()) for s in self.stats.statuses.values())
        figures.update(
            fixes_taken=self.fixes_taken, machine=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            requests=requests, elapsed_s=round(self.elapsed, 1),
            server_errors_5xx=sum(n for s in self.stats.statuses.values() for c, n in s.items() if c >= 500),
            unavailable_503=sum(n for s in self.stats.statuses.values() for c, n in s.items() if c == 503),
            connection_errors=sum(self.stats.errors.values()),
            p99_ms=round(1000 * pct([x for v in self.stats.latencies.values() for x in v], 0.99), 1))
        return figures

    def table(self) -> str:
        lines = [f"{'endpoint':38} {'requests':>8} {'rps':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
        for label in sorted(self.stats.statuses):
            lat = self.stats.latencies[label]
            n = sum(self.stats.statuses[label].values())
            codes = " ".join(f"{c}:{k}" for c, k in sorted(self.stats.statuses[label].items()))
            lines.append(f"{label:38} {n:8d} {n / self.elapsed:7.1f} {1000 * pct(lat, .5):8.1f} "
                         f"{1000 * pct(lat, .99):8.1f}  {codes}")
        for k, v in sorted(self.stats.errors.items()):
            lines.append(f"  transport: {k}: {v}")
        lines += [f"  event: {e}" for e in self.stats.events[:40]]
        return "\n".join(lines)
