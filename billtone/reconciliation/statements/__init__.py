"""Bank statement parsers: camt.053, MT940 and CSV, streamed, without a database.

Parsing is lazy, so a malformed entry deep in a file surfaces only when the stream reaches
it. An importer that must change nothing on a bad file has three ways:

- one pass inside one database transaction, rolled back on StatementFormatError: what the
  statement import does (reconciliation/services/imports.py, decision 0005);
- two passes, for any size: `statement_check(f)` reads the whole file and keeps only the
  per-statement summaries (counts, sums, balance checks), raising StatementFormatError on
  the first problem; then `for entry in statement_parse(f): ...` imports it.
- one pass in memory, for small files: `statement_read(f).entries`.

Every entry carries `identity`, the de-duplication key (see identity.py).
"""

from billtone.reconciliation.statements.csv_file import CsvColumnMap
from billtone.reconciliation.statements.entries import (
    StatementEntry,
    StatementFormatError,
    StatementSummary,
)
from billtone.reconciliation.statements.identity import EntryIdentities, entry_identity
from billtone.reconciliation.statements.reader import (
    CAMT053,
    CSV,
    FORMATS,
    MT940,
    StatementFile,
    StatementStream,
    statement_check,
    statement_detect,
    statement_parse,
    statement_read,
)

__all__ = [
    "CAMT053",
    "CSV",
    "FORMATS",
    "MT940",
    "CsvColumnMap",
    "EntryIdentities",
    "StatementEntry",
    "StatementFile",
    "StatementFormatError",
    "StatementStream",
    "StatementSummary",
    "entry_identity",
    "statement_check",
    "statement_detect",
    "statement_parse",
    "statement_read",
]
