"""The requests domain's public calls, each from the module of its job.

* :mod:`.lifecycle` — the transition (compare-and-set and history row), the topics, the
  propagation delay, and what entering each state schedules;
* :mod:`.submission` — submit, cancel, comment;
* :mod:`.handlers` — the background check and apply, registered on the queue;
* :mod:`.emails` — the emails a request sends;
* :mod:`.reads` — summary, detail, who may read a request, *Mes demandes*;
* :mod:`.sql` — the SQL built by hand, every dialect branch; :mod:`.chunk` — what a pipeline
  chunk shares.
"""

from __future__ import annotations

from .handlers import find_candidates, init_app, run_apply, run_check
from .lifecycle import (
    APPLY_TOPIC,
    CHECK_TOPIC,
    SYSTEM_ACTOR,
    Actor,
    propagation_delay,
    record,
    transition,
)
from .reads import RequestFilters, detail, get_for_account, list_for_profile, summary
from .sql import number_sql
from .submission import (
    add_comment,
    cancel,
    form_default,
    form_or_404,
    submit,
    variables_errors,
)

__all__ = [
    "APPLY_TOPIC",
    "CHECK_TOPIC",
    "SYSTEM_ACTOR",
    "Actor",
    "RequestFilters",
    "add_comment",
    "cancel",
    "detail",
    "find_candidates",
    "form_default",
    "form_or_404",
    "get_for_account",
    "init_app",
    "list_for_profile",
    "number_sql",
    "propagation_delay",
    "record",
    "run_apply",
    "run_check",
    "submit",
    "summary",
    "transition",
    "variables_errors",
]
