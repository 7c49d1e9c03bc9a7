"""Duplicate detection for new contacts, one module per job.

Pure (no Flask, no database; an import contract keeps them so): :mod:`.normalise` (the forms
under which two spellings compare equal), :mod:`.blocking` (the keys a check looks up) and
:mod:`.matching` (the person compared, the scores and their reasons). Against the store:
:mod:`.people` (a person from a form's dict or from the store), :mod:`.keys` (the key table and
its upkeep), :mod:`.service` (the check), :mod:`.members` (same-name members of the firm) and
:mod:`.cli` (``flask reindex-duplicates``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Install the store-backed finder, the key upkeep on flush and ``reindex-duplicates``."""
    from . import keys, service
    from .cli import reindex_duplicates_command

    service.install(app)
    keys.listen()
    app.cli.add_command(reindex_duplicates_command)
