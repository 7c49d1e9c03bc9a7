"""requests: the agent validation's service-level clock (due_at, target, pause, stop);
request_comments.asks_answer"""

import sqlalchemy as sa
from alembic import op

from catalogue_svc.db import UTCDateTime

revision, down_revision = "c4d8e2f1a9b7", "5e1c2a7b9d30"
branch_labels = depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("due_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_target_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sla_paused_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_stopped_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_requests_state_due", ["state", "due_at"])
    with op.batch_alter_table("request_comments") as batch:
        batch.add_column(
            sa.Column("asks_answer", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("request_comments") as batch:
        batch.drop_column("asks_answer")
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_state_due")
        batch.drop_column("sla_stopped_at")
        batch.drop_column("sla_paused_at")
        batch.drop_column("sla_target_minutes")
        batch.drop_column("due_at")
