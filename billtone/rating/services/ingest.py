"""CDR ingestion and re-rating (issue 19): every record kept, each call charged once.

Idempotency is the unique `Cdr.call_id`. Records whose id is stored already are duplicates.
The rest are decided, priced and debited, and inserted with ON CONFLICT DO NOTHING
(cdr_store.py) in one database transaction (cdr_charge.py locks the accounts' ledger rows
first). On PostgreSQL an insert that meets another transaction's uncommitted row with the
same id waits for it; when that one commits, our row is skipped: then fewer rows are ours
than we priced, so the whole transaction (its debits too) is rolled back and the batch taken
again, finding those ids stored. Hence the same batch sent twice at once charges once.
"""

from __future__ import annotations

import contextlib
import gc
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db import transaction

from billtone.core import clock
from billtone.core.errors import Conflict, ValidationFailed
from billtone.core.services import Actor, audit_record
from billtone.rating import hooks
from billtone.rating.cdr_models import Cdr, CdrBatch, CdrReason, CdrStatus
from billtone.rating.cdrs.records import CallRecord, Disposition
from billtone.rating.services.authorize import holds_release
from billtone.rating.services.cdr_charge import calls_charge
from billtone.rating.services.cdr_decide import Context, malformed
from billtone.rating.services.cdr_store import CdrRow, cdrs_insert, rows_by_call_id

ATTEMPTS = 3
RERATE_LIMIT = 10_000


@dataclass(frozen=True)
class IngestSummary:
    batch_id: int
    records_read: int
    answered: int
    rated: int
    not_rated: int
    rejected: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


class _Raced(Exception):
    """Another transaction stored some of these call ids first."""


def cdrs_ingest(*, records: Sequence[CallRecord], source: str, actor: Actor) -> IngestSummary:
    """Store, rate and debit `records`; the ones whose call id is stored already are skipped.

    Rejected records (unknown account or user, no rate, malformed) are stored for the
    operator to fix and re-rate (`cdr_rerate`); calls not answered, to destinations that are
    not phone numbers, or to emergency numbers are stored as not rated.
    """
    records = list(records)
    unique: dict[str, CallRecord] = {}
    nameless: list[CallRecord] = []
    for record in records:
        if malformed(record):
            # Kept under an id of its own: the corrected record, sent again, is not a duplicate.
            nameless.append(record)
        else:
            unique.setdefault(record.call_id, record)
    in_batch = len(records) - len(unique) - len(nameless)
    for _ in range(ATTEMPTS):
        try:
            with _cyclic_gc_paused():
                return _ingest(
                    unique=unique,
                    nameless=nameless,
                    read=len(records),
                    duplicates=in_batch,
                    source=source,
                    actor=actor,
                )
        except _Raced:
            continue
    raise Conflict(  # pragma: no cover - three races in a row
        "These CDRs are being stored by another request; send them again.", slug="cdrs-busy"
    )


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one batch (reference counting still frees
    what the batch drops): its full collections walked the whole process's objects a few
    times a batch, ~20 % of a CDR's Python CPU (docs/benchmarks.md, "CDR ingestion"). Turned
    on again only by the call that turned it off (another thread's batch may be running)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _ingest(*, unique, nameless, read, duplicates, source, actor) -> IngestSummary:
    stored = {call_id for (call_id,) in rows_by_call_id(Cdr, list(unique), "call_id")}
    fresh = [(call_id, record) for call_id, record in unique.items() if call_id not in stored]
    context = Context.load([record for _, record in fresh] + nameless)
    cdrs = []
    for call_id, record in fresh + [(f"malformed:{uuid.uuid4()}", r) for r in nameless]:
        cdr = CdrRow(call_id)
        context.decide(record, cdr)
        cdrs.append(cdr)
    with transaction.atomic():
        batch = CdrBatch.objects.create(
            source=source[:200], created_at=clock.now(), created_by=actor.label[:200]
        )
        debited = calls_charge(context=context, key=f"cdr-batch:{batch.pk}", actor=actor)
        for cdr in cdrs:
            cdr.batch_id = batch.pk
        if cdrs_insert(cdrs) != len(cdrs):
            raise _Raced
        holds_release(cdrs=cdrs)
        summary = _summary(batch, cdrs, read=read, duplicates=duplicates + len(stored))
        hooks.after_debit_schedule(account_ids=debited)
    return summary


def _summary(batch: CdrBatch, cdrs: list, *, read: int, duplicates: int) -> IngestSummary:
    statuses = Counter(cdr.status for cdr in cdrs)
    reasons = dict(
        sorted(Counter(c.reason for c in cdrs if c.status == CdrStatus.REJECTED).items())
    )
    batch.records_read = read
    batch.answered = sum(1 for c in cdrs if c.disposition == Disposition.ANSWERED)
    batch.rated = statuses[CdrStatus.RATED]
    batch.not_rated = statuses[CdrStatus.NOT_RATED]
    batch.rejected = statuses[CdrStatus.REJECTED]
    batch.rejected_by_reason = reasons
    batch.duplicates = duplicates
    batch.save()
    return IngestSummary(
        batch_id=batch.pk,
        records_read=read,
        answered=batch.answered,
        rated=batch.rated,
        not_rated=batch.not_rated,
        rejected=batch.rejected,
        rejected_by_reason=reasons,
        duplicates=duplicates,
    )


def cdr_rerate(*, cdr_ids: Sequence[int], actor: Actor) -> IngestSummary:
    """Rate again the rejected CDRs among `cdr_ids` (after a deck import, a corrected account
    code, a user added). Those rated now are debited; those still rejected say why again.
    Rated and not-rated CDRs are left alone: a call is never charged twice."""
    ids = sorted({int(pk) for pk in cdr_ids})
    if len(ids) > RERATE_LIMIT:
        raise ValidationFailed({"cdr_ids": [f"Re-rate at most {RERATE_LIMIT} CDRs at once."]})
    with transaction.atomic():
        cdrs = list(
            Cdr.objects.select_for_update()
            .filter(pk__in=ids, status=CdrStatus.REJECTED)
            .order_by("pk")
        )
        records = [_record_of(cdr) for cdr in cdrs]
        context = Context.load(records)
        for record, cdr in zip(records, cdrs, strict=True):
            if cdr.reason != CdrReason.MALFORMED:  # fixed by sending the record again
                context.decide(record, cdr)
        batch = CdrBatch.objects.create(
            source="re-rating", created_at=clock.now(), created_by=actor.label[:200]
        )
        debited = calls_charge(context=context, key=f"cdr-rerate:{batch.pk}", actor=actor)
        Cdr.objects.bulk_update(cdrs, _RERATED_FIELDS, batch_size=1000)
        summary = _summary(batch, cdrs, read=len(ids), duplicates=0)
        hooks.after_debit_schedule(account_ids=debited)
    return summary


def _record_of(cdr: Cdr) -> CallRecord:
    return CallRecord(
        call_id=cdr.call_id,
        account_code=cdr.account_code,
        source=cdr.source,
        destination=cdr.destination,
        started_at=cdr.started_at,
        answered_at=cdr.answered_at,
        billsec=cdr.billsec,
        disposition=Disposition(cdr.disposition)
        if cdr.disposition in Disposition.__members__.values()
        else Disposition.OTHER,
        line=cdr.line,
    )


_RERATED_FIELDS = [
    f.name
    for f in Cdr._meta.concrete_fields
    if f.name not in {"id", "call_id", "batch", "line", "started_at", "answered_at", "billsec"}
]


def cdr_correct(*, cdr: Cdr, account_code: str, source: str, destination: str, actor: Actor) -> Cdr:
    """Correct what the switch sent for a rejected CDR (an account code, the caller, the
    number), before re-rating it. A rated or not-rated CDR is never changed."""
    changes = {
        name: [getattr(cdr, name), value]
        for name, value in (
            ("account_code", account_code.strip()),
            ("source", source.strip()),
            ("destination", destination.strip()),
        )
        if getattr(cdr, name) != value
    }
    for name, (_, value) in changes.items():
        limit = Cdr._meta.get_field(name).max_length
        if len(value) > limit:
            raise ValidationFailed({name: [f"At most {limit} characters."]})
    if not changes:
        return cdr
    updated = Cdr.objects.filter(pk=cdr.pk, status=CdrStatus.REJECTED).update(
        **{name: value for name, (_, value) in changes.items()}
    )
    if not updated:
        raise ValidationFailed({"status": ["Only a rejected CDR can be corrected."]})
    audit_record(actor=actor, action="rating.cdr_corrected", obj=cdr, changes=changes)
    cdr.refresh_from_db()
    return cdr
