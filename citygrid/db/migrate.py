"""Bring a database to the current schema: bootstrap roles, then Alembic as the owner."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from citygrid.cache import invalidate_all
from citygrid.db.engine import bootstrap
from citygrid.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    """The Alembic configuration of ``citygrid/migrations``; ``settings`` reach env.py through
    ``cfg.attributes`` (migrations connect as the owner)."""
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["settings"] = settings
    return cfg


def migrate(settings: Settings, revision: str = "head") -> None:
    """Create roles and database if needed, then upgrade the schema to ``revision``."""
    bootstrap(settings)
    command.upgrade(alembic_config(settings), revision)
    invalidate_all()  # cached table columns may have changed
