"""Import a bank statement: check the whole file, then match and credit it in batches.

A malformed file is refused before anything is written (StatementFormatError names the file
and the line or entry). Then each batch of entries is one database transaction:

1. credits whose identity is stored already are skipped (a re-import, an overlapping
   statement); debits, and entries that are not booked, are only counted;
2. references are read and looked up (`matching`): exactly one known reference in the
   account's currency credits that account's business funds with the amount that arrived,
   anything else goes to review with a suggestion where one is likely;
3. the credits are posted to the ledger in one go (`ledger.bulk`: bank clearing -> business
   funds, idempotency key `bank-entry:<identity>`), the entries stored, funding requests
   marked received, and "funds received" emails queued, sent after commit.

Two imports of the same file at once: the unique identity decides which stores an entry;
the ledger key decides which posts it. An import that posted an entry another import stored
first rolls its batch back and does it again, now skipping that entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, transaction

from billtone.accounts.models import BillingProfile
from billtone.banktransfers import matching
from billtone.banktransfers.funds_emails import (
    FundsReceived,
    funds_received_context,
    funds_received_queue_many,
)
from billtone.banktransfers.models import (
    AccountReference,
    BankEntry,
    FundingRequest,
    StatementImport,
)
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.statements import (
    FORMATS,
    CsvColumnMap,
    StatementEntry,
    StatementFormatError,
    statement_check,
    statement_parse,
)
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money, locale_for
from billtone.core.services import Actor
from billtone.ledger.bulk import BulkTransaction, business_funds_accounts, transactions_post_bulk
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import Leg, operator_ledger_account

BATCH_SIZE = 2000
ATTEMPTS = 3
TRANSACTION_KIND = "bank_transfer"

Progress = Callable[[int, int], None]  # (entries done, entries in the file)


def ledger_key(identity: str) -> str:
    """The ledger idempotency key of a bank entry's credit, however it is credited."""
    return f"bank-entry:{identity}"


def ledger_memo(reference: str) -> str:
    return f"Bank transfer {reference_format(reference)}" if reference else "Bank transfer"


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

    Raises StatementFormatError, and writes nothing, when the file cannot be read whole. An
    error in the database after some batches leaves those batches imported and the import
    marked failed; importing the file again completes it (what is stored is skipped).
    """
    if format is not None and format not in FORMATS:
        raise ValidationFailed({"format": [f"One of {', '.join(FORMATS)}."]})
    if not 1 <= batch_size <= 50_000:
        raise ValidationFailed({"batch_size": ["From 1 to 50,000 entries."]})
    display = name or _name_of(source)
    source, sha256 = _hashed(source, display)
    options = {"name": display, "csv_columns": csv_columns}
    checked = statement_check(source, format=format, **options)
    total = sum(s.credit_transactions + s.debit_transactions for s in checked.statements)
    first = checked.statements[0] if checked.statements else None
    record = StatementImport.objects.create(
        file_name=display[:255],
        sha256=sha256,
        format=checked.format,
        account_iban=(first.account_iban or first.account_id)[:34] if first else "",
        statement_ids=", ".join(
            dict.fromkeys(s.statement_id for s in checked.statements if s.statement_id)
        )[:255],
        imported_by_id=actor.user_id,
        imported_by_label=actor.label[:200],
        started_at=clock.now(),
        warnings=list(checked.problems),
    )
    counts = _Counts()
    done = 0
    try:
        batch: list[StatementEntry] = []
        for entry in statement_parse(source, format=checked.format, **options):
            batch.append(entry)
            if len(batch) >= batch_size:
                counts = _batch_import(record=record, entries=batch, actor=actor, counts=counts)
                done += len(batch)
                batch = []
                if progress is not None:
                    progress(done, total)
        if batch:
            counts = _batch_import(record=record, entries=batch, actor=actor, counts=counts)
            done += len(batch)
            if progress is not None:
                progress(done, total)
    except Exception as error:
        StatementImport.objects.filter(pk=record.pk).update(
            status=StatementImport.Status.FAILED,
            error=f"Stopped after {done} of {total} entries: {error}"[:2000],
            finished_at=clock.now(),
        )
        raise
    record.refresh_from_db()
    record.status = StatementImport.Status.DONE
    record.finished_at = clock.now()
    record.save(update_fields=["status", "finished_at"])
    return record


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


# --- one batch -----------------------------------------------------------------------------


@dataclass
class _Counts:
    credits: int = 0
    matched: int = 0
    to_review: int = 0
    duplicates_skipped: int = 0
    debits_ignored: int = 0
    not_booked_ignored: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)

    def plus(self, other: _Counts) -> _Counts:
        totals = dict(self.totals)
        for currency, amount in other.totals.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
        return _Counts(
            credits=self.credits + other.credits,
            matched=self.matched + other.matched,
            to_review=self.to_review + other.to_review,
            duplicates_skipped=self.duplicates_skipped + other.duplicates_skipped,
            debits_ignored=self.debits_ignored + other.debits_ignored,
            not_booked_ignored=self.not_booked_ignored + other.not_booked_ignored,
            totals=totals,
        )


class _Contended(Exception):
    """Another import stored an entry this batch credited: roll back and do it again."""


def _batch_import(
    *, record: StatementImport, entries: list[StatementEntry], actor: Actor, counts: _Counts
) -> _Counts:
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return _batch(record=record, entries=entries, actor=actor, counts=counts)
        except _Contended:
            continue
        except DatabaseError as error:
            if attempt + 1 < ATTEMPTS and _is_deadlock(error):
                continue
            raise
    raise RuntimeError("The batch could not be imported: other imports kept taking its entries.")


def _is_deadlock(error: Exception) -> bool:
    cause = error.__cause__
    return type(cause).__name__ in {"DeadlockDetected", "SerializationFailure"}


@dataclass(frozen=True, slots=True)
class _Matched:
    entry: StatementEntry
    target: matching.Target


def _batch(
    *, record: StatementImport, entries: list[StatementEntry], actor: Actor, counts: _Counts
) -> _Counts:
    batch = _Counts()
    credits: list[StatementEntry] = []
    for entry in entries:
        if entry.status != "BOOK" or entry.amount <= 0:
            batch.not_booked_ignored += 1
        elif not entry.is_credit:
            batch.debits_ignored += 1
        else:
            credits.append(entry)
    batch.credits = len(credits)
    stored = set(
        BankEntry.objects.filter(identity__in=[e.identity for e in credits]).values_list(
            "identity", flat=True
        )
    )
    fresh = [e for e in credits if e.identity not in stored]

    scans = {
        e.identity: matching.entry_scan(
            structured_reference=e.structured_reference, free_text=e.free_text
        )
        for e in fresh
        if not e.is_reversal
    }
    targets = _targets(r for scan in scans.values() for r in scan.readings)
    matched: list[_Matched] = []
    review: list[tuple[StatementEntry, matching.Decision]] = []
    for e in fresh:
        if e.is_reversal:
            review.append((e, matching.Decision(None, matching.Reason.REVERSAL, "")))
            continue
        decision = matching.match_decide(
            scan=scans[e.identity], currency=e.currency, targets=targets
        )
        if decision.target is not None:
            matched.append(_Matched(e, decision.target))
        else:
            review.append((e, decision))

    suggestions = _suggestions(review=[e for e, _ in review], matched=matched)
    posted = _post(matched=matched, actor=actor)
    now = clock.now()
    rows = [
        _row(record=record, entry=m.entry, now=now, matched=m, transaction_id=posted[i])
        for i, m in enumerate(matched)
    ] + [
        _row(
            record=record,
            entry=e,
            now=now,
            decision=decision,
            suggestion=suggestions.get(e.identity),
        )
        for e, decision in review
    ]
    BankEntry.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    mine = set(
        BankEntry.objects.filter(
            statement_import=record, identity__in=[row.identity for row in rows]
        ).values_list("identity", flat=True)
    )
    for i, m in enumerate(matched):
        if m.entry.identity not in mine and posted.created[i]:
            raise _Contended()
    mine_matched = [m for m in matched if m.entry.identity in mine]

    requests = _requests_receive(mine_matched, received_at=now)
    _emails_queue(mine_matched, requests)

    batch.matched = len(mine_matched)
    batch.to_review = sum(1 for e, _ in review if e.identity in mine)
    batch.duplicates_skipped = len(credits) - batch.matched - batch.to_review
    for m in mine_matched:
        batch.totals[m.entry.currency] = batch.totals.get(m.entry.currency, 0) + m.entry.amount
    total = counts.plus(batch)
    StatementImport.objects.filter(pk=record.pk).update(
        credits=total.credits,
        matched=total.matched,
        to_review=total.to_review,
        duplicates_skipped=total.duplicates_skipped,
        debits_ignored=total.debits_ignored,
        not_booked_ignored=total.not_booked_ignored,
        matched_totals={c: format(a, "f") for c, a in sorted(total.totals.items())},
    )
    return total


def _targets(readings: Iterable[str]) -> dict[str, matching.Target]:
    """Every known reference among `readings`: permanent account references and requests."""
    wanted = list(dict.fromkeys(readings))
    if not wanted:
        return {}
    found: dict[str, matching.Target] = {}
    for reference, account_id, currency in AccountReference.objects.filter(
        reference__in=wanted
    ).values_list("reference", "account_id", "account__billing_profile__currency"):
        found[reference] = matching.Target(reference, account_id, currency or "")
    for reference, pk, account_id, currency, request_currency in FundingRequest.objects.filter(
        reference__in=wanted
    ).values_list(
        "reference", "pk", "account_id", "account__billing_profile__currency", "currency"
    ):
        found[reference] = matching.Target(
            reference, account_id, currency or "", pk, request_currency
        )
    return found


@dataclass(frozen=True)
class _Posted:
    ids: list[int]
    created: list[bool]

    def __getitem__(self, i: int) -> int:
        return self.ids[i]


def _post(*, matched: list[_Matched], actor: Actor) -> _Posted:
    if not matched:
        return _Posted([], [])
    funds = business_funds_accounts(
        currencies={m.target.account_id: m.target.currency for m in matched}
    )
    banks = {
        currency: operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency=currency)
        for currency in {m.entry.currency for m in matched}
    }
    results = transactions_post_bulk(
        transactions=[
            BulkTransaction(
                kind=TRANSACTION_KIND,
                memo=ledger_memo(m.target.reference),
                postings=[
                    Leg(banks[m.entry.currency], Money(-m.entry.amount, m.entry.currency)),
                    Leg(funds[m.target.account_id], Money(m.entry.amount, m.entry.currency)),
                ],
                idempotency_key=ledger_key(m.entry.identity),
                external_reference=(m.entry.bank_reference or m.entry.identity)[:255],
            )
            for m in matched
        ],
        actor=actor,
    )
    return _Posted([r.transaction_id for r in results], [r.created for r in results])


def _row(
    *,
    record: StatementImport,
    entry: StatementEntry,
    now,
    matched: _Matched | None = None,
    transaction_id: int | None = None,
    decision: matching.Decision | None = None,
    suggestion: matching.Suggestion | None = None,
) -> BankEntry:
    row = BankEntry(
        statement_import=record,
        identity=entry.identity,
        position=entry.position[:100],
        amount=entry.amount,
        currency=entry.currency,
        booking_date=entry.booking_date,
        value_date=entry.value_date,
        payer_name=entry.payer_name[:255],
        payer_iban=entry.payer_iban[:34],
        structured_reference=entry.structured_reference[:255],
        free_text=entry.free_text,
        end_to_end_id=entry.end_to_end_id[:255],
        bank_reference=entry.bank_reference[:255],
        created_at=now,
    )
    if matched is not None:
        row.status = BankEntry.Status.MATCHED
        row.reference = matched.target.reference
        row.account_id = matched.target.account_id
        row.funding_request_id = matched.target.funding_request_id
        row.ledger_transaction_id = transaction_id
    else:
        assert decision is not None
        row.status = BankEntry.Status.REVIEW
        row.review_reason = decision.reason
        row.reference = decision.reference[:25]
        if suggestion is not None:
            row.suggested_account_id = suggestion.account_id
            row.suggested_funding_request_id = suggestion.funding_request_id
            row.suggestion_reason = suggestion.reason[:255]
    return row


# --- suggestions for review ----------------------------------------------------------------

CREDITED = (BankEntry.Status.MATCHED, BankEntry.Status.ALLOCATED)


def _suggestions(
    *, review: list[StatementEntry], matched: list[_Matched]
) -> dict[str, matching.Suggestion]:
    """Likely accounts for the entries going to review, from credits stored before and
    those of this batch."""
    if not review:
        return {}
    by_iban: dict[str, set[int]] = defaultdict(set)
    ibans = {e.payer_iban for e in review if e.payer_iban}
    if ibans:
        for iban, account_id in (
            BankEntry.objects.filter(payer_iban__in=ibans, status__in=CREDITED)
            .values_list("payer_iban", "account_id")
            .distinct()
        ):
            by_iban[iban].add(account_id)
    for m in matched:
        if m.entry.payer_iban in ibans:
            by_iban[m.entry.payer_iban].add(m.target.account_id)

    pending: dict[tuple[Decimal, str], list[matching.PendingRequest]] = defaultdict(list)
    amounts = {e.amount for e in review if e.payer_name}
    if amounts:
        for pk, account_id, reference, amount, currency in FundingRequest.objects.filter(
            status=FundingRequest.Status.AWAITING_FUNDS, amount__in=amounts
        ).values_list("pk", "account_id", "reference", "amount", "currency"):
            pending[(amount, currency)].append(matching.PendingRequest(pk, account_id, reference))
    names: dict[int, set[str]] = defaultdict(set)
    accounts = {r.account_id for requests in pending.values() for r in requests}
    if accounts:
        for account_id, name in (
            BankEntry.objects.filter(account_id__in=accounts, status__in=CREDITED)
            .exclude(payer_name="")
            .values_list("account_id", "payer_name")
            .distinct()
        ):
            names[account_id].add(name)
        for m in matched:
            if m.target.account_id in accounts and m.entry.payer_name:
                names[m.target.account_id].add(m.entry.payer_name)

    found = {}
    for e in review:
        suggestion = matching.suggestion_find(
            payer_iban=e.payer_iban,
            payer_name=e.payer_name,
            amount=e.amount,
            currency=e.currency,
            accounts_by_iban=by_iban,
            pending_by_amount=pending,
            payer_names_by_account=names,
        )
        if suggestion is not None:
            found[e.identity] = suggestion
    return found


# --- funding requests and emails -----------------------------------------------------------


def funding_requests_receive_many(
    *, received: list[tuple[int, Decimal]], received_at
) -> dict[int, FundingRequest]:
    """`funding_request_receive` for many (request id, amount) at once, in their order: each
    request still awaiting funds (or expired) becomes received, or received a different
    amount; one received already stays as it is (the money still landed: its reference is
    known). Returns the requests, locked, by id."""
    if not received:
        return {}
    requests = {
        r.pk: r
        for r in FundingRequest.objects.select_for_update()
        .filter(pk__in=sorted({pk for pk, _ in received}))
        .order_by("pk")
    }
    changed = {}
    for pk, amount in received:
        request = requests[pk]
        arrived = Money(amount, request.currency)
        status = (
            FundingRequest.Status.RECEIVED
            if arrived == Money(request.amount, request.currency)
            else FundingRequest.Status.RECEIVED_DIFFERENT_AMOUNT
        )
        if amount > 0 and request.can_become(status):
            request.status = status
            request.received_amount = arrived.amount
            request.received_at = received_at
            changed[pk] = request
    if changed:
        FundingRequest.objects.bulk_update(
            list(changed.values()), ["status", "received_amount", "received_at"]
        )
    return requests


def _requests_receive(matched: list[_Matched], *, received_at) -> dict[int, FundingRequest]:
    return funding_requests_receive_many(
        received=[
            (m.target.funding_request_id, m.entry.amount)
            for m in matched
            if m.target.funding_request_id is not None
        ],
        received_at=received_at,
    )


def _emails_queue(matched: list[_Matched], requests: dict[int, FundingRequest]) -> None:
    if not matched:
        return
    profiles = {
        p["account_id"]: p
        for p in BillingProfile.objects.filter(
            account_id__in={m.target.account_id for m in matched}
        ).values("account_id", "company_name", "billing_email", "country")
    }
    notices = []
    for m in matched:
        profile = profiles[m.target.account_id]
        request = requests.get(m.target.funding_request_id)
        notices.append(
            FundsReceived(
                identity=m.entry.identity,
                account_id=m.target.account_id,
                to_email=profile["billing_email"],
                context=funds_received_context(
                    company_name=profile["company_name"],
                    locale=_locale(profile["country"]),
                    amount=Money(m.entry.amount, m.entry.currency),
                    reference=m.target.reference,
                    booking_date=m.entry.booking_date,
                    payer=m.entry.payer_name,
                    requested=(
                        Money(request.amount, request.currency) if request is not None else None
                    ),
                ),
            )
        )
    funds_received_queue_many(notices=notices)


_locales: dict[str, str] = {}


def _locale(country: str) -> str:
    if country not in _locales:
        _locales[country] = locale_for(language=settings.LANGUAGE_CODE, country=country)
    return _locales[country]
