"""requests.labels: the names a request's changeset refers to, kept as they were

Revision ID: b7c1d2e3f4a5
Revises: 4401adc295d5
Create Date: 2026-12-07 03:10:00
"""

import sqlalchemy as sa
from alembic import op

from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "b7c1d2e3f4a5"
down_revision = "4401adc295d5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("labels")
