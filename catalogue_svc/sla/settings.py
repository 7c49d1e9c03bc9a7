"""The service-level settings: business hours, days, closures and targets by form.

Read from the environment by :func:`catalogue_svc.config.load_settings`; each bad value raises a
``ValueError`` whose sentence starts with the variable's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from forms import registry
from workflows.business_time import (
    DEFAULT_TARGET_MINUTES,
    BusinessCalendar,
    parse_closure_days,
    parse_hours,
    parse_target_hours,
    parse_targets,
    parse_weekdays,
)

ENV_KEYS = frozenset(
    {
        "CATALOGUE_BUSINESS_HOURS",
        "CATALOGUE_BUSINESS_DAYS",
        "CATALOGUE_CLOSURE_DAYS",
        "CATALOGUE_VALIDATION_TARGET",
        "CATALOGUE_VALIDATION_TARGETS",
        "CATALOGUE_ESCALATION_SHARE",
        "CATALOGUE_OVERDUE_CLAIM_LAPSE",
    }
)


@dataclass(frozen=True)
class SlaSettings:
    """The calendar agents work on and the validation's target, in business minutes, by form."""

    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    default_target_minutes: int = DEFAULT_TARGET_MINUTES
    # (form slug, minutes) pairs: a tuple keeps the settings hashable.
    targets: tuple[tuple[str, int], ...] = ()
    # The share of the target (%) at which the supervisors are told (again when overdue).
    escalation_share: int = 75
    # Seconds after its due time at which an overdue request's claim lapses back to the queue.
    overdue_claim_lapse_seconds: int = 4 * 3600

    def target_minutes(self, form_slug: str) -> int:
        """The validation target of a form, in business minutes."""
        return dict(self.targets).get(form_slug, self.default_target_minutes)


def _read(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw if raw else None


def load_sla_settings(env: Mapping[str, str]) -> SlaSettings:
    """The service-level settings of ``env``; ValueError naming the first bad variable."""
    calendar_args: dict[str, object] = {}
    try:
        name = "CATALOGUE_BUSINESS_HOURS"
        if (raw := _read(env, name)) is not None:
            calendar_args["opens"], calendar_args["closes"] = parse_hours(raw)
        name = "CATALOGUE_BUSINESS_DAYS"
        if (raw := _read(env, name)) is not None:
            calendar_args["weekdays"] = parse_weekdays(raw)
        name = "CATALOGUE_CLOSURE_DAYS"
        if (raw := _read(env, name)) is not None:
            calendar_args["closures"] = parse_closure_days(raw)
        name = "CATALOGUE_VALIDATION_TARGET"
        default = DEFAULT_TARGET_MINUTES
        if (raw := _read(env, name)) is not None:
            default = parse_target_hours(raw)
        name = "CATALOGUE_VALIDATION_TARGETS"
        targets = parse_targets(env.get(name) or "")
        name = "CATALOGUE_ESCALATION_SHARE"
        share = 75
        if (raw := _read(env, name)) is not None:
            if not raw.strip().isdigit() or not 1 <= int(raw) <= 99:
                raise ValueError(f"doit être un pourcentage de 1 à 99 (reçu : {raw!r}).")
            share = int(raw)
        name = "CATALOGUE_OVERDUE_CLAIM_LAPSE"
        lapse = 4 * 3600
        if (raw := _read(env, name)) is not None:
            if not raw.strip().isdigit() or not 1 <= int(raw) <= 30 * 86400:
                raise ValueError(
                    f"doit être un nombre de secondes de 1 à 2592000 (reçu : {raw!r})."
                )
            lapse = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} : {exc}") from None
    unknown = sorted(slug for slug in targets if registry.get(slug) is None)
    if unknown:
        raise ValueError(
            "CATALOGUE_VALIDATION_TARGETS : formulaire inconnu "
            f"({', '.join(repr(s) for s in unknown)})."
        )
    return SlaSettings(
        calendar=BusinessCalendar(**calendar_args),  # type: ignore[arg-type]
        default_target_minutes=default,
        targets=tuple(sorted(targets.items())),
        escalation_share=share,
        overdue_claim_lapse_seconds=lapse,
    )
