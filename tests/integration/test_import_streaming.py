"""The dossier import reads its file a chunk at a time, one row at a time (issue 19, item 4)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.imports import reader, validation
from catalogue_svc.imports.service import ImportRejected, import_file
from catalogue_svc.profiles.models import Contact, Organisation

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"


def example() -> dict[str, Any]:
    """A fresh copy of the documented example (the guide's demo firm)."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


class CountingText(io.StringIO):
    """A text file that counts what has been read of it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.size = len(text)
        self.chars_read = 0
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> str:
        chunk = super().read(size)
        self.chars_read += len(chunk)
        self.reads.append(len(chunk))
        return chunk


def test_import_file_validates_rows_before_the_file_is_read_whole(app, tmp_path, monkeypatch):
    """import_file reads the file in chunks: the contacts are validated before its end is read."""
    path = tmp_path / "dossiers.json"
    path.write_text(json.dumps(example(), indent=2), encoding="utf-8")
    monkeypatch.setattr(reader, "CHUNK", 64)
    opened: list[CountingText] = []

    def open_text(name: str | Path) -> CountingText:
        opened.append(CountingText(Path(name).read_text(encoding="utf-8")))
        return opened[-1]

    read_when_validated: dict[str, int] = {}
    original_parse = validation.Validator._parse_section

    def parse_section(self: Any, section: str, items: Any) -> None:
        read_when_validated[section] = opened[-1].chars_read
        return original_parse(self, section, items)

    monkeypatch.setattr(reader, "open_text", open_text)
    monkeypatch.setattr(validation.Validator, "_parse_section", parse_section)
    counts = import_file(path)
    [stream] = opened
    assert counts["contacts"]["created"] == len(example()["contacts"])
    assert read_when_validated["contacts"] < stream.size
    assert max(stream.reads) < stream.size  # never the whole file at once
    assert stream.chars_read == stream.size


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    "text",
    [
        ' \n{ "version" : 1 ,\t"contacts":[ ] }\r\n',
        '{"organisations": [12345, 1.5e10, -0.25, true, false, null, "é\\u00e9\\"x"]}',
        '{"organisations": [{"a": [1, 2.5, null, true]}, {"b": {"c": "d"}}], "version": 1}',
        '{"description": "long' + "x" * 300 + '", "grants": [[], {}, [[]]]}',
    ],
)
def test_rows_read_from_a_file_are_the_rows_json_loads_reads(text, chunk, monkeypatch):
    """Rows cut anywhere by the chunks (numbers, words, strings) are read as json.loads does."""
    monkeypatch.setattr(reader, "CHUNK", chunk)
    read = {
        key: list(value) if isinstance(value, reader.Items) else value
        for key, value in reader.sections(io.StringIO(text))
    }
    assert read == json.loads(text)


def test_the_documented_example_read_from_its_file_is_the_parsed_example():
    """The example read a chunk at a time gives each section's rows as json.loads does."""
    with reader.open_text(EXAMPLE) as stream:
        read = {
            key: list(value) if isinstance(value, reader.Items) else value
            for key, value in reader.sections(stream)
        }
    assert read == example()


def test_the_rows_of_a_streamed_section_cannot_be_read_twice():
    """A streamed section is never materialised: its rows can be iterated once only."""
    members = reader.sections(io.StringIO('{"contacts": [{"ref": "a"}, {"ref": "b"}]}'))
    key, items = next(members)
    assert key == "contacts" and list(items) == [{"ref": "a"}, {"ref": "b"}]
    with pytest.raises(RuntimeError):
        list(items)


def test_a_section_left_unread_is_skipped_before_the_next(monkeypatch):
    """A section its reader does not iterate is skipped: the next member still comes whole."""
    monkeypatch.setattr(reader, "CHUNK", 5)
    text = '{"contacts": [{"ref": "a"}, [1, 2]], "version": 1, "grants": []}'
    members = [(key, value) for key, value in reader.sections(io.StringIO(text))]
    assert [key for key, _ in members] == ["contacts", "version", "grants"]
    assert members[1][1] == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"contacts": [}',
        '{"contacts": [1 2]}',
        '{"contacts": [], "contacts": [{}]}',
        '{"contacts": []} extra',
        '{"contacts": [{"ref": "a"}',
        "[1, 2]",
        "",
    ],
)
def test_a_file_the_reader_is_not_sure_of_is_left_to_json_loads(text):
    """A syntax error or a key given twice, even mid-section: the reader gives up on the file."""
    with pytest.raises(reader.NotStreamable):
        for _, value in reader.sections(io.StringIO(text)):
            if isinstance(value, reader.Items):
                list(value)


def test_an_invalid_last_row_of_a_streamed_file_commits_nothing(app, tmp_path, monkeypatch):
    """A bad last contact, read a chunk at a time: reported with its path, nothing written."""
    monkeypatch.setattr(reader, "CHUNK", 64)
    document = example()
    last = len(document["contacts"]) - 1
    document["contacts"][last]["birth_date"] = "pas une date"
    path = tmp_path / "dossiers.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_file(path)
    assert [error.path for error in rejected.value.errors] == [f"$.contacts[{last}].birth_date"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_bad_utf8_in_a_streamed_file_names_its_byte(app, tmp_path):
    """Bad UTF-8 far into the file is reported at $ with its byte position, as before."""
    body = json.dumps(example()).encode("utf-8")
    cut = body.rindex(b'"')
    path = tmp_path / "dossiers.json"
    path.write_bytes(body[:cut] + b"\xff" + body[cut:])
    with pytest.raises(ImportRejected) as rejected:
        import_file(path)
    [error] = rejected.value.errors
    assert error.path == "$" and str(cut) in error.message
