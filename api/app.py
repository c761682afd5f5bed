"""The FastAPI application: thin routers over the domain functions."""
from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.middleware import BodyLimit, FiniteJSON
from api.routers import auth, features, health, org
from api.routers import cases, drone, hotspots, open311, patrols, portal, tiles
from citygrid.db.engine import get_engine
from citygrid.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app for ``settings`` (default: from the environment): every router, ``/static``,
    the error handlers, the body-size and finite-JSON guards, and the database engine on ``app.state``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Routes are plain functions run in anyio's thread pool. A few threads taking requests
        # in arrival order (the limiter is FIFO) serve the tail better than 40 threads sharing
        # the GIL: a request waits its turn instead of being starved by the others.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # The imports (geopandas, pandas, SQLAlchemy...) leave ~250,000 tracked objects, and a
        # full collection walking them took 120 ms: a pause for every request in flight. Frozen,
        # they are skipped; a collection then walks only what requests allocate.
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(title="citygrid", version="0.1.0", lifespan=lifespan,
                  description="Geospatial service for Rizhao's urban management (城市管理).")
    app.state.settings = settings
    app.state.engine = get_engine(settings)
    errors.install(app)
    # the map's hot paths first: a request is matched against the routes in this order
    for module in (tiles, features, health, auth, org, cases, open311, hotspots, drone, portal, patrols):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(FiniteJSON)  # inside BodyLimit: it reads bodies already bounded
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
