"""Import of the legacy site's dossiers (format: docs/import-format.md).

Two passes, in bounded memory whatever the size of the file (issue 19, item 4).

**Validate**, streaming: the file is read a chunk at a time and one row at a time
(:mod:`.reader`); each row is checked against its marshmallow schema and, if valid, written to
a spool on disk (:mod:`.spool`), so that no section is held in memory. What later rows need is
all that stays in memory: the file's keys (refs, client numbers) and the maps of the cross-row
checks (duplicates, references), one entry a row with the row's own strings shared between them.
Then every cross-reference is checked against the file and the database, the spooled rows read
back once; every error is collected with its JSON path and, if there is one, nothing changes.

**Apply**, streaming: the spooled rows read back again and written :data:`.writer.BATCH` at a
time, with bulk statements and dict look-ups, every batch in the **one** transaction of the
import, committed at the end (or rolled back: a failure at the last batch leaves nothing of the
first ones). Staging tables swapped in at the end would do the same with more code and twice
the writes; one transaction keeps the whole-file promise as it always has. Rows are matched by
natural key, created or updated only when they differ, and each created/updated row gets a
``ProfileChange``. Re-importing the same file changes nothing. Imported rows are visible at
once: the migrated state is the portal's starting point.

What still grows with the import: the ids of the file's contacts (``Plan.contact_match``), the
maps of the checks while they run, and the :class:`.Snapshot` of what the database holds
before the import (it grows with the database, not the file).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ..db import db
from . import reader
from .apply import Applier
from .report import ImportIssue, ImportRejected, Progress, document_order
from .validation import Snapshot, Validator

__all__ = ["ImportIssue", "ImportRejected", "import_document", "import_file", "read_document"]

# Serialises concurrent imports on PostgreSQL (validation reads what the apply phase writes).
ADVISORY_LOCK_KEY = 72_360_001


def import_document(
    document: Any, *, progress: bool = False, source: str = "import", dry_run: bool = False
) -> dict[str, dict[str, int]]:
    """Validate ``document`` (a parsed dossiers file) whole, then apply it in one transaction.

    Returns ``{kind: {"created", "updated", "unchanged"}}``; raises :class:`ImportRejected`
    listing every error, having changed nothing.
    """

    def validate(validator: Validator) -> None:
        validator.parse(document)

    return _import(validate, progress=progress, source=source, dry_run=dry_run)


def _import(
    validate: Callable[[Validator], None], *, progress: bool, source: str, dry_run: bool = False
) -> dict[str, dict[str, int]]:
    """Lock, read the database, ``validate`` (which loads the rows into the validator), check
    the references, apply, commit; roll back on any error.

    ``dry_run`` applies and then rolls back: the counts are what the import would do, and
    nothing is written (nor any email queued: their outbox rows go with the transaction).
    """
    report = Progress(progress)
    collecting = gc.isenabled()
    # The import builds millions of dicts, lists and tuples that live until it ends, and no
    # cycle: each full collection of the cyclic GC walks all of them again (a third of the
    # row validation at 100,000 contacts, more at 1,000,000). Cycles made meanwhile are
    # collected when it is enabled again.
    gc.disable()
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        snapshot = Snapshot.load()
        validator = Validator(snapshot, report)
        try:
            validate(validator)
        except _Restart as restart:
            validator = Validator(snapshot, report)
            restart.validate(validator)
        plan = validator.check()
        if validator.errors:
            raise ImportRejected(sorted(validator.errors, key=document_order))
        # What only the checks needed (the file's keys) goes before the writes.
        del validator
        report.note("Fichier valide. Application…")
        counts = Applier(snapshot, plan, source, report).run()
        if dry_run:
            db.session.rollback()
            report.note("Essai à blanc : rien n'a été écrit.")
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if collecting:
            gc.enable()
    return counts


class _Restart(Exception):
    """Validate again, from scratch, with ``validate``."""

    def __init__(self, validate: Callable[[Validator], None]) -> None:
        super().__init__()
        self.validate = validate


def read_text(path: str | Path) -> str:
    """The text of a dossiers file; bad UTF-8 is an :class:`ImportRejected` naming the byte."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [
                ImportIssue(
                    "$",
                    f"Le fichier doit être encodé en UTF-8 (octet "
                    f"invalide à la position {exc.start}).",
                )
            ]
        ) from None


def parse_text(document: str) -> Any:
    """``json.loads``; bad JSON is an :class:`ImportRejected` naming line and column."""
    try:
        return json.loads(document)
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            [
                ImportIssue(
                    "$", f"JSON invalide : {exc.msg} (ligne {exc.lineno}, colonne {exc.colno})."
                )
            ]
        ) from None


def read_document(path: str | Path) -> Any:
    """Parse a dossiers file; bad JSON is an :class:`ImportRejected` naming line and column."""
    return parse_text(read_text(path))


def import_file(
    path: str | Path, progress: bool = False, *, source: str = "import", dry_run: bool = False
) -> dict[str, dict[str, int]]:
    """Import a dossiers file (docs/import-format.md); see :func:`import_document`.

    The file is read a chunk at a time and parsed one row at a time (:mod:`.reader`), each row
    validated before the next is parsed, so that neither the file's text nor its parsed sections
    sit in memory whole; a file the reader is not sure of is parsed whole by ``json.loads``
    instead, with the same result.
    """
    report = Progress(progress)
    report.note(f"Lecture de {path}…")

    def whole(validator: Validator) -> None:
        validator.parse(read_document(path))

    def streamed(validator: Validator) -> None:
        try:
            with reader.open_text(path) as stream:
                validator.parse_members(reader.sections(stream))
        except reader.NotStreamable:
            raise _Restart(whole) from None

    return _import(streamed, progress=progress, source=source, dry_run=dry_run)
