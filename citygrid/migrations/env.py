"""Alembic environment: migrations always run as the owner role."""
from alembic import context
from sqlalchemy import create_engine, pool

from citygrid.db.engine import owner_url
from citygrid.db.schema import metadata
from citygrid.settings import get_settings

settings = context.config.attributes.get("settings") or get_settings()


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS's own tables are not ours to migrate.
    return not (type_ == "table" and name in {"spatial_ref_sys"})


engine = create_engine(owner_url(settings), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
