"""The batches of a statement import, all in the import's one database transaction.

1. Credits whose identity is stored already are skipped (a re-import, an overlapping
   statement).
2. References are read and looked up (`matching`): exactly one known reference in the
   account's currency credits that account's business funds with the amount that arrived;
   anything else goes to review, with a suggestion where one is likely.
3. The credits are posted to the ledger in one go (`ledger.bulk`: bank clearing -> business
   funds, idempotency key `bank-entry:<identity>`), the entries stored (the identity is
   unique) and bank transfers marked received (banktransfers' `bank_transfers_receive_many`).
   The batch's deferred constraints are checked before the next batch starts.

The "funds received" emails of the matched entries are not stored in the import's
transaction: once it commits, one task stores them from the entries and sends them
(`services.funds_emails.funds_received_emails_queue`; a periodic sweep does it for an import whose
task was lost). docs/decisions/0007-funds-received-emails-queued-after-the-import.md.

Steps 1 and 2 are prepared first; the writes then take a savepoint of the import's
transaction. On PostgreSQL a writer thread writes one batch while the next is read from the
file and prepared; the import commits when the file has been read to its end without error
(docs/decisions/0005-statement-import-in-one-transaction.md).

Two imports of the same file at once: whichever stores an identity first keeps it; the other
waits for it to commit, fails on the unique identity (or on the ledger key, and replays that
posting), rolls its batch back to the savepoint and prepares and writes it again, now
skipping what the first one stored. Nothing is credited twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from billtone.banktransfers.services import bank_transfers_receive_many
from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.bulk import (
    BulkSession,
    BulkTransaction,
    CheckedBatch,
    business_funds_accounts,
)
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.ledger.services import Leg, operator_ledger_account
from billtone.reconciliation import import_storage, matching
from billtone.reconciliation.credits import (
    TRANSACTION_KIND,
    Counts,
    Credit,
    entry_row,
    ledger_key,
    ledger_memo,
    targets_find,
)
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.funds_emails import funds_received_emails_schedule
from billtone.reconciliation.suggestions import Payers, suggestions_find

logger = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class _Matched:
    credit: Credit
    target: matching.Target


@dataclass
class _Prepared:
    """A batch decided and made ready to write: everything but the database transaction."""

    ledger: CheckedBatch | None  # the matched credits' ledger transactions, checked
    credits: list[Credit]
    duplicates: int
    fallback_duplicates: int
    matched: list[_Matched]
    review: list[tuple[Credit, matching.Decision]]
    suggestions: dict[str, matching.Suggestion]


class ImportRun:
    """One import: its record and batches, all in ONE database transaction, and what the
    batches share: ledger accounts seen and the payers of the credits matched so far (for
    suggestions).

    Each batch is prepared (read and decided) and then written inside the import's
    transaction, under a savepoint of its own. On PostgreSQL, outside a caller's
    transaction, a writer thread with its own connection holds that transaction and writes
    batch n while this thread reads the file and prepares batch n + 1: the database's work
    and Python's overlap on two cores. When reading the file fails (a malformed entry at the
    end of it), the writer rolls everything back: the import changes nothing.
    """

    def __init__(self, *, actor: Actor, header: dict) -> None:
        self.actor = actor
        self.header = header  # StatementImport fields known before the file is read
        self.record: StatementImport | None = None
        # Its keys name entries found new (ledger_key): nothing to replay.
        self.session = BulkSession(actor=actor, keys_new=True)
        self.counts = Counts()
        self.funds: dict[int, LedgerAccount] = {}
        self.banks: dict[str, LedgerAccount] = {}
        self.payers = Payers()

    def run(
        self,
        batches: Iterable[list[Credit]],
        *,
        finish: Callable[[], dict],
        done: Callable[[int], None] = lambda count: None,
    ) -> StatementImport:
        """Make the record, import the batches in order (`done(n)` after each, with its
        number of credits) and complete the record with `finish()`'s fields (called once
        the batches are read to the end), in one database transaction; returns the record.
        An exception from `batches` or `finish` rolls it all back and is raised."""
        postgres = connection.vendor == "postgresql"
        if not postgres or connection.in_atomic_block:
            with transaction.atomic():
                self._begin()
                for credits in batches:
                    self.write(self.prepare(credits))
                    done(len(credits))
                self._finish(finish())
        else:
            self._pipelined(batches, finish, done)
        assert self.record is not None
        return self.record

    def prepare(self, credits: list[Credit], *, again: bool = False) -> _Prepared:
        """Decide the batch and make its ledger transactions ready (checked, fingerprinted):
        reads, but for the business funds made on first use, which this thread commits on
        their own (empty accounts: harmless if the import then rolls back), so it never waits
        for the writer's transaction. `again`: the writer prepares a batch again after
        contention; what it reads or makes then stays its own (it shares nothing it changes
        with this thread)."""
        stored = import_storage.identities_stored([c.identity for c in credits])
        fresh = [c for c in credits if c.identity not in stored]  # unique in a file
        matched, review = self._decide(fresh)
        if not again:  # prepared again (by the writer): its payers are known already
            self.payers.add(matched)
        transactions = self._transactions(matched, again=again)
        return _Prepared(
            ledger=self.session.check(transactions) if transactions else None,
            credits=credits,
            duplicates=len(credits) - len(fresh),
            fallback_duplicates=sum(1 for identity in stored if identity.startswith("f-")),
            matched=matched,
            review=review,
            suggestions=suggestions_find(review=[c for c, _ in review], payers=self.payers),
        )

    def write(self, prepared: _Prepared) -> None:
        """Write a prepared batch under a savepoint; when another import took some of its
        entries meanwhile (or deadlocked with this one), roll the batch back, prepare it
        again (now skipping those) and write that."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    counts = self._write(prepared)
            except (IntegrityError, DatabaseError) as error:
                if attempt == ATTEMPTS or not _contended(error):
                    raise
                logger.info("Import of %s: batch again (%s)", self.header["file_name"], error)
                prepared = self.prepare(prepared.credits, again=True)
                continue
            self.counts = counts
            return

    def _begin(self) -> None:
        self.record = StatementImport.objects.create(**self.header, started_at=clock.now())

    def _finish(self, fields: dict) -> None:
        total = self.counts
        warnings = list(fields.pop("warnings", []))
        if total.fallback_duplicates:
            warnings.append(
                f"{total.fallback_duplicates} credits without the bank's own reference were "
                "imported before and skipped. If an earlier statement ended in the middle of "
                "a booking day that had look-alike payments (same payer, amount and text), "
                "check that none is missing."
            )
        values = {
            **fields,
            "warnings": warnings,
            "credits": total.credits,
            "matched": total.matched,
            "to_review": total.to_review,
            "duplicates_skipped": total.duplicates_skipped,
            "matched_totals": {c: format(a, "f") for c, a in sorted(total.totals.items())},
            "status": StatementImport.Status.DONE,
            "finished_at": clock.now(),
        }
        # Nothing matched: no emails to queue. Otherwise they are queued after commit.
        values["funds_emails_queued_at"] = None if total.matched else values["finished_at"]
        self.session.close()  # the ledger's cached balances, before the record says done
        record = self.record
        assert record is not None
        for name, value in values.items():
            setattr(record, name, value)
        record.save(update_fields=list(values))
        if total.matched:
            pk = record.pk
            transaction.on_commit(lambda: funds_received_emails_schedule(statement_import_id=pk))

    def _pipelined(
        self,
        batches: Iterable[list[Credit]],
        finish: Callable[[], dict],
        done: Callable[[int], None],
    ) -> None:
        ready: queue.Queue[_Prepared | None] = queue.Queue(maxsize=2)
        failed: list[BaseException] = []
        ending: dict = {}  # "fields": the record's last fields; absent: roll back

        def writer() -> None:
            try:
                with transaction.atomic():
                    self._begin()
                    while (prepared := ready.get()) is not None:
                        self.write(prepared)
                        done(len(prepared.credits))
                    if "fields" not in ending:
                        raise _RolledBack
                    self._finish(ending["fields"])
            except _RolledBack:
                pass
            except BaseException as error:
                failed.append(error)
                while ready.get() is not None:  # let the reading thread come to its end
                    pass
            finally:
                connections.close_all()  # this thread's own connection

        thread = threading.Thread(target=writer, name=f"import-{id(self):x}-writer")
        thread.start()
        try:
            for credits in batches:
                if failed:
                    break
                ready.put(self.prepare(credits))
            else:
                ending["fields"] = finish()
        finally:
            ready.put(None)
            thread.join()
        if failed:
            raise failed[0]

    def _write(self, prepared: _Prepared) -> Counts:
        with self.session.batch() as post:
            self._write_batch(prepared, post)
        return self._counted(prepared)

    def _write_batch(self, prepared: _Prepared, post) -> None:
        matched, review = prepared.matched, prepared.review
        ids = [p.transaction_id for p in post(prepared.ledger)] if prepared.ledger else []
        now = clock.now()
        record = self.record
        assert record is not None
        record_id = record.pk
        rows = [
            entry_row(
                record_id,
                m.credit,
                now,
                status=BankEntry.Status.MATCHED,
                reference=m.target.reference,
                account_id=m.target.account_id,
                bank_transfer_id=m.target.bank_transfer_id,
                ledger_transaction_id=pk,
            )
            for m, pk in zip(matched, ids, strict=True)
        ]
        for credit, decision in review:
            hint = prepared.suggestions.get(credit.identity)
            rows.append(
                entry_row(
                    record_id,
                    credit,
                    now,
                    status=BankEntry.Status.REVIEW,
                    review_reason=decision.reason,
                    reference=decision.reference,
                    suggested_account_id=hint.account_id if hint else None,
                    suggested_bank_transfer_id=hint.bank_transfer_id if hint else None,
                    suggestion_reason=hint.reason[:255] if hint else "",
                )
            )
        import_storage.entries_insert(rows)
        bank_transfers_receive_many(
            received=[
                (m.target.bank_transfer_id, m.credit.amount)
                for m in matched
                if m.target.bank_transfer_id is not None
            ],
            received_at=now,
        )
        import_storage.constraints_check()

    def _counted(self, prepared: _Prepared) -> Counts:
        matched = prepared.matched
        review = prepared.review
        batch = Counts(
            credits=len(prepared.credits),
            matched=len(matched),
            to_review=len(review),
            duplicates_skipped=prepared.duplicates,
            fallback_duplicates=prepared.fallback_duplicates,
        )
        for m in matched:
            currency = m.credit.currency
            batch.totals[currency] = batch.totals.get(currency, Decimal(0)) + m.credit.amount
        return self.counts.plus(batch)

    def _decide(
        self, credits: list[Credit]
    ) -> tuple[list[_Matched], list[tuple[Credit, matching.Decision]]]:
        scans = {
            c.identity: matching.entry_scan(
                structured_reference=c.structured_reference, free_text=c.free_text
            )
            for c in credits
            if not c.is_reversal
        }
        targets = targets_find(r for scan in scans.values() for r in scan.readings)
        matched: list[_Matched] = []
        review: list[tuple[Credit, matching.Decision]] = []
        for c in credits:
            if c.is_reversal:
                review.append((c, matching.Decision(None, matching.Reason.REVERSAL, "")))
                continue
            decision = matching.match_decide(
                scan=scans[c.identity], currency=c.currency, targets=targets
            )
            if decision.target is not None:
                matched.append(_Matched(c, decision.target))
            else:
                review.append((c, decision))
        return matched, review

    def _transactions(self, matched: list[_Matched], *, again: bool) -> list[BulkTransaction]:
        if not matched:
            return []
        # Prepared again by the writer, inside the import's transaction: ledger accounts it
        # makes could be rolled back with the batch, so they are not kept for later batches.
        funds, banks = (dict(self.funds), dict(self.banks)) if again else (self.funds, self.banks)
        missing = {
            m.target.account_id: m.target.currency
            for m in matched
            if m.target.account_id not in funds
        }
        if missing:
            funds.update(business_funds_accounts(currencies=missing))
        for currency in {m.credit.currency for m in matched} - set(banks):
            banks[currency] = operator_ledger_account(
                kind=LedgerKind.BANK_CLEARING, currency=currency
            )
        transactions = []
        for m in matched:
            credit = m.credit
            money = Money(credit.amount, credit.currency)
            transactions.append(
                BulkTransaction(
                    kind=TRANSACTION_KIND,
                    memo=ledger_memo(m.target.reference),
                    postings=(
                        Leg(banks[credit.currency], -money),
                        Leg(funds[m.target.account_id], money),
                    ),
                    idempotency_key=ledger_key(credit.identity),
                    external_reference=(credit.bank_reference or credit.identity)[:255],
                    statement_reference=m.target.reference,
                )
            )
        return transactions


class _RolledBack(Exception):
    """The file could not be read to its end: the writer rolls the import back."""


def _contended(error: Exception) -> bool:
    """Another import took an identity or ledger key of the batch (a unique constraint), or
    deadlocked with this one. A constraint that fails for any other reason fails again on
    every attempt and is raised."""
    if isinstance(error, IntegrityError):
        return True
    return type(error.__cause__).__name__ in {"DeadlockDetected", "SerializationFailure"}
