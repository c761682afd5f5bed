"""patrols: the spread to expect of an outing's measured distance

``distance_sd_m`` is one standard deviation (metres) of ``distance_m`` against the length
walked, from the track's own noise and turns (patrol.mileage.distance_sd_m): a commander
reads an officer's 4.31 km +- 0.04 km apart from one at +- 0.12 km. Outings measured before
this revision keep NULL until they are measured again.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrols", sa.Column("distance_sd_m", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("patrols", "distance_sd_m")
