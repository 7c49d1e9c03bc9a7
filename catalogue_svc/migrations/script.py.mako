"""${message}"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 - used by rendered JSONB types
from sqlalchemy.dialects import postgresql  # noqa: F401

import catalogue_svc.db
${imports if imports else ""}

revision, down_revision = ${repr(up_revision)}, ${repr(down_revision)}
branch_labels, depends_on = ${repr(branch_labels)}, ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
