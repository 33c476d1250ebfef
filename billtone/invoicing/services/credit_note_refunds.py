"""A credit note's card refund, after its transaction has committed.

The credit note's own transaction gives the money to the customer's business funds; this
sends it on to the card that paid the invoice through payments' refund flow (payment_refund:
business funds → card clearing, then the gateway, no lock held), keyed on the credit note so
that a retry (the task again, the periodic sweep) never refunds twice. Whatever the refund's
fate, the ledger stays balanced: refused (the customer spent the funds meanwhile) or declined
by the gateway (payments gives it back), the money is on business funds and the credit note
says so (refund_status failed, refund_error).
"""

from __future__ import annotations

import logging

from django.db.models import Q

from billtone.core import clock
from billtone.core.errors import ApplicationError
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.models import CreditNote, Invoice
from billtone.invoicing.services.pdfs import SWEEP_AFTER, SWEEP_BATCH
from billtone.payments import selectors as payment_selectors
from billtone.payments.models import PaymentKind, PaymentStatus
from billtone.payments.services.refunds import payment_refund

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("credit notes")
_OUTCOME = {
    PaymentStatus.SUCCEEDED: CreditNote.RefundStatus.SUCCEEDED,
    PaymentStatus.FAILED: CreditNote.RefundStatus.FAILED,
}


# A bill's card payments: the bill run's collection and its dunning tries
# (`bill-collect:<invoice id>:<try>`), and the customer's own on the Pay page
# (`invoice-pay:<invoice id>:<key>`); their money went through business funds to the invoice.
BILL_CARD_KEYS = ("bill-collect:{pk}:", "invoice-pay:{pk}:")


def _card_payment(invoice: Invoice):
    """The card payment that paid the invoice: checkout's card charge carries the invoice's
    own key (basket's checkout_key); a bill's, one of BILL_CARD_KEYS. None without one."""
    payment = payment_selectors.payment_by_key(
        account=invoice.account, idempotency_key=invoice.source_key
    )
    if payment is None and invoice.status == Invoice.Status.PAID:
        keys = Q()
        for prefix in BILL_CARD_KEYS:
            keys |= Q(idempotency_key__startswith=prefix.format(pk=invoice.pk))
        found = payment_selectors.payment_list(account=invoice.account, kind=PaymentKind.CHARGE)
        payment = found.filter(keys, status=PaymentStatus.SUCCEEDED).order_by("-pk").first()
    if payment is None or payment.kind != PaymentKind.CHARGE:
        return None
    if payment.status != PaymentStatus.SUCCEEDED or payment.currency != invoice.currency:
        return None
    return payment


def card_refundable(*, invoice: Invoice) -> Money:
    """What may still go back to the card that paid the invoice (zero: no such card)."""
    payment = _card_payment(invoice)
    if payment is None:
        return Money.zero(invoice.currency)
    left = payment.amount - payment_selectors.payment_refunded_amount(payment=payment)
    return Money(max(left, 0), invoice.currency).rounded()


def credit_note_refund(*, credit_note_id: int) -> CreditNote:
    """Refund a card credit note's gross to the card, once; record how it went."""
    note = CreditNote.objects.defer("pdf").select_related("invoice__account").get(pk=credit_note_id)
    if note.refund_status != CreditNote.RefundStatus.PENDING:
        return note
    payment = _card_payment(note.invoice)
    rows = CreditNote.objects.filter(pk=note.pk, refund_status=CreditNote.RefundStatus.PENDING)
    if payment is None:
        rows.update(refund_status=CreditNote.RefundStatus.FAILED, refund_error="No card payment.")
        return CreditNote.objects.get(pk=note.pk)
    try:
        refund = payment_refund(
            account=note.account,
            payment=payment,
            idempotency_key=f"credit-note-refund:{note.pk}",
            actor=SYSTEM,
            amount=Money(note.gross, note.currency),
            reason=f"Credit note {note.number}",
        )
    except ApplicationError as error:  # e.g. the funds were spent since: they stay spent
        logger.warning("Credit note %s: the card refund was refused: %s", note.number, error)
        rows.update(refund_status=CreditNote.RefundStatus.FAILED, refund_error=str(error)[:500])
    else:
        status = _OUTCOME.get(refund.status, CreditNote.RefundStatus.PENDING)
        rows.update(
            refund_payment=refund,
            refund_status=status,
            refund_error=refund.failure_message[:500] if status == "failed" else "",
        )
    return CreditNote.objects.get(pk=note.pk)


def credit_note_refunds_due() -> list[int]:
    """Card credit notes whose refund is not settled some minutes after issue (a lost task,
    or a refund whose outcome payments' recovery has settled since)."""
    return list(
        CreditNote.objects.filter(
            refund_status=CreditNote.RefundStatus.PENDING,
            issued_at__lt=clock.now() - SWEEP_AFTER,
        )
        .order_by("sequence_number")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
