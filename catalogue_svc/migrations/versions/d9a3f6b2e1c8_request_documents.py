"""request_documents: files joined to a request (issue 18, item 2), content addressed by SHA-256"""

import sqlalchemy as sa
from alembic import op

import catalogue_svc.db

revision, down_revision = "d9a3f6b2e1c8", "c4d8e2f1a9b7"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_account_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", catalogue_svc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_request_documents_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_documents")),
    )
    with op.batch_alter_table("request_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_documents_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_documents_request_id"))
    op.drop_table("request_documents")
