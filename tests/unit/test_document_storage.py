"""The documents' storage without an app: the type read from the content, the display name,
the atomic write under the digest."""

from __future__ import annotations

import hashlib

import pytest

from catalogue_svc.documents import storage
from tests.sample_files import HTML_PAGE, jpeg, pdf, png


@pytest.mark.parametrize(
    ("raw", "media_type", "shown"),
    [
        ("C:\\Users\\x\\..\\facture.PDF", storage.PDF, "facture.pdf"),
        ("../../etc/passwd", storage.PDF, "passwd.pdf"),
        ('<script>"x";</script>', storage.PDF, "script.pdf"),
        ("photo.jpeg", storage.JPEG, "photo.jpg"),
        ("page.html", storage.PNG, "page.html.png"),
        ("ligne\r\nsuivante\x00.pdf", storage.PDF, "ligne suivante.pdf"),
        ("   ...   ", storage.PDF, "document.pdf"),
        (None, storage.JPEG, "document.jpg"),
        ("é" * 300 + ".pdf", storage.PDF, "é" * 120 + ".pdf"),
    ],
)
def test_the_display_name_keeps_no_path_no_markup_and_the_true_extension(raw, media_type, shown):
    """The name shown: its last path part, reserved and control characters gone, at most 120
    characters, ending with the extension of the content's type."""
    assert storage.display_name(raw, media_type) == shown


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (pdf(), storage.PDF),
        (png(), storage.PNG),
        (jpeg(), storage.JPEG),
        (HTML_PAGE, None),
        (b"%PDF-1.7 but no end", None),
        (png()[:-12], None),
        (jpeg()[:-2], None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, None),
    ],
)
def test_the_type_is_the_one_both_ends_of_the_content_agree_on(content, expected):
    """A format's signature at the start and its end marker at the end, or no type."""
    assert storage.media_type_of(content) == expected


def test_a_file_is_written_once_under_its_digest_without_a_temporary_left(tmp_path):
    """The file is at ``<aa>/<digest>``, whole; storing it again keeps it; no ``.tmp-`` left."""
    content = pdf()
    digest = hashlib.sha256(content).hexdigest()
    path = storage.store(str(tmp_path), content, digest)
    assert path == tmp_path / digest[:2] / digest and path.read_bytes() == content
    assert storage.store(str(tmp_path), content, digest) == path
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    """A crash before the rename leaves neither the file nor its temporary."""

    def crash(*_args):
        raise OSError("disque plein")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(OSError):
        storage.store(str(tmp_path), b"x", hashlib.sha256(b"x").hexdigest())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
