"""The validated rows of an import, kept on disk between the two passes (:class:`RowSpool`).

Why: validation must see the whole file before anything is written (every error reported,
nothing changed when there is one), and the rows it validated used to wait in memory for the
writes: a dict a row, 6 GB at 1,000,000 contacts. A spool writes each validated :class:`.Row`
to an anonymous temporary file (``pickle``, 1,000 rows a record) as it is validated, and gives
them back in the same order, a record at a time, each time it is iterated: once for the
cross-row checks, once for the writes. Only a record (1,000 rows) is in memory at a time, and
re-reading the pickles costs a tenth of validating the rows again from the file's JSON.

The file is removed by the system when the spool is closed or collected (``TemporaryFile``), or
when the process ends, whatever happens to the import.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO

from .snapshot import Row

RECORD = 1000  # rows pickled together


class RowSpool:
    """A list of :class:`.Row` that lives on disk: ``append``, ``len``, iterate (in order, as
    often as needed; rows appended while iterating are not seen by that iteration)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._pending: list[tuple[object, ...]] = []
        self._records: list[int] = []  # offset of each record written
        self._count = 0

    def append(self, row: Row) -> None:
        self._pending.append((row.path, row.data, row.extra or None))
        self._count += 1
        if len(self._pending) >= RECORD:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="catalogue-import-")  # noqa: SIM115 - closed by close()
        self._file.seek(0, 2)
        self._records.append(self._file.tell())
        pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending = []

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Row]:
        self._flush()
        records = list(self._records)
        for offset in records:
            assert self._file is not None
            self._file.seek(offset)
            batch = pickle.load(self._file)  # noqa: S301 - our own file, written above
            for path, data, extra in batch:
                yield Row(path, data, extra or {})
            del batch

    def close(self) -> None:
        """Remove the file (the spool is empty afterwards)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending, self._records, self._count = [], [], 0
