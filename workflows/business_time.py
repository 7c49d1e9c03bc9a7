"""Business time: the days and hours an agent works, and arithmetic on them.

A public body counts its service levels in business hours: 8 h 30 to 16 h 30, Monday to Friday,
in ``America/Montreal``, minus Québec's statutory holidays and the days it chooses to close
(often those between Christmas and New Year). A request received on Friday at 16 h with a target
of 2 business days is due on Tuesday at 15 h 30, not on Sunday.

The holiday rules come from the maintained ``holidays`` package (``holidays.CA(subdiv="QC")``):
Jour de l'An, Vendredi saint, Journée nationale des patriotes, Fête nationale, Fête du Canada,
Fête du Travail, Action de grâce and Noël, with the days the law moves them to (Fête nationale and
Fête du Canada on a Sunday → the Monday; Noël and Jour de l'An on a Saturday → the Monday). A
hand-written list would drift (Easter moves every year). A holiday on a Saturday that the law does
not move (the Fête nationale of 2028) is not made up here: a body that closes the Friday instead
says so in its closure days.

A business day is open from the first instant its local clock reads the opening time to the first
instant it reads the closing time. Daylight-saving changes happen at 2 h on a Sunday, outside
any sensible hours, so a day's business time is simply its hours; the arithmetic is done on UTC
instants, so that a week across a change is counted right.

Pure: no Flask, no database (``forms`` and ``workflows`` are checked by ``lint-imports``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_TARGET_MINUTES",
    "MONTREAL",
    "BusinessCalendar",
    "ClosureDays",
    "parse_closure_days",
    "parse_hours",
    "parse_target_hours",
    "parse_targets",
    "parse_weekdays",
    "quebec_holidays",
]

MONTREAL = ZoneInfo("America/Montreal")
UTC = dt.UTC
# Two business days of 8 hours.
DEFAULT_TARGET_MINUTES = 16 * 60
# How far ``add`` looks for open days before deciding the calendar has none (ten years).
_HORIZON_DAYS = 3660


@functools.cache
def quebec_holidays(year: int) -> dict[dt.date, str]:
    """Québec's statutory holidays of ``year`` (with the days they are moved to), French names."""
    return dict(holidays.country_holidays("CA", subdiv="QC", years=year, language="fr"))


@dataclass(frozen=True)
class ClosureDays:
    """Days the body closes besides the holidays: fixed dates, and month-days of every year."""

    dates: frozenset[dt.date] = frozenset()
    every_year: frozenset[tuple[int, int]] = frozenset()

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and (
            day in self.dates or (day.month, day.day) in self.every_year
        )


@dataclass(frozen=True)
class BusinessCalendar:
    """When agents work: opening hours on some weekdays, in a time zone, minus closed days."""

    opens: dt.time = dt.time(8, 30)
    closes: dt.time = dt.time(16, 30)
    # ISO weekdays: 1 = Monday … 7 = Sunday.
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    closures: ClosureDays = field(default_factory=ClosureDays)
    tz: ZoneInfo = MONTREAL
    statutory: bool = True

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError("L'heure d'ouverture doit précéder l'heure de fermeture.")
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise ValueError("Les jours ouvrables sont des jours de 1 (lundi) à 7 (dimanche).")

    # ------------------------------------------------------------------ days

    def holiday(self, day: dt.date) -> str | None:
        """The name of the statutory holiday or closure on ``day``, if any."""
        if self.statutory:
            name = quebec_holidays(day.year).get(day)
            if name is not None:
                return name
        if day in self.closures:
            return "Fermeture"
        return None

    def is_business_day(self, day: dt.date) -> bool:
        """Whether the body is open on ``day`` (a weekday of its hours, neither holiday nor
        closure)."""
        return day.isoweekday() in self.weekdays and self.holiday(day) is None

    @property
    def day_minutes(self) -> int:
        """The business minutes of one open day (480 for 8 h 30–16 h 30)."""
        start = dt.datetime.combine(dt.date(2000, 1, 3), self.opens)
        end = dt.datetime.combine(dt.date(2000, 1, 3), self.closes)
        return int((end - start).total_seconds() // 60)

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """``day``'s opening and closing instants (UTC), or None when it is closed."""
        if not self.is_business_day(day):
            return None
        return self._instant(day, self.opens), self._instant(day, self.closes)

    def _instant(self, day: dt.date, at: dt.time) -> dt.datetime:
        """The first instant (UTC) at which the local clock of ``day`` reads ``at`` or later."""
        local = dt.datetime.combine(day, at, tzinfo=self.tz)
        instant = local.astimezone(UTC)
        if instant.astimezone(self.tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant  # the first of two readings, when the clock goes back
        # ``at`` does not exist that day (the clock jumps over it): the jump is the instant.
        earlier = local.replace(fold=1).astimezone(UTC)
        while earlier.astimezone(self.tz).replace(tzinfo=None) < local.replace(tzinfo=None):
            earlier += dt.timedelta(minutes=1)
        return earlier

    def _days_from(self, day: dt.date) -> Iterator[dt.date]:
        for offset in range(_HORIZON_DAYS):
            yield day + dt.timedelta(days=offset)

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return _aware(instant).astimezone(self.tz).date()

    # ------------------------------------------------------------------ arithmetic

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The business time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        start, end = _aware(start), _aware(end)
        total = dt.timedelta(0)
        if end <= start:
            return total
        day = self._local_date(start)
        last = self._local_date(end)
        while day <= last:
            window = self._window(day)
            if window is not None:
                lo, hi = max(window[0], start), min(window[1], end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def minutes_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole business minutes from ``start`` to ``end``."""
        return int(self.between(start, end).total_seconds() // 60)

    def add(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant at which ``amount`` of business time has passed since ``start``.

        It is inside (or at the close of) an open day: 1 business hour after Friday 16 h is the
        next open day at 9 h 30. A zero amount is ``start`` itself.
        """
        start = _aware(start).astimezone(UTC)
        if amount < dt.timedelta(0):
            raise ValueError("La durée à ajouter doit être positive.")
        if amount == dt.timedelta(0):
            return start
        remaining = amount
        for day in self._days_from(self._local_date(start)):
            window = self._window(day)
            if window is None or window[1] <= start:
                continue
            lo = max(window[0], start)
            available = window[1] - lo
            if remaining <= available:
                return lo + remaining
            remaining -= available
        raise ValueError("Le calendrier n'a aucun jour ouvrable.")

    def add_minutes(self, start: dt.datetime, minutes: int) -> dt.datetime:
        """:meth:`add` with a number of business minutes."""
        return self.add(start, dt.timedelta(minutes=minutes))

    def is_open(self, instant: dt.datetime) -> bool:
        """Whether ``instant`` is in business hours."""
        window = self._window(self._local_date(instant))
        return window is not None and window[0] <= _aware(instant) < window[1]

    # ------------------------------------------------------------------ words

    def duration_text(self, minutes: int) -> str:
        """``2 jours ouvrables``, ``1 jour ouvrable et 3 h``, ``3 h ouvrables``,
        ``45 min ouvrables`` (a day is one open day's hours)."""
        days, rest = divmod(max(minutes, 0), self.day_minutes)
        hours, mins = divmod(rest, 60)
        if days:
            text = f"{days} jour{'s' if days > 1 else ''} ouvrable{'s' if days > 1 else ''}"
            return f"{text} et {hours} h" if hours else text
        if hours:
            return f"{hours} h ouvrable{'s' if hours > 1 else ''}"
        return f"{mins} min ouvrable{'s' if mins > 1 else ''}"

    def due_text(self, now: dt.datetime, due: dt.datetime) -> str:
        """What is left before ``due``, or how late it is: ``Échéance dans 3 h ouvrables``,
        ``En retard de 1 jour ouvrable``."""
        now, due = _aware(now), _aware(due)
        if now < due:
            left = self.minutes_between(now, due)
            if left == 0:
                return "Échéance dans moins d'une minute ouvrable"
            return f"Échéance dans {self.duration_text(left)}"
        late = self.minutes_between(due, now)
        if late == 0:
            return "Échéance atteinte"
        return f"En retard de {self.duration_text(late)}"


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("Un instant doit porter son fuseau horaire.")
    return instant


# ---------------------------------------------------------------------- settings
#
# Each parser raises ValueError with a French sentence; the configuration names the variable.

_HOURS = re.compile(r"^\s*(\d{1,2})[:h](\d{2})\s*-\s*(\d{1,2})[:h](\d{2})\s*$")


def parse_hours(raw: str) -> tuple[dt.time, dt.time]:
    """``08:30-16:30`` (or ``8h30-16h30``) → the opening and closing times."""
    match = _HOURS.match(raw)
    if match is None:
        raise ValueError(f"doit avoir la forme 08:30-16:30 (reçu : {raw!r}).")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        opens, closes = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError:
        raise ValueError(f"contient une heure qui n'existe pas (reçu : {raw!r}).") from None
    if not opens < closes:
        raise ValueError(f"l'ouverture doit précéder la fermeture (reçu : {raw!r}).")
    return opens, closes


def parse_weekdays(raw: str) -> frozenset[int]:
    """``1-5`` or ``1,2,3,4,5`` (1 = lundi … 7 = dimanche) → the ISO weekdays."""
    days: set[int] = set()
    for part in (p.strip() for p in raw.split(",")):
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise ValueError(f"doit lister des jours de 1 (lundi) à 7 (dimanche) (reçu : {raw!r}).")
        low, high = int(bounds[0]), int(bounds[-1])
        if not 1 <= low <= high <= 7:
            raise ValueError(f"doit lister des jours de 1 (lundi) à 7 (dimanche) (reçu : {raw!r}).")
        days.update(range(low, high + 1))
    return frozenset(days)


def parse_closure_days(raw: str) -> ClosureDays:
    """``2026-12-24,12-31`` → closure days: a date, or a month-day closed every year."""
    dates: set[dt.date] = set()
    every_year: set[tuple[int, int]] = set()
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        try:
            if len(part) == 5:
                day = dt.date(2000, int(part[:2]), int(part[3:]))  # 2000: a leap year
                if part[2] != "-":
                    raise ValueError(part)
                every_year.add((day.month, day.day))
            else:
                dates.add(dt.date.fromisoformat(part))
        except ValueError:
            raise ValueError(
                f"« {part} » n'est pas une date (AAAA-MM-JJ, ou MM-JJ pour chaque année)."
            ) from None
    return ClosureDays(frozenset(dates), frozenset(every_year))


def parse_targets(raw: str) -> dict[str, int]:
    """``update-contact=8,add-relation=24`` → business minutes by form (hours, decimals allowed)."""
    targets: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        slug, sep, hours = part.partition("=")
        if not sep or not slug.strip():
            raise ValueError(f"doit avoir la forme formulaire=heures (reçu : {part!r}).")
        targets[slug.strip()] = parse_target_hours(hours)
    return targets


def parse_target_hours(raw: str) -> int:
    """A target in business hours (``16``, ``7.5``) → business minutes, positive."""
    try:
        hours = float(raw.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"une cible est un nombre d'heures ouvrables (reçu : {raw!r}).") from None
    if not math.isfinite(hours) or not 1 <= round(hours * 60) <= 60 * 24 * 365:
        raise ValueError(f"une cible doit être une durée positive, en heures (reçu : {raw!r}).")
    return round(hours * 60)
