"""Call detail records as switches write them, read into `CallRecord`s (pure, no database).

Like `reconciliation/statements/`: parsers here know file layouts, nothing of accounts or
rates; the ingestion service (`rating.services`) decides who a call belongs to and rates it.
`cdr_file_read` reads one file (Asterisk cdr_csv and cdr_custom, FreeSWITCH mod_cdr_csv, a
generic CSV) into calls, rejected lines and counts; decision 0025 says how.
"""

from billtone.rating.cdrs.file import LAYOUTS, CdrCounts, CdrFile, RejectedLine, cdr_file_read
from billtone.rating.cdrs.records import CallRecord, Disposition

__all__ = [
    "LAYOUTS",
    "CallRecord",
    "CdrCounts",
    "CdrFile",
    "Disposition",
    "RejectedLine",
    "cdr_file_read",
]
