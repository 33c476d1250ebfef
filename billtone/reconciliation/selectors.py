"""Reads of the reconciliation app (the back office's pages)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Value
from django.db.models.functions import Concat

from billtone.notifications.models import EmailDelivery
from billtone.notifications.selectors import email_delivery_counts
from billtone.reconciliation.emails import KEY_PREFIX
from billtone.reconciliation.models import BankEntry, StatementImport


@dataclass(frozen=True)
class FundsEmailsProgress:
    """Where the "funds received" emails of one import are (the back office polls it)."""

    stored: bool  # False: the task that stores them has not run yet
    queued: int  # stored, not sent yet (pending, or being sent)
    sent: int
    failed: int

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.failed

    @property
    def finished(self) -> bool:
        return self.stored and self.queued == 0


def funds_emails_progress(*, statement_import: StatementImport) -> FundsEmailsProgress:
    """Counts of the import's "funds received" emails by state, found by their keys."""
    keys = (
        BankEntry.objects.filter(statement_import=statement_import)
        .annotate(key=Concat(Value(KEY_PREFIX), "identity"))
        .values("key")
    )
    counts = email_delivery_counts(keys=keys)
    status = EmailDelivery.Status
    return FundsEmailsProgress(
        stored=statement_import.funds_emails_queued_at is not None,
        queued=counts.get(status.PENDING, 0) + counts.get(status.SENDING, 0),
        sent=counts.get(status.SENT, 0),
        failed=counts.get(status.FAILED, 0),
    )
