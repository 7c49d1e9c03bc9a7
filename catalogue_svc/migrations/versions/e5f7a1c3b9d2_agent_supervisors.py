"""agent_supervisors: the agents who supervise the validation queue (escalation emails)"""

import sqlalchemy as sa
from alembic import op

import catalogue_svc.db

revision, down_revision = "e5f7a1c3b9d2", "d9a3f6b2e1c8"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_supervisors",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_agent_supervisors_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_agent_supervisors")),
    )


def downgrade() -> None:
    op.drop_table("agent_supervisors")
