"""requests.labels: the names a request's changeset refers to, kept as they were"""

import sqlalchemy as sa
from alembic import op

from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision, down_revision = "b7c1d2e3f4a5", "4401adc295d5"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("labels")
