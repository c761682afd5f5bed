"""users: tokens revoked at deactivation; officers can be retired; a squad's subdistrict

A signed token stays valid until it expires unless the service checks the user on every
request: ``tokens_revoked_at`` is set when a user is deactivated, and a token issued before it
is refused even if the user is reactivated later (they sign in again). ``officers.active``
lets an officer leave without deleting their patrols. ``departments.subdistrict_code``: the
town/street a resident enforcement squad (执法中队) serves (the simulated history dispatches
each case to the squad of its subdistrict; a live dispatch names its department).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("tokens_revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("officers", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("departments", sa.Column("subdistrict_code", sa.String(9), nullable=True))
    # one user per officer: the link says whose phone's fixes are whose
    op.create_index("ux_users_officer_id", "users", ["officer_id"], unique=True,
                    postgresql_where=sa.text("officer_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ux_users_officer_id", table_name="users")
    op.drop_column("departments", "subdistrict_code")
    op.drop_column("officers", "active")
    op.drop_column("users", "tokens_revoked_at")
