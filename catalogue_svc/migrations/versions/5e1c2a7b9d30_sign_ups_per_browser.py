"""sign_ups: one row per sign-up of a pending address (security round 2, hole 4)

A repeated sign-up no longer replaces the pending account's password: each sign-up keeps its
own, and the code confirms the sign-up of the browser that enters it."""

import sqlalchemy as sa
from alembic import op

import catalogue_svc.db

revision, down_revision = "5e1c2a7b9d30", "b7c1d2e3f4a5"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("browser", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sign_ups_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ups")),
    )
    with op.batch_alter_table("sign_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_ups_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_ups_account_id"))
    op.drop_table("sign_ups")
