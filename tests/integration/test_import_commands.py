"""import-dossiers --dry-run and --report, and reindex-duplicates' progress, from the CLI."""

from __future__ import annotations

import json

from tests.integration.test_import import (
    EXAMPLE,
    _bad_kind,
    _impossible_birth_date,
    example,
    table_counts,
)


def test_dry_run_validates_counts_and_writes_nothing(app, tmp_path):
    """--dry-run says what the import would create and leaves every table as it was."""
    before = table_counts()
    report = tmp_path / "essai.json"

    result = app.test_cli_runner().invoke(
        args=["import-dossiers", "--quiet", "--dry-run", "--report", str(report), str(EXAMPLE)]
    )

    assert result.exit_code == 0, result.output
    assert "Essai à blanc : fichier valide, rien n'a été écrit." in result.stdout
    assert table_counts() == before
    dry = json.loads(report.read_text(encoding="utf-8"))
    assert dry["valid"] and dry["dry_run"] and dry["errors"] == []
    real = app.test_cli_runner().invoke(
        args=["import-dossiers", "--quiet", "--report", str(report), str(EXAMPLE)]
    )
    assert real.exit_code == 0, real.output
    assert json.loads(report.read_text(encoding="utf-8"))["counts"] == dry["counts"]
    assert dry["counts"]["contacts"]["created"] > 0


def test_report_lists_every_error_with_its_json_path(app, tmp_path):
    """A refused file's --report holds each error's JSON path and French message."""
    document = example()
    paths = [_bad_kind(document), _impossible_birth_date(document)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    report = tmp_path / "rapport.json"

    result = app.test_cli_runner().invoke(
        args=["import-dossiers", "--quiet", "--report", str(report), str(bad)]
    )

    written = json.loads(report.read_text(encoding="utf-8"))
    assert result.exit_code == 1
    assert written["valid"] is False
    assert [e["path"] for e in written["errors"]] == paths
    assert all(e["message"] and "Not a" not in e["message"] for e in written["errors"])


def test_reindex_shows_progress_every_tenth_then_the_total(app, tmp_path):
    """reindex-duplicates reports its progress on stderr a tenth at a time, ending at N/N."""
    document = example()
    for n in range(60):
        document["contacts"].append(
            {"ref": f"TEST-{n}", "first_name": "Jeanne", "last_name": f"Essai{n}", "language": "fr"}
        )
    path = tmp_path / "nombreux.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    imported = app.test_cli_runner().invoke(args=["import-dossiers", "--quiet", str(path)])
    assert imported.exit_code == 0, imported.output
    with app.app_context():
        contacts = table_counts()["contacts"]

    result = app.test_cli_runner().invoke(args=["reindex-duplicates", "--batch", "1"])

    lines = [line for line in result.stderr.splitlines() if line]
    done = [int(line.rsplit(" : ", 1)[1].split("/")[0]) for line in lines]
    assert result.exit_code == 0, result.output
    assert contacts > 60 and len(lines) <= 11
    assert done == sorted(set(done)) and done[-1] == contacts
    assert lines[-1] == f"Clés de détection des doublons : {contacts}/{contacts} contacts"
    assert f"recalculées pour {contacts} contact(s)" in result.stdout
