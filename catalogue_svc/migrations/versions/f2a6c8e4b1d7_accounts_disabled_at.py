"""accounts.disabled_at: an account an operator disabled (flask disable-account)"""

import sqlalchemy as sa
from alembic import op

import catalogue_svc.db

revision, down_revision = "f2a6c8e4b1d7", "e5f7a1c3b9d2"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("disabled_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled_at")
