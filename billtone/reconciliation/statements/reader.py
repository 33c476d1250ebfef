"""One way in for every format: detect it, stream the entries, or read and check it all first."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from billtone.reconciliation.statements.camt053 import read_camt053
from billtone.reconciliation.statements.csv_file import CsvColumnMap, read_csv
from billtone.reconciliation.statements.entries import (
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    bom_encoding,
)
from billtone.reconciliation.statements.identity import EntryIdentities
from billtone.reconciliation.statements.mt940_file import read_mt940

CAMT053 = "camt053"
MT940 = "mt940"
CSV = "csv"
FORMATS = (CAMT053, MT940, CSV)

_HEAD_BYTES = 8192
_MT940_RE = re.compile(r"(?m)^(?:\{1:|:940:|:20:)")
_XML_WITHOUT_BOM = (b"<\x00\x00\x00", b"\x00\x00\x00<", b"<\x00", b"\x00<")  # UTF-32, UTF-16

Source = str | os.PathLike | BinaryIO


def statement_detect(head: bytes) -> str:
    """The format of a file from its first bytes: XML is camt.053, :20: tags MT940, else CSV.

    Any XML counts as camt.053 here, so that the camt reader can say precisely what else it
    is (another root, another namespace such as camt.052). A byte-order mark says how the
    text is encoded (UTF-8, UTF-16, UTF-32); XML in UTF-16 or UTF-32 without one is told by
    its first "<".
    """
    if head.startswith(_XML_WITHOUT_BOM):
        return CAMT053
    text = head.decode(bom_encoding(head) or "latin-1", errors="ignore").lstrip()
    if text.startswith("<"):
        return CAMT053
    if _MT940_RE.search(text):
        return MT940
    return CSV


class StatementStream:
    """The entries of one statement file, yielded lazily, with identities assigned.

    Iterating reads the file from the start each time (a path is opened, a file object
    rewound, a pipe first copied aside), so a caller can check a file in a first pass and
    import it in a second. An
    error surfaces as StatementFormatError where the parser meets it, which may be after
    some entries were yielded: hence `statement_check` / `statement_read`.
    `statements` fills with a StatementSummary as each statement in the file ends.
    """

    def __init__(
        self,
        source: Source,
        *,
        name: str | None = None,
        format: str | None = None,  # noqa: A002 (the word the callers use)
        csv_columns: CsvColumnMap | None = None,
        encoding: str | None = None,
    ) -> None:
        self.name = name or _name_of(source)
        self.source = source if _rereadable(source) else _spooled(source)
        self.csv_columns = csv_columns
        self.encoding = encoding
        self.statements: list[StatementSummary] = []
        if format is None:
            with self._open() as stream:
                head = stream.read(_HEAD_BYTES)
            if not head.strip():
                raise StatementFormatError(self.name, "the file is empty.")
            format = statement_detect(head)
        if format not in FORMATS:
            raise ValueError(f"Unknown statement format {format!r}; one of {', '.join(FORMATS)}.")
        if format == CSV and csv_columns is None:
            raise StatementFormatError(
                self.name,
                "this looks like a CSV file (no camt.053 XML, no MT940 :20: tag); "
                "reading it needs a column map.",
            )
        self.format = format

    def __iter__(self) -> Iterator[StatementEntry]:
        self.statements = []
        identities = EntryIdentities()
        with self._open() as stream:
            for entry in self._parse(stream):
                entry.identity = identities(entry)
                yield entry

    def _parse(self, stream: BinaryIO) -> Iterator[StatementEntry]:
        on_statement = self.statements.append
        if self.format == CAMT053:
            return read_camt053(stream, self.name, on_statement)
        if self.format == MT940:
            return read_mt940(stream, self.name, on_statement, encoding=self.encoding)
        assert self.csv_columns is not None
        return read_csv(stream, self.name, on_statement, columns=self.csv_columns)

    def _open(self) -> _Opened:
        return _Opened(self.source, self.name)


class _Opened:
    """A path opened (and closed) here, or the caller's file object rewound (and left open)."""

    def __init__(self, source: Source, name: str) -> None:
        self.source = source
        self.name = name
        self.stream: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if isinstance(self.source, str | os.PathLike):
            try:
                self.stream = open(self.source, "rb")  # noqa: SIM115 (closed in __exit__)
            except OSError as exc:
                raise StatementFormatError(self.name, f"cannot open it ({exc.strerror}).") from None
            return self.stream
        self.source.seek(0)
        return self.source

    def __exit__(self, *exc_info: object) -> None:
        if self.stream is not None:
            self.stream.close()


def _rereadable(source: Source) -> bool:
    if isinstance(source, str | os.PathLike):
        return True
    try:
        return bool(source.seekable())
    except (AttributeError, OSError):
        return False


def _spooled(source: BinaryIO) -> BinaryIO:
    """A stream that cannot rewind (a pipe, a socket) copied to where it can: memory, then
    a temporary file past 16 MiB."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    shutil.copyfileobj(source, spool)
    spool.seek(0)
    return spool


def _name_of(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "statement")).name


@dataclass(frozen=True, slots=True)
class StatementFile:
    """A statement file read to the end without error."""

    name: str
    format: str
    statements: tuple[StatementSummary, ...]
    entries: tuple[StatementEntry, ...] = ()  # empty from statement_check

    @property
    def problems(self) -> tuple[str, ...]:
        """Warnings that do not stop an import: balances, control sums, unsplittable batches."""
        return tuple(
            f"{s.statement_id or s.position}: {p}" for s in self.statements for p in s.problems
        )

    @property
    def credits(self) -> tuple[StatementEntry, ...]:
        return tuple(e for e in self.entries if e.is_credit)

    @property
    def debits(self) -> tuple[StatementEntry, ...]:
        return tuple(e for e in self.entries if not e.is_credit)


def statement_parse(
    source: Source,
    *,
    name: str | None = None,
    format: str | None = None,  # noqa: A002
    csv_columns: CsvColumnMap | None = None,
    encoding: str | None = None,
) -> StatementStream:
    """Stream the entries of a statement file (see StatementStream for when errors come)."""
    return StatementStream(
        source, name=name, format=format, csv_columns=csv_columns, encoding=encoding
    )


def statement_check(source: Source, **options) -> StatementFile:
    """Read the whole file and keep only its summaries (the first pass of a two-pass import).

    Raises StatementFormatError before anything is written when the file is malformed
    anywhere; memory stays flat however large the file. Then import with statement_parse.
    """
    stream = statement_parse(source, **options)
    for _ in stream:
        pass
    return StatementFile(stream.name, stream.format, tuple(stream.statements))


def statement_read(source: Source, **options) -> StatementFile:
    """The whole file parsed into memory (validate and import in one go, for small files)."""
    stream = statement_parse(source, **options)
    entries = tuple(stream)
    return StatementFile(stream.name, stream.format, tuple(stream.statements), entries)
