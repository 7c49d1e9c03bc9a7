"""What people read never holds an internal key: every answer and email the suite produces is
checked (issue 13: "no internal key (`_schema`, field paths, class names) ever reaches a
submitter, an agent or an email").

``make_app`` (tests/conftest.py) registers :func:`check_response` on every app the tests build
and fails the test at teardown when an answer carried such a text; the SMTP sink's messages are
checked the same way (:func:`check_email`). What is checked:

* problem answers (status >= 400): ``title``, ``detail`` and every message of ``errors`` (the
  keys of ``errors`` are field paths for programs: they may be dotted, but never ``_schema``);
* every answer: the texts under ``reason`` and ``detail`` keys (a request's reason, its history,
  the agents' queue) — what the portal shows as sentences;
* emails: subject and body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

# Marshmallow's and Werkzeug's English defaults, and Python's own words.
ENGLISH = (
    "Missing data for required field",
    "Not a valid",
    "Unknown field",
    "Field may not be null",
    "Invalid input",
    "Invalid value",
    "Length must be",
    "Must be one of",
    "Must be greater",
    "Must be less",
    "Shorter than",
    "Longer than",
    "String does not match",
    "The requested URL",
    "Method Not Allowed",
    "Bad Request",
    "Internal Server Error",
    "Traceback",
    "NoneType",
)
# ``variables.new_contact``, ``catalogue_svc.requests``: a dotted name with an underscore, not
# inside an address (a@b.example) or a number.
_DOTTED = re.compile(
    r"(?<![@\w.])(?:[a-z]\w*_\w*\.[a-z_]\w*|[a-z]\w*\.[a-z]\w*_\w*|variables\.\w+|[a-z]+\.\d+\b)"
)
_CLASS = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception)\b")


def problems_in(text: str) -> list[str]:
    """Why ``text`` is not fit for people (empty: it is)."""
    found = []
    if "_schema" in text:
        found.append("_schema")
    for phrase in ENGLISH:
        if phrase in text:
            found.append(f"English: {phrase}")
    for match in _DOTTED.finditer(text):
        start = text.rfind(" ", 0, match.start()) + 1
        end = text.find(" ", match.end())
        token = text[start : end if end >= 0 else len(text)]
        if "@" not in token and "://" not in token:  # an address or a link is for people
            found.append(f"dotted name: {match.group(0)}")
    found.extend(f"class name: {m.group(0)}" for m in _CLASS.finditer(text))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _people_texts(value: Any) -> Iterator[str]:
    """The texts under ``reason`` and ``detail`` keys, anywhere in an answer."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("reason", "detail") and isinstance(item, str):
                yield item
            else:
                yield from _people_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _people_texts(item)


def check_response(status: int, content_type: str, data: bytes) -> list[str]:
    """The problems of one answer's people-facing texts."""
    if "json" not in content_type or not data:
        return []
    try:
        payload = json.loads(data)
    except ValueError:
        return []
    texts: list[str] = []
    found: list[str] = []
    if status >= 400 and isinstance(payload, dict):
        texts += [t for t in (payload.get("title"), payload.get("detail")) if isinstance(t, str)]
        errors = payload.get("errors")
        if isinstance(errors, dict):
            found += [f"errors key {k!r}" for k in errors if "_schema" in str(k)]
            texts += list(_strings(errors))
    texts += list(_people_texts(payload))
    for text in texts:
        found += [f"{problem} in {text[:160]!r}" for problem in problems_in(text)]
    return found


def check_email(message: Message, text: str) -> list[str]:
    """The problems of one email (subject and body)."""
    found = []
    for part in (str(message.get("Subject", "")), text):
        found += [f"{problem} in email {message.get('Subject')!r}" for problem in problems_in(part)]
    return found
