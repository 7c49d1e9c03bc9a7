"""accounts.disabled_at: an account an operator disabled (flask disable-account)

Revision ID: f2a6c8e4b1d7
Revises: e5f7a1c3b9d2
Create Date: 2026-12-07 07:30:00
"""

import sqlalchemy as sa
from alembic import op

import catalogue_svc.db

revision = "f2a6c8e4b1d7"
down_revision = "e5f7a1c3b9d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("disabled_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled_at")
