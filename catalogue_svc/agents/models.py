"""Supervisors of the validation queue: agents who are told when a request waits too long."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..db import UTCDateTime, db


class Supervisor(db.Model):  # type: ignore[name-defined, misc]
    """An agent account that supervises the queue (``flask create-supervisor``).

    A row beside the account rather than a third role: a supervisor is an agent first (claims,
    decides, reads every request), and every check of the agent role stays as it is.
    """

    __tablename__ = "agent_supervisors"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
