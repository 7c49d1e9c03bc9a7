"""contact_match_keys without its foreign key to contacts (derived data, see its model)"""

from alembic import op

revision, down_revision = "a3e9c5d7f1b2", "f2a6c8e4b1d7"
branch_labels = depends_on = None

_FOREIGN_KEY = "fk_contact_match_keys_contact_id_contacts"


def upgrade() -> None:
    # SQLite rebuilds the table: it stays WITHOUT ROWID (the table is its own key index).
    with op.batch_alter_table("contact_match_keys", table_kwargs={"sqlite_with_rowid": False}) as b:
        b.drop_constraint(op.f(_FOREIGN_KEY), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("contact_match_keys", table_kwargs={"sqlite_with_rowid": False}) as b:
        b.create_foreign_key(
            op.f(_FOREIGN_KEY), "contacts", ["contact_id"], ["id"], ondelete="CASCADE"
        )
