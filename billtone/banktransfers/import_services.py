"""Import a bank statement file: check the whole file, then match and credit it in batches.

The file is parsed once. The check pass reads it to the end with the statement parsers and
keeps the booked credits aside in a temporary file (marshal, a few microseconds an entry);
a malformed file raises StatementFormatError there, naming the file and the line or entry,
and nothing is written. The import pass then reads the credits back and imports them in
batches (`import_batch`), each one database transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import marshal
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from billtone.banktransfers.import_batch import Credit, ImportRun
from billtone.banktransfers.models import StatementImport
from billtone.banktransfers.statements import (
    FORMATS,
    CsvColumnMap,
    StatementFormatError,
    StatementSummary,
    statement_parse,
)
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor

BATCH_SIZE = 2000
_SPOOL_CHUNK = 1000

# progress(stage, done, total): stage "check" (total None: entries read so far), then
# "import" (credits imported of all credits in the file).
Progress = Callable[[str, int, int | None], None]


def statement_import(
    *,
    source: str | os.PathLike | BinaryIO,
    actor: Actor,
    name: str | None = None,
    format: str | None = None,  # noqa: A002 (the word of the command line)
    csv_columns: CsvColumnMap | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> StatementImport:
    """Import the statement file `source` (a path or a binary file); returns its summary.

    Raises StatementFormatError, and writes nothing, when the file cannot be read whole. A
    database error after some batches leaves those batches imported and the import marked
    failed; importing the file again completes it (what is stored is skipped).
    """
    if format is not None and format not in FORMATS:
        raise ValidationFailed({"format": [f"One of {', '.join(FORMATS)}."]})
    if not 1 <= batch_size <= 50_000:
        raise ValidationFailed({"batch_size": ["From 1 to 50,000 entries."]})
    display = name or _name_of(source)
    source, sha256 = _hashed(source, display)
    with _checked(
        source, name=display, format=format, csv_columns=csv_columns, progress=progress
    ) as checked:
        record = StatementImport.objects.create(
            file_name=display[:255],
            sha256=sha256,
            format=checked.format,
            account_iban=checked.account_iban[:34],
            statement_ids=checked.statement_ids[:255],
            imported_by_id=actor.user_id,
            imported_by_label=actor.label[:200],
            started_at=clock.now(),
            warnings=checked.problems,
            debits_ignored=checked.debits,
            not_booked_ignored=checked.not_booked,
        )
        run = ImportRun(record=record, actor=actor)
        done = 0

        def imported(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress("import", done, checked.credit_count)

        try:
            run.run(_batches(checked.credits(), batch_size), done=imported)
        except Exception as error:
            StatementImport.objects.filter(pk=record.pk).update(
                status=StatementImport.Status.FAILED,
                error=f"Stopped after {done} of {checked.credit_count} credits: {error}"[:2000],
                finished_at=clock.now(),
            )
            raise
    warnings = checked.problems
    if run.counts.fallback_duplicates:
        warnings.append(
            f"{run.counts.fallback_duplicates} credits without the bank's own reference were "
            "imported before and skipped. If an earlier statement ended in the middle of a "
            "booking day that had look-alike payments (same payer, amount and text), check "
            "that none is missing."
        )
    StatementImport.objects.filter(pk=record.pk).update(
        status=StatementImport.Status.DONE, finished_at=clock.now(), warnings=warnings
    )
    record.refresh_from_db()
    return record


def _batches(credits: Iterator[Credit], size: int) -> Iterator[list[Credit]]:
    batch: list[Credit] = []
    for credit in credits:
        batch.append(credit)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the file ------------------------------------------------------------------------------


def _name_of(source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.path.basename(os.fspath(source))
    return os.path.basename(str(getattr(source, "name", "") or "statement"))


def _hashed(source, name: str):
    """(a source that can be read twice, the SHA-256 of its bytes)."""
    digest = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as error:
            raise StatementFormatError(name, f"cannot open it ({error.strerror}).") from None
        return source, digest.hexdigest()
    seekable = False
    with contextlib.suppress(AttributeError, OSError):
        seekable = bool(source.seekable())
    if seekable:
        source.seek(0)
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
        source.seek(0)
        return source, digest.hexdigest()
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest()


@dataclass
class _Checked:
    format: str
    statements: tuple[StatementSummary, ...]
    spool: BinaryIO
    credit_count: int
    debits: int
    not_booked: int

    @property
    def problems(self) -> list[str]:
        return [f"{s.statement_id or s.position}: {p}" for s in self.statements for p in s.problems]

    @property
    def account_iban(self) -> str:
        first = self.statements[0] if self.statements else None
        return (first.account_iban or first.account_id) if first else ""

    @property
    def statement_ids(self) -> str:
        return ", ".join(dict.fromkeys(s.statement_id for s in self.statements if s.statement_id))

    def credits(self) -> Iterator[Credit]:
        self.spool.seek(0)
        while True:
            try:
                chunk = marshal.load(self.spool)  # noqa: S302 (our own temporary file)
            except EOFError:
                return
            for row in chunk:
                yield _credit(row)


@contextlib.contextmanager
def _checked(source, *, name, format, csv_columns, progress) -> Iterator[_Checked]:  # noqa: A002
    """Read the whole file (StatementFormatError on the first problem) and keep its booked
    credits aside; debits and entries not booked (pending, information, zero) are counted."""
    stream = statement_parse(source, name=name, format=format, csv_columns=csv_columns)
    with tempfile.TemporaryFile() as spool:
        chunk: list[tuple] = []
        credits = debits = not_booked = 0
        for read, e in enumerate(stream, start=1):
            if e.status != "BOOK" or e.amount <= 0:
                not_booked += 1
            elif not e.is_credit:
                debits += 1
            else:
                credits += 1
                chunk.append(
                    (
                        e.identity,
                        str(e.amount),
                        e.currency,
                        e.booking_date.toordinal(),
                        e.value_date.toordinal() if e.value_date else 0,
                        e.is_reversal,
                        e.payer_name,
                        e.payer_iban,
                        e.structured_reference,
                        e.free_text,
                        e.end_to_end_id,
                        e.bank_reference,
                        e.position,
                    )
                )
                if len(chunk) >= _SPOOL_CHUNK:
                    marshal.dump(chunk, spool)
                    chunk = []
                    if progress is not None:
                        progress("check", read, None)
        if chunk:
            marshal.dump(chunk, spool)
        yield _Checked(
            format=stream.format,
            statements=tuple(stream.statements),
            spool=spool,
            credit_count=credits,
            debits=debits,
            not_booked=not_booked,
        )


_from_ordinal = date.fromordinal


def _credit(row: tuple) -> Credit:
    (
        identity,
        amount,
        currency,
        booked,
        valued,
        reversal,
        name,
        iban,
        ref,
        text,
        e2e,
        bank,
        pos,
    ) = row
    return Credit(
        identity,
        Decimal(amount),
        currency,
        _from_ordinal(booked),
        _from_ordinal(valued) if valued else None,
        reversal,
        name,
        iban,
        ref,
        text,
        e2e,
        bank,
        pos,
    )


def csv_columns_parse(text: str) -> CsvColumnMap:
    """A CSV column map from JSON, e.g. {"booking_date": "Date", "amount": "Amount",
    "default_currency": "EUR", "free_text": ["Text 1", "Text 2"]} (see CsvColumnMap);
    ValidationFailed (field csv_columns) when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValidationFailed({"csv_columns": [f"Not valid JSON: {error}."]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"csv_columns": ["Give a JSON object: role -> column name."]})
    known = {f.name for f in dataclasses.fields(CsvColumnMap)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationFailed(
            {
                "csv_columns": [
                    f"Unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}."
                ]
            }
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return CsvColumnMap(**values)
    except (TypeError, ValueError) as error:
        raise ValidationFailed({"csv_columns": [str(error)]}) from None
