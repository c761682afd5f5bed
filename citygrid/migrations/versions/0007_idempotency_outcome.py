"""idempotency keys keep the first result, not an HTTP status

Domain code no longer decides HTTP statuses (the API does, in api/errors.py and its routes):
a replayed request is answered 200 with the stored result whatever the first answer was.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("idempotency_keys", "status_code")


def downgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("status_code", sa.Integer(), nullable=False,
                                                server_default="201"))
