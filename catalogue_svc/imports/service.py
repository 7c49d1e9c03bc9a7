"""Import of the legacy site's dossiers (format: docs/import-format.md).

Two phases. **Validate** the whole file: each row against its marshmallow schema, then every
cross-reference against the file and the database; every error is collected with its JSON path
and, if there is one, nothing changes. **Apply** in one transaction, with bulk statements and dict
look-ups (no per-row query): rows are matched by natural key, created or updated only when they
differ, and each created/updated row gets a ``ProfileChange``. Re-importing the same file changes
nothing. Imported rows are visible at once: the migrated state is the portal's starting point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from ..db import db
from .apply import Applier
from .report import ImportIssue, ImportRejected, Progress, document_order
from .validation import Snapshot, Validator

__all__ = ["ImportIssue", "ImportRejected", "import_document", "import_file", "read_document"]

# Serialises concurrent imports on PostgreSQL (validation reads what the apply phase writes).
ADVISORY_LOCK_KEY = 72_360_001


def import_document(
    document: Any, *, progress: bool = False, source: str = "import"
) -> dict[str, dict[str, int]]:
    """Validate ``document`` (a parsed dossiers file) whole, then apply it in one transaction.

    Returns ``{kind: {"created", "updated", "unchanged"}}``; raises :class:`ImportRejected`
    listing every error, having changed nothing.
    """
    report = Progress(progress)
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        snapshot = Snapshot.load()
        validator = Validator(snapshot, report)
        validator.parse(document)
        # The rows are loaded: the parsed file (the caller's temporary, for import_file) can go
        # before the apply phase, which needs as much memory again on a large file.
        del document
        plan = validator.check()
        if validator.errors:
            raise ImportRejected(sorted(validator.errors, key=document_order))
        report.note("Fichier valide. Application…")
        counts = Applier(snapshot, plan, source, report).run()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return counts


def read_document(path: str | Path) -> Any:
    """Parse a dossiers file; bad JSON is an :class:`ImportRejected` naming line and column."""
    raw = Path(path).read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig"))
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
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            [
                ImportIssue(
                    "$", f"JSON invalide : {exc.msg} (ligne {exc.lineno}, colonne {exc.colno})."
                )
            ]
        ) from None


def import_file(
    path: str | Path, progress: bool = False, *, source: str = "import"
) -> dict[str, dict[str, int]]:
    """Import a dossiers file (docs/import-format.md); see :func:`import_document`."""
    report = Progress(progress)
    report.note(f"Lecture de {path}…")
    return import_document(read_document(path), progress=progress, source=source)
