"""Reading a dossiers file one top-level value at a time.

``json.loads`` builds the whole document before the first row is checked: on 1,000,000 contacts
with their relations and grants, several GB of dicts, all alive while the rows are validated.
:func:`sections` parses the top-level object's values one after the other, with the same C
decoder (``JSONDecoder.raw_decode``), so that a section can be validated and dropped before the
next one is parsed. Given an open text file instead of its text, it reads the file a chunk at a
time and yields each list section as :class:`Items`, whose rows are parsed one at a time as they
are iterated: neither the file's text nor a whole section is ever held. Anything it is not sure
to read exactly as ``json.loads`` would (not an object at the root, a key given twice, a syntax
error, bad UTF-8) raises :class:`NotStreamable`, and the caller reads the file with
``json.loads`` instead: the same result, the same error message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["Items", "NotStreamable", "open_text", "sections"]

CHUNK = 1 << 20  # characters read at a time

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # json's own definition
_DECODER = json.JSONDecoder()
_AFTER_VALUE = frozenset(" \t\n\r,:]}")  # what may follow a whole value
# The decoder's own string reader (C), which typeshed does not declare.
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class NotStreamable(Exception):
    """The text is not read here: let ``json.loads`` read it (and word its error)."""


def open_text(path: str | Path) -> IO[str]:
    """The dossiers file, opened for :func:`sections` (UTF-8, a leading BOM skipped)."""
    return open(path, encoding="utf-8-sig")


def sections(text: str | IO[str]) -> Iterator[tuple[str, Any]]:
    """Yield ``(key, value)`` for each member of the JSON object ``text``, in file order.

    ``text`` is the document, or an open text file: then each list value is an :class:`Items`
    read from the file as it is iterated (what is left of it is skipped before the next member).
    """
    if not isinstance(text, str):
        yield from _stream(_Buffer(text))
        return
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


class _Buffer:
    """A window on a text file: what is read and not yet parsed."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.eof = False
        self.size = CHUNK

    def more(self) -> bool:
        """Read the next chunk (dropping what is parsed); False at the end of the file."""
        if self.eof:
            return False
        try:
            chunk = self.stream.read(self.size)
        except UnicodeDecodeError:  # json.loads's path words the error with its byte
            raise NotStreamable from None
        if not chunk:
            self.eof = True
            return False
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), without taking it."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def take(self) -> str:
        """:meth:`peek`, and take it."""
        char = self.peek()
        self.pos += len(char)
        return char

    def value(self) -> Any:
        """The next JSON value, whole: read on while it may go on past the window's end (a
        number or a word cut by the chunk, an unterminated string, object or list)."""
        self.peek()
        size = self.size
        try:
            while True:
                try:
                    value, end = _DECODER.raw_decode(self.text, self.pos)
                except json.JSONDecodeError:
                    value, end = None, -1
                # A number cut by the chunk ("1.5e" of "1.5e10") decodes too, short: only a
                # character that may follow a value tells that it is whole.
                if end >= 0 and (self.eof or self.text[end : end + 1] in _AFTER_VALUE):
                    self.pos = end
                    return value
                self.size *= 2  # a large value: fewer, larger reads
                if not self.more():
                    raise NotStreamable
        finally:
            self.size = size


class Items:
    """The rows of a list section, parsed from the file one at a time as they are iterated;
    iterable once (a second iteration would find the file already read)."""

    def __init__(self, buffer: _Buffer) -> None:
        self._buffer = buffer
        self._rows: Iterator[Any] | None = None
        self.count = 0  # rows read so far

    def __iter__(self) -> Iterator[Any]:
        if self._rows is not None:
            raise RuntimeError("the rows of a streamed section are read once")
        self._rows = self._read()
        return self._rows

    def _read(self) -> Iterator[Any]:
        buffer = self._buffer
        if buffer.peek() == "]":
            buffer.take()
            return
        while True:
            value = buffer.value()
            self.count += 1
            yield value
            del value
            delimiter = buffer.take()
            if delimiter == "]":
                return
            if delimiter != ",":
                raise NotStreamable

    def skip_rest(self) -> None:
        """Read what is left of the section (its reader stopped early, or never started)."""
        for _ in self._rows if self._rows is not None else iter(self):
            pass


def _stream(buffer: _Buffer) -> Iterator[tuple[str, Any]]:
    """:func:`sections` of an open text file."""
    if buffer.take() != "{":
        raise NotStreamable
    seen: set[str] = set()
    if buffer.peek() == "}":
        buffer.take()
    else:
        while True:
            if buffer.peek() != '"':
                raise NotStreamable
            key = buffer.value()
            if buffer.take() != ":":
                raise NotStreamable
            if key in seen:  # json.loads keeps the last one: too late to do the same here
                raise NotStreamable
            seen.add(key)
            if buffer.peek() == "[":
                buffer.take()
                items = Items(buffer)
                yield key, items
                items.skip_rest()
                del items
            else:
                yield key, buffer.value()
            delimiter = buffer.take()
            if delimiter == "}":
                break
            if delimiter != ",":
                raise NotStreamable
    if buffer.peek() != "":
        raise NotStreamable
