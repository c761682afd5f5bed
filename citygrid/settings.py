"""One settings object for the whole service (env prefix ``CITYGRID_``).

With no database URL the project runs its own embedded PostgreSQL + PostGIS cluster
(``citygrid db up``); with ``CITYGRID_DATABASE_URL`` (or plain ``DATABASE_URL``) it uses an
existing server, whose user must be allowed to create roles (it acts as the owner).
"""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """The service's configuration from ``CITYGRID_*`` environment variables (the database URL also
    from ``DATABASE_URL``); the defaults run everything locally on the embedded cluster."""
    model_config = SettingsConfigDict(env_prefix="CITYGRID_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CITYGRID_DATABASE_URL", "DATABASE_URL")
    )
    db_name: str = "citygrid"
    state_dir: Path = PROJECT_ROOT / ".state"
    db_port: int = 55432
    secret_key: str | None = None
    token_expire_minutes: int = 12 * 60
    max_body_bytes: int = 10 * 1024 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    # uvicorn worker processes for ``citygrid serve``; more than one spreads requests over the
    # cores, but the Open311 rate limits are then counted per worker.
    workers: int = 1
    # threads per worker for the routes (plain functions, run in a thread pool); see api.app
    threads: int = 4
    # 天地图 key (``CITYGRID_TIANDITU_KEY``): with none, the portal offers no Tianditu basemap.
    tianditu_key: str | None = None
    # The city's own work calendar (JSON or CSV) for years chinesecalendar does not know.
    calendar_file: Path | None = None
    # Where synthesized loudspeaker audio is kept; default <state_dir>/drone_audio.
    audio_dir: Path | None = None
    # Open311 intake rate limits (POST /open311/v2/requests.json), sliding window of
    # ``open311_rate_window_s`` seconds; over a limit the answer is 429 with Retry-After.
    # Per device_id and per api_key (tight), per client address (looser: many phones share a NAT).
    open311_rate_window_s: float = 60.0
    open311_rate_per_device: int = 10
    open311_rate_per_api_key: int = 300
    open311_rate_per_address: int = 600

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once into the (git-ignored) state folder."""
        if self.secret_key:
            return self.secret_key
        path = self.state_dir / "secret_key"
        if not path.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
