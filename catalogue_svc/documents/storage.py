"""The documents' files: content-addressed (SHA-256), written atomically, types decided from
the content.

Why each check: the name and the ``Content-Type`` a browser sends are the uploader's to choose,
so the type is read from the bytes. A file is accepted only when its start *and* its end are
those of its format, and when no HTML (or ZIP directory, the classic "GIFAR" polyglot) hides in
it: a page named ``facture.pdf``, or a PNG whose first bytes a browser could sniff as HTML, is
refused. What is accepted is still only ever served as an attachment with ``nosniff``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 5

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
_EXTENSION_ALIASES = {PDF: (".pdf",), PNG: (".png",), JPEG: (".jpg", ".jpeg")}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What makes a browser (or a careless viewer) treat bytes as a page, anywhere near the start.
_HTML = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|svg|meta|object|embed)\b", re.I)
_ZIP_DIRECTORY = b"PK\x05\x06"


class Refused(ValueError):
    """The file is not accepted; the message says why, in French, for the person."""


@dataclass(frozen=True)
class Checked:
    """A file that passed: its type, digest and size."""

    media_type: str
    sha256: str
    size: int


def media_type_of(content: bytes) -> str | None:
    """PDF, PNG or JPEG when both ends of ``content`` are those of the format, else None."""
    tail = content[-1024:]
    if content.startswith(b"%PDF-") and b"%%EOF" in tail:
        return PDF
    if (
        content.startswith(_PNG_SIGNATURE)
        and content[12:16] == b"IHDR"
        and content.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    ):
        return PNG
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00\r\n").endswith(b"\xff\xd9"):
        return JPEG
    return None


def check(content: bytes) -> Checked:
    """The file's type and digest; :class:`Refused` when it is empty, too large, of another
    type, or a polyglot."""
    if not content:
        raise Refused("Le fichier est vide.")
    if len(content) > MAX_BYTES:
        raise Refused("Le fichier dépasse la taille permise de 10 Mo.")
    media_type = media_type_of(content)
    if media_type is None:
        raise Refused(
            "Le contenu du fichier n'est pas celui d'un document PDF, PNG ou JPEG "
            "(le type est lu dans le fichier, pas dans son nom)."
        )
    if _HTML.search(content[:4096]) or _ZIP_DIRECTORY in content:
        raise Refused(
            "Le fichier contient aussi une page Web ou une archive : il n'est pas accepté."
        )
    return Checked(media_type, hashlib.sha256(content).hexdigest(), len(content))


def display_name(raw: str | None, media_type: str) -> str:
    """The name shown and offered on download: no path, no control or reserved character, at
    most 120 characters, ending with the extension of the type read from the content."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if unicodedata.category(c).startswith(("C", "Z")) else c
        for c in name
        if c not in '<>:"|?*;'
    )
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in _EXTENSION_ALIASES[media_type]:
        name = stem.strip(" .")
    name = (name or "document")[:120].rstrip(" .") or "document"
    return name + EXTENSIONS[media_type]


def path_of(directory: str, sha256: str) -> Path:
    """Where the content of digest ``sha256`` lives (two levels, 256 folders)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256 digest")
    return Path(directory) / sha256[:2] / sha256


def store(directory: str, content: bytes, sha256: str) -> Path:
    """Write ``content`` under its digest: a temporary file in the same folder, flushed to
    disk, then renamed (``os.replace`` is atomic), so a reader never sees half a file and a
    crash leaves at most a temporary file. A digest already stored is not rewritten."""
    target = path_of(directory, sha256)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
