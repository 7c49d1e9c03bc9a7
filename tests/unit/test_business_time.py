"""Unit tests of the business calendar in ``workflows.business_time`` (no app, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.business_time import (
    MONTREAL,
    BusinessCalendar,
    parse_closure_days,
    parse_hours,
    parse_target_hours,
    parse_targets,
    parse_weekdays,
)

CAL = BusinessCalendar()
D = dt.date


def local(*args: int) -> dt.datetime:
    """An instant given on Montréal's clock."""
    return dt.datetime(*args, tzinfo=MONTREAL)  # type: ignore[misc]


# Québec's statutory holidays, written out from the Loi sur les normes du travail and the Loi
# sur la fête nationale, independently of the holidays package.
QUEBEC_HOLIDAYS = {
    2025: [
        D(2025, 1, 1), D(2025, 4, 18), D(2025, 5, 19), D(2025, 6, 24),
        D(2025, 7, 1), D(2025, 9, 1), D(2025, 10, 13), D(2025, 12, 25),
    ],
    2026: [
        D(2026, 1, 1), D(2026, 4, 3), D(2026, 5, 18), D(2026, 6, 24),
        D(2026, 7, 1), D(2026, 9, 7), D(2026, 10, 12), D(2026, 12, 25),
    ],
    2027: [
        D(2027, 1, 1), D(2027, 3, 26), D(2027, 5, 24), D(2027, 6, 24),
        D(2027, 7, 1), D(2027, 9, 6), D(2027, 10, 11), D(2027, 12, 27),
    ],
    2028: [
        D(2028, 1, 3), D(2028, 4, 14), D(2028, 5, 22), D(2028, 9, 4),
        D(2028, 10, 9), D(2028, 12, 25),
    ],
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(QUEBEC_HOLIDAYS))
def test_closed_weekdays_of_a_year_are_quebecs_statutory_holidays(year: int) -> None:
    """The weekdays closed in 2025–2028 are exactly Québec's holidays (moved ones included)."""
    day, closed = D(year, 1, 1), []
    while day.year == year:
        if day.isoweekday() <= 5 and not CAL.is_business_day(day):
            closed.append(day)
        day += dt.timedelta(days=1)
    assert closed == QUEBEC_HOLIDAYS[year]


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2025, 4, 18), "Vendredi saint"),
        (D(2026, 4, 3), "Vendredi saint"),
        (D(2027, 3, 26), "Vendredi saint"),
        (D(2028, 4, 14), "Vendredi saint"),
        (D(2027, 5, 24), "Journée nationale des patriotes"),
        (D(2026, 10, 12), "Action de grâce"),
    ],
)
def test_easter_dependent_and_monday_holidays_are_closed(day: dt.date, name: str) -> None:
    """Good Friday follows Easter each year; Patriotes and Action de grâce fall on a Monday."""
    assert CAL.holiday(day) == name
    assert not CAL.is_business_day(day)


def test_easter_monday_is_open_in_quebec() -> None:
    """Le lundi de Pâques is not a statutory holiday of Québec's calendar here."""
    assert CAL.is_business_day(D(2026, 4, 6))


@pytest.mark.parametrize("year", [2018, 2029])
def test_fete_nationale_on_a_sunday_closes_the_monday(year: int) -> None:
    """June 24 on a Sunday: June 25 is the holiday (Loi sur la fête nationale)."""
    assert D(year, 6, 24).isoweekday() == 7
    assert not CAL.is_business_day(D(year, 6, 25))
    assert CAL.is_business_day(D(year, 6, 26))


def test_christmas_on_a_saturday_closes_the_monday() -> None:
    """Noël 2027 is a Saturday: Monday 27 December is closed, Tuesday open."""
    assert not CAL.is_business_day(D(2027, 12, 27))
    assert CAL.is_business_day(D(2027, 12, 28))


def test_closure_days_close_fixed_dates_and_every_year_days() -> None:
    """A closure date closes that day only; a month-day closes it every year."""
    cal = BusinessCalendar(closures=parse_closure_days("2026-12-29, 12-31"))
    assert not cal.is_business_day(D(2026, 12, 29))
    assert cal.is_business_day(D(2027, 12, 29))
    assert not cal.is_business_day(D(2026, 12, 31))
    assert not cal.is_business_day(D(2027, 12, 31))


def test_two_business_days_from_friday_afternoon_end_on_tuesday() -> None:
    """Friday 16 h + 16 business hours = Tuesday 16 h (30 min Friday, 8 h Monday, 7 h 30)."""
    due = CAL.add_minutes(local(2026, 12, 4, 16, 0), 16 * 60)
    assert due == local(2026, 12, 8, 16, 0)


def test_time_received_outside_hours_counts_from_the_next_opening() -> None:
    """A request received Saturday is due 3 business hours after Monday's opening."""
    assert CAL.add_minutes(local(2026, 12, 5, 10, 0), 180) == local(2026, 12, 7, 11, 30)


def test_the_clock_skips_holidays() -> None:
    """From the eve of Noël 2026 at 16 h, 1 business hour ends on Monday 28 December."""
    assert CAL.add_minutes(local(2026, 12, 24, 16, 0), 60) == local(2026, 12, 28, 9, 0)


def test_an_amount_ending_at_closing_time_ends_at_closing_time() -> None:
    """Exactly one day's hours from the opening end at that day's close, not the next morning."""
    assert CAL.add_minutes(local(2026, 12, 7, 8, 30), 480) == local(2026, 12, 7, 16, 30)


def test_business_time_across_the_spring_change_is_the_hours_worked() -> None:
    """The week of 8 March 2026 (clocks forward on the Sunday) holds 5 × 8 business hours."""
    assert CAL.minutes_between(local(2026, 3, 6, 17, 0), local(2026, 3, 13, 17, 0)) == 5 * 480


def test_business_time_across_the_autumn_change_is_the_hours_worked() -> None:
    """Friday 16 h to Monday 9 h over the change of 1 November 2026 is 1 business hour."""
    assert CAL.minutes_between(local(2026, 10, 30, 16, 0), local(2026, 11, 2, 9, 0)) == 60


def test_instants_are_compared_in_utc_whatever_their_zone() -> None:
    """An instant given in UTC counts the same as the same instant on Montréal's clock."""
    start = local(2026, 12, 7, 9, 0).astimezone(dt.UTC)
    assert CAL.minutes_between(start, local(2026, 12, 7, 10, 0)) == 60


def test_a_naive_instant_is_refused() -> None:
    """A datetime without a zone is a programming error, not a guess."""
    with pytest.raises(ValueError):
        CAL.minutes_between(dt.datetime(2026, 12, 7, 9), local(2026, 12, 7, 10))


@pytest.mark.parametrize(
    ("now", "due", "text"),
    [
        (local(2026, 12, 7, 9, 0), local(2026, 12, 7, 12, 0), "Échéance dans 3 h ouvrables"),
        (local(2026, 12, 7, 9, 0), local(2026, 12, 7, 10, 0), "Échéance dans 1 h ouvrable"),
        (local(2026, 12, 7, 9, 0), local(2026, 12, 7, 9, 45), "Échéance dans 45 min ouvrables"),
        (local(2026, 12, 4, 16, 0), local(2026, 12, 8, 16, 0), "Échéance dans 2 jours ouvrables"),
        (
            local(2026, 12, 7, 9, 0),
            local(2026, 12, 8, 12, 0),
            "Échéance dans 1 jour ouvrable et 3 h",
        ),
        (local(2026, 12, 9, 12, 0), local(2026, 12, 8, 12, 0), "En retard de 1 jour ouvrable"),
        (local(2026, 12, 8, 14, 0), local(2026, 12, 8, 12, 0), "En retard de 2 h ouvrables"),
        (local(2026, 12, 5, 10, 0), local(2026, 12, 4, 16, 30), "Échéance atteinte"),
    ],
)
def test_due_text_says_time_left_or_lateness_in_business_time(
    now: dt.datetime, due: dt.datetime, text: str
) -> None:
    """The queue's sentence counts business time only, in days of the calendar's hours."""
    assert CAL.due_text(now, due) == text


@pytest.mark.parametrize(
    ("parse", "raw"),
    [
        (parse_hours, "8h30"),
        (parse_hours, "16:30-08:30"),
        (parse_hours, "25:00-26:00"),
        (parse_weekdays, "0-5"),
        (parse_weekdays, "lundi"),
        (parse_closure_days, "2026-02-30"),
        (parse_closure_days, "Noël"),
        (parse_target_hours, "0"),
        (parse_target_hours, "-4"),
        (parse_target_hours, "nan"),
        (parse_target_hours, "deux jours"),
        (parse_targets, "update_contact"),
    ],
)
def test_bad_settings_are_refused_in_french(parse: object, raw: str) -> None:
    """A malformed setting raises a French sentence that quotes what was given."""
    with pytest.raises(ValueError, match=r"reçu|date") as info:
        parse(raw)  # type: ignore[operator]
    assert "'" in str(info.value) or "«" in str(info.value)


def test_settings_parse_to_their_values() -> None:
    """Hours, weekdays and targets read as documented."""
    assert parse_hours("8h00-17h00") == (dt.time(8), dt.time(17))
    assert parse_weekdays("1-3,5") == frozenset({1, 2, 3, 5})
    assert parse_targets("update_contact=8, add_relation=7.5") == {
        "update_contact": 480,
        "add_relation": 450,
    }


# ---------------------------------------------------------------------- properties
#
# The oracle counts minute by minute: a minute is business time when Montréal's clock, at that
# minute, reads a business day's date and a time in [opens, closes). Instants are whole minutes
# over 2025–2028, so ranges cross daylight-saving changes, Easter and the other holidays.

_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_SPAN_MINUTES = 4 * 366 * 24 * 60


def _brute_minutes(cal: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> int:
    count, at = 0, start
    while at < end:
        clock = at.astimezone(cal.tz)
        if cal.is_business_day(clock.date()) and cal.opens <= clock.time() < cal.closes:
            count += 1
        at += dt.timedelta(minutes=1)
    return count


instants = st.integers(0, _SPAN_MINUTES).map(lambda m: _EPOCH + dt.timedelta(minutes=m))
# Calendars whose hours stay clear of 0 h–3 h, where the clocks change; weekends may be open,
# so that a changing Sunday is counted.
calendars = st.builds(
    lambda o, length, days: BusinessCalendar(
        opens=dt.time(o // 60, o % 60),
        closes=dt.time((o + length) // 60, (o + length) % 60),
        weekdays=frozenset(days),
    ),
    st.integers(3 * 60, 12 * 60),
    st.integers(1, 11 * 60),
    st.sets(st.integers(1, 7), min_size=1),
)


@settings(max_examples=60, deadline=None)
@given(cal=calendars, start=instants, length=st.integers(0, 10 * 24 * 60))
def test_business_minutes_between_match_a_minute_by_minute_count(
    cal: BusinessCalendar, start: dt.datetime, length: int
) -> None:
    """``minutes_between`` equals counting each minute of the range on Montréal's clock."""
    end = start + dt.timedelta(minutes=length)
    assert cal.minutes_between(start, end) == _brute_minutes(cal, start, end)


@settings(max_examples=60, deadline=None)
@given(cal=calendars, start=instants, data=st.data())
def test_adding_business_minutes_ends_at_the_minute_that_completes_them(
    cal: BusinessCalendar, start: dt.datetime, data: st.DataObject
) -> None:
    """``add_minutes`` lands where exactly that many business minutes have passed, and the
    minute before it is business time (the earliest such instant)."""
    minutes = data.draw(st.integers(1, 3 * cal.day_minutes))
    due = cal.add_minutes(start, minutes)
    assert _brute_minutes(cal, start, due) == minutes
    last = due - dt.timedelta(minutes=1)
    clock = last.astimezone(cal.tz)
    assert cal.is_business_day(clock.date()) and cal.opens <= clock.time() < cal.closes


@settings(max_examples=100, deadline=None)
@given(start=instants, a=st.integers(0, 5 * 480), b=st.integers(0, 5 * 480))
def test_adding_twice_is_adding_the_sum(start: dt.datetime, a: int, b: int) -> None:
    """Pausing the arithmetic in the middle changes nothing: (t + a) + b = t + (a + b)."""
    once = CAL.add_minutes(start, a + b)
    twice = CAL.add_minutes(CAL.add_minutes(start, a), b)
    assert CAL.minutes_between(start, once) == a + b
    # Both end at the same business minute; they differ only if one ends at a close and the
    # other at the next opening, which no business time separates.
    assert CAL.minutes_between(min(once, twice), max(once, twice)) == 0
