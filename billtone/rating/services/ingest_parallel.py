"""CDR ingestion in several processes at once (`billtone import-cdrs --processes N`).

A file's records are split by account (`records_split`): all of an account's calls go to one
process, in the file's order, so its phone users' included minutes and its call credit are
used in the order one process would use them. The processes are forked, each with its own
database connection, and call `cdrs_ingest` batch after batch: batches for different
accounts do not wait for each other (the ledger locks are per account), and every guarantee
of `cdrs_ingest` holds as between any concurrent senders (a call id charged once, included
minutes counted under the account's lock). The records were read, and a call's legs merged,
before the split: a call is one record, in one process.

On a database other than PostgreSQL (SQLite: one writer at a time) the records are ingested
here, in this process.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import zlib
from collections.abc import Callable, Sequence

from django.db import connection, connections

from billtone.core.services import Actor
from billtone.rating.cdrs.records import CallRecord
from billtone.rating.services.cdr_decide import account_id_of
from billtone.rating.services.ingest import IngestSummary, cdrs_ingest

BATCH = 5_000  # records per cdrs_ingest call: one database transaction each


def records_split(records: Sequence[CallRecord], parts: int) -> list[list[CallRecord]]:
    """`records` in `parts` lists, each account's (by its accountcode) in one, in order."""
    split: list[list[CallRecord]] = [[] for _ in range(max(parts, 1))]
    for record in records:
        code = record.account_code if isinstance(record.account_code, str) else ""
        number = account_id_of(code)
        key = str(number) if number is not None else code.strip()
        split[zlib.crc32(key.encode()) % len(split)].append(record)
    return split


def cdrs_ingest_parallel(
    *,
    records: Sequence[CallRecord],
    source: str,
    actor: Actor,
    processes: int,
    progress: Callable[[int], None] | None = None,
) -> list[IngestSummary]:
    """Ingest `records` in batches in up to `processes` processes at once; each batch's
    summary. `progress(n)` is told of each batch done (n records). Call it outside a database
    transaction: the processes must see what is committed."""
    parts = [part for part in records_split(records, processes) if part]
    if len(parts) <= 1 or connection.vendor != "postgresql":
        return [_batch(chunk, source, actor, progress) for chunk in _chunks(records)]
    if connection.in_atomic_block:
        raise RuntimeError("Ingest in several processes outside a database transaction.")
    connections.close_all()  # a forked process must not share this one's connections
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_work, args=(part, source, actor, results), daemon=True)
        for part in parts
    ]
    for worker in workers:
        worker.start()
    summaries, errors = _collect(workers, results, progress)
    for worker in workers:
        worker.join()
    if errors:
        raise RuntimeError("CDR ingestion failed in a process: " + "; ".join(errors))
    return summaries


def _chunks(records: Sequence[CallRecord]) -> list[Sequence[CallRecord]]:
    return [records[n : n + BATCH] for n in range(0, len(records), BATCH)]


def _batch(chunk, source, actor, progress) -> IngestSummary:
    summary = cdrs_ingest(records=chunk, source=source, actor=actor)
    if progress is not None:
        progress(len(chunk))
    return summary


def _work(part: list[CallRecord], source: str, actor: Actor, results) -> None:
    try:
        for chunk in _chunks(part):
            results.put(
                ("batch", cdrs_ingest(records=chunk, source=source, actor=actor), len(chunk))
            )
        results.put(("done", None, 0))
    except Exception as error:  # told to the parent, which fails the import
        results.put(("error", f"{type(error).__name__}: {error}", 0))
    finally:
        connections.close_all()


def _collect(workers, results, progress) -> tuple[list[IngestSummary], list[str]]:
    """The batches' summaries as the processes send them, until each is done or gone."""
    summaries: list[IngestSummary] = []
    errors: list[str] = []
    finished = 0
    while finished < len(workers):
        try:
            kind, value, count = results.get(timeout=1)
        except queues.Empty:
            gone = [w for w in workers if w.exitcode not in (None, 0)]
            if gone and results.empty():
                errors += [f"a process ended with exit code {w.exitcode}" for w in gone]
                break
            continue
        if kind == "batch":
            summaries.append(value)
            if progress is not None:
                progress(count)
        else:
            finished += 1
            if kind == "error":
                errors.append(value)
    return summaries, errors
