"""The billing app's writes: issue.py (a chunk's bills in one transaction), collect.py (an
open bill collected after commit), run.py (bill runs: chunks, counts)."""

from billtone.billing.services.collect import Collection, bill_collect
from billtone.billing.services.issue import ChunkIssued, bills_issue
from billtone.billing.services.run import (
    BillRunRunning,
    ChunkCounts,
    bill_chunk,
    bill_run,
    bill_run_start,
)

__all__ = [
    "BillRunRunning",
    "ChunkCounts",
    "ChunkIssued",
    "Collection",
    "bill_chunk",
    "bill_collect",
    "bill_run",
    "bill_run_start",
    "bills_issue",
]
