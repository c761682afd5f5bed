"""Shared fixtures: a real PostGIS test database (embedded cluster or DATABASE_URL), the
reference layers loaded once, and a live API server on a loopback port."""
from __future__ import annotations

import os

import httpx
import pytest
import sqlalchemy as sa

from citygrid.db.cluster import Cluster
from citygrid.db.engine import admin_url, drop_database, get_engine
from citygrid.db.migrate import migrate
from citygrid.settings import Settings

# Every server the tests talk to is on loopback. A developer's HTTP(S)_PROXY (which httpx,
# GDAL's curl and the CLI subprocesses honour) must not take those requests elsewhere.
for _name in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_name, "").split(",") if h.strip()]
    os.environ[_name] = ",".join(_hosts + [h for h in ("127.0.0.1", "localhost", "::1") if h not in _hosts])


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = Settings(db_name=os.environ.get("CITYGRID_TEST_DB_NAME", "citygrid_test"))
    if not s.database_url:
        Cluster(s).start()
    drop_database(s)
    migrate(s)
    return s


@pytest.fixture(scope="session")
def engine(settings):
    """The application role's engine: what the service itself uses."""
    return get_engine(settings)


@pytest.fixture(scope="session")
def owner_engine(settings):
    return get_engine(settings, role="owner")


@pytest.fixture(scope="session")
def admin_engine(settings):
    eng = sa.create_engine(admin_url(settings, settings.db_name))
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def server(settings):
    """A real uvicorn server on loopback; yields its base URL."""
    from tests.harness import thread_server

    with thread_server(settings) as url:
        yield url


@pytest.fixture(scope="session")
def http(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def make_user(engine, http):
    """Create a user with a role and return a bearer header for it."""
    from citygrid.org import upsert_user

    def make(username: str, role: str) -> dict:
        password = f"pw-{username}-{role}"
        upsert_user(engine, username, role, password)
        r = http.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture(scope="session")
def built_layers():
    """Rizhao's reference layers built in process (deterministic, a few seconds)."""
    from gis.layers.build import build_all

    return build_all()


@pytest.fixture(scope="session")
def drone_db(layers, engine):
    """The drone fleet and the loudspeaker templates seeded (idempotent) over the loaded layers."""
    from drone import broadcast, context, fleet

    fleet.seed(engine)
    broadcast.seed_templates(engine)
    context.invalidate()
    return engine


@pytest.fixture(scope="session")
def layers(built_layers, owner_engine):
    """The reference layers loaded into the test database (as the owner role)."""
    from gis.layers.load import load_layers

    load_layers(owner_engine, built_layers)
    return built_layers


@pytest.fixture(scope="session")
def locator(built_layers):
    from gis.location import Locator

    return Locator.from_layers(built_layers)


DEMO_CASES = 20_000  # the demo's shape at a tenth of its history: quick enough for the suite


@pytest.fixture(scope="session")
def demo(settings, built_layers, tmp_path_factory):
    """A database loaded by ``citygrid demo load`` itself (cli.demo.load_demo) with a smaller
    history; yields (settings, summary). The demo passwords go to a temporary file."""
    from citygrid.db.engine import drop_database, get_engine
    from cli.demo import load_demo

    s = settings.model_copy(update={"db_name": settings.db_name + "_demo"})
    drop_database(s)
    migrate(s)
    summary = load_demo(s, n_cases=DEMO_CASES, layers=built_layers,
                        users_file=tmp_path_factory.mktemp("demo") / "demo_users.json")
    yield s, summary
    get_engine(s).dispose()
    get_engine(s, role="owner").dispose()
    drop_database(s)


@pytest.fixture(scope="session")
def demo_server(demo):
    """A live server over the demo database; yields (base URL, settings, {user: password})."""
    import json

    from tests.harness import thread_server

    s, summary = demo
    creds = json.loads(open(summary["organisation"]["users_file"]).read())
    with thread_server(s) as url:
        yield url, s, creds
