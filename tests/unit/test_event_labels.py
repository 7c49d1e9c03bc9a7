"""Every event a request's history can hold is said in French words (*Suivi*): no trigger name
reaches a person."""

from __future__ import annotations

import re
from pathlib import Path

import workflows
from workflows import Trigger

ROOT = Path(__file__).resolve().parents[2] / "catalogue_svc"


def test_every_trigger_of_the_table_has_its_words():
    """Each transition's trigger, and the submission, has a label of its own."""
    for trigger in [*(t.value for t in Trigger), "submit"]:
        assert trigger in workflows.EVENT_LABELS_FR, trigger


def test_every_event_the_service_records_has_its_words():
    """The events that move no state (claim, release, reassignment, the clock) too: each name
    the service passes to the lifecycle's ``record`` is labelled."""
    from catalogue_svc.sla import clock

    names = {clock.START, clock.PAUSE, clock.RESUME, clock.STOP}
    for path in ROOT.rglob("*.py"):
        names |= set(re.findall(r"\brecord\(\s*request,\s*\"([a-z_]+)\"", path.read_text()))
    assert {"claim", "release", "reassign"} <= names
    missing = sorted(n for n in names if n not in workflows.EVENT_LABELS_FR)
    assert not missing, missing
    assert workflows.event_label("inconnu") == "Événement"
