"""Regenerate the single initial migration from the models (only while nothing is deployed).

Usage: .venv/bin/python scripts/regenerate-initial-migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from catalogue_svc import create_app
from catalogue_svc.migrate import MIGRATIONS, revision

versions = MIGRATIONS / "versions"
for old in versions.glob("*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as folder:
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{Path(folder) / 'empty.sqlite3'}",
            "CATALOGUE_QUEUE_MODE": "manual",
            "CATALOGUE_INSTANCE_PATH": folder,
        }
    )
    revision(app, "initial schema")
print(sorted(p.name for p in versions.glob("*.py")))
