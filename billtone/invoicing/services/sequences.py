"""Gap-free number series (InvoiceSequence rows by name: "invoice", "credit_note")."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from billtone.invoicing.models import InvoiceSequence


def sequence_take(name: str) -> int:
    """The series' next number, its row locked until the caller's transaction ends (a
    rollback gives the number back). Call it last, just before the numbered row is inserted."""
    sequence = InvoiceSequence.objects.select_for_update().filter(name=name).first()
    if sequence is None:  # the first of its series (or a test database flushed)
        try:
            with transaction.atomic():
                InvoiceSequence.objects.create(name=name, next_number=1)
        except IntegrityError:
            pass  # another issuer made it at the same moment
        sequence = InvoiceSequence.objects.select_for_update().get(name=name)
    InvoiceSequence.objects.filter(pk=sequence.pk).update(next_number=F("next_number") + 1)
    return sequence.next_number
