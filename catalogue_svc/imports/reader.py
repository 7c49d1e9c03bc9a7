"""Reading a dossiers file one top-level value at a time.

``json.loads`` builds the whole document before the first row is checked: on 1,000,000 contacts
with their relations and grants, several GB of dicts, all alive while the rows are validated.
:func:`sections` parses the top-level object's values one after the other, with the same C
decoder (``JSONDecoder.raw_decode``), so that a section can be validated and dropped before the
next one is parsed. Anything it is not sure to read exactly as ``json.loads`` would (not an
object at the root, a key given twice, a syntax error) raises :class:`NotStreamable`, and the
caller reads the file with ``json.loads`` instead: the same result, the same error message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["NotStreamable", "sections"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # json's own definition
_DECODER = json.JSONDecoder()
# The decoder's own string reader (C), which typeshed does not declare.
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class NotStreamable(Exception):
    """The text is not read here: let ``json.loads`` read it (and word its error)."""


def sections(text: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(key, value)`` for each member of the JSON object ``text``, in file order."""
    skip = _WHITESPACE.match
    end = len(text)
    pos = skip(text, 0).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "{":
        raise NotStreamable
    pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
    seen: set[str] = set()
    if text[pos : pos + 1] == "}":
        pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
    else:
        while True:
            if text[pos : pos + 1] != '"':
                raise NotStreamable
            try:
                key, pos = scanstring(text, pos + 1, True)
                pos = skip(text, pos).end()  # type: ignore[union-attr]
                if text[pos : pos + 1] != ":":
                    raise NotStreamable
                pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
                value, pos = _DECODER.raw_decode(text, pos)
            except json.JSONDecodeError:
                raise NotStreamable from None
            if key in seen:  # json.loads keeps the last one: too late to do the same here
                raise NotStreamable
            seen.add(key)
            yield key, value
            del value
            pos = skip(text, pos).end()  # type: ignore[union-attr]
            delimiter = text[pos : pos + 1]
            pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
            if delimiter == "}":
                break
            if delimiter != ",":
                raise NotStreamable
    if pos != end:
        raise NotStreamable
