"""Import every model so that the metadata (and Alembic) knows every table."""

from .accounts.models import Account, AccountLink, AccountSession, OneTimeCode  # noqa: F401
from .agents.models import Supervisor  # noqa: F401
from .audit import AuditEvent  # noqa: F401
from .documents.models import RequestDocument  # noqa: F401
from .duplicates.models import ContactMatchKey  # noqa: F401
from .linking.models import LegacyCredential, LinkingCredential  # noqa: F401
from .notifications.models import Email  # noqa: F401
from .profiles.models import (  # noqa: F401
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    ProfileChange,
    Subject,
)
from .queue import OutboxMessage  # noqa: F401
from .requests.models import (  # noqa: F401
    IdempotencyKey,
    Request,
    RequestComment,
    RequestConflictKey,
    RequestEvent,
    RequestLink,
)
