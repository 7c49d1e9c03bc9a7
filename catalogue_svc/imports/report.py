"""What the operator sees of an import: the errors of a rejected file, and progress."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from forms.messages import translate

from .schemas import SECTIONS

T = TypeVar("T")


@dataclass(frozen=True)
class ImportIssue:
    """One problem of a rejected file: where (a JSON path such as ``$.contacts[3].birth_date``)
    and what (in French)."""

    path: str
    message: str


class ImportRejected(Exception):
    """The file has errors; nothing was changed. ``errors`` lists every one of them."""

    def __init__(self, errors: Sequence[ImportIssue]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} erreur(s) dans le fichier d'import")


class Progress:
    """Progress on stderr: a bar on a terminal, a line every 10 % otherwise (logs)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def note(self, message: str) -> None:
        """One line about what happens now."""
        if self.enabled:
            click.echo(message, err=True)

    def track(self, label: str, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, showing how far the loop is (a count when their number is unknown:
        rows read from the file as they come)."""
        if not isinstance(items, Sized):
            for done, item in enumerate(items, 1):
                yield item
                if self.enabled and done % 100_000 == 0:
                    click.echo(f"{label} : {done}", err=True)
            return
        if not self.enabled or len(items) < 1000:  # small files: nothing worth watching
            yield from items
            return
        if sys.stderr.isatty():
            with click.progressbar(items, label=label, file=sys.stderr) as bar:
                yield from bar
            return
        step = max(1000, len(items) // 10)
        for done, item in enumerate(items, 1):
            yield item
            if done % step == 0 or done == len(items):
                click.echo(f"{label} : {done}/{len(items)}", err=True)


def json_path(path: str, key: str | int) -> str:
    """``path`` followed by ``key``: ``$.contacts`` + 3 → ``$.contacts[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def marshmallow_issues(path: str, messages: Any) -> Iterator[ImportIssue]:
    """Turn marshmallow's nested error dict into issues with JSON paths."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from marshmallow_issues(path if key == "_schema" else json_path(path, key), value)
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from marshmallow_issues(path, item)
    else:
        yield ImportIssue(path, translate(str(messages)))


_SECTION_RANK = {name: rank for rank, name in enumerate(SECTIONS)}


def document_order(issue: ImportIssue) -> tuple[tuple[int, int | str], ...]:
    """Document order: sections as in the format, rows by index, then field names."""
    key: list[tuple[int, int | str]] = []
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", issue.path):
        if index:
            key.append((1, int(index)))
        elif not key and name in _SECTION_RANK:
            key.append((0, _SECTION_RANK[name]))
        else:
            key.append((2, name))
    return tuple(key)
