"""Credit notes: an issued invoice corrected in full or in part (docs/decisions/0022).

One database transaction: the invoice's lines locked (credits of one invoice queue up, so
what is left to credit per line is read right), the ledger transaction that takes the net
back from revenue by kind and the tax per rate from tax payable and gives the gross to the
customer's business funds (a paid invoice; a card refund goes out from there after commit)
or to receivable (an open invoice: off what it still owes), `Invoice.credited` raised by one
conditional UPDATE that never passes the gross, and the number taken last from its own
gap-free series, as invoice_issue takes its own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F

from billtone.accounts.selectors import billing_profile_get
from billtone.core import clock
from billtone.core.errors import Conflict, NotFound, ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor, audit_record
from billtone.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteTax,
    Invoice,
    InvoiceLine,
)
from billtone.invoicing.services.credit_note_documents import credit_note_email_queue
from billtone.invoicing.services.credit_note_lines import (
    Credit,
    CreditLine,
    credits_build,
    credits_totals,
)
from billtone.invoicing.services.credit_note_refunds import card_refundable
from billtone.invoicing.services.issue import _customer_snapshot, _operator_snapshot
from billtone.invoicing.services.sequences import sequence_take
from billtone.invoicing.totals import Totals
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import Leg, customer_ledger_accounts, operator_ledger_accounts
from billtone.ledger.services import transaction_post as ledger_post

logger = logging.getLogger(__name__)

SEQUENCE = "credit_note"
NUMBER_PREFIX = "CN-"
REASON_LIMIT = CreditNote._meta.get_field("reason").max_length
# Where an invoice line's net went when it was issued (as basket.quote posts it): a credit
# takes it back from there.
LEDGER_KIND_OF_LINE = {
    "plan": LedgerKind.REVENUE_SUBSCRIPTIONS,
    "number": LedgerKind.REVENUE_NUMBERS,
    "setup": LedgerKind.REVENUE_ONE_OFF,
    "store_item": LedgerKind.REVENUE_ONE_OFF,
    "credit_pack": LedgerKind.CALL_CREDIT,
}


def credit_note_number(sequence_number: int) -> str:
    return f"{NUMBER_PREFIX}{sequence_number:06d}"


def credit_note_issue(
    *,
    invoice_id: int,
    lines: str | Sequence[CreditLine | tuple],
    reason: str,
    refund_to: str,
    actor: Actor,
    idempotency_key: str,
) -> CreditNote:
    """Credit `lines` of the invoice (FULL: all that is left) and give the money back to
    `refund_to`. Refused with nothing written (ValidationFailed, NotFound, Conflict): more
    than is left to credit on a line or in total, a destination the invoice's state does not
    allow. The same key again returns the first credit note. After commit: the PDF, the
    email, and a card refund."""
    key = _key_clean(idempotency_key)
    replay = _replayed(key=key, invoice_id=invoice_id)
    if replay is not None:
        return replay
    reason = _reason_clean(reason)
    try:
        with transaction.atomic():
            note = _issue(
                invoice_id=invoice_id,
                wanted=lines,
                reason=reason,
                refund_to=refund_to,
                actor=actor,
                key=key,
            )
    except IntegrityError:
        replay = _replayed(key=key, invoice_id=invoice_id)  # a racing twin with our key won
        if replay is None:
            raise
        return replay
    return note


def _key_clean(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed({"idempotency_key": ["An idempotency key is required."]})
    if len(key) > 255:
        raise ValidationFailed({"idempotency_key": ["At most 255 characters."]})
    return key


def _reason_clean(reason: object) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise ValidationFailed({"reason": ["Say why the invoice is credited."]})
    if len(text) > REASON_LIMIT:
        raise ValidationFailed({"reason": [f"At most {REASON_LIMIT} characters."]})
    return text


def _replayed(*, key: str, invoice_id: int) -> CreditNote | None:
    existing = CreditNote.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.invoice_id != invoice_id:
        raise Conflict(f"The key {key!r} was used for a credit note of another invoice.")
    return existing


# over 80 lines: one transaction read top to bottom (validate, post, count, number, insert)
def _issue(
    *, invoice_id: int, wanted, reason: str, refund_to: str, actor: Actor, key: str
) -> CreditNote:
    # The lines' locks queue credits of one invoice; the invoice row itself is only written
    # by conditional UPDATEs (here and by payments), after the ledger's locks, as payers do.
    invoice_lines = list(
        InvoiceLine.objects.select_for_update().filter(invoice_id=invoice_id).order_by("position")
    )
    replay = _replayed(key=key, invoice_id=invoice_id)  # a twin that held the locks first
    if replay is not None:
        return replay
    invoice = Invoice.objects.defer("pdf").select_related("account").filter(pk=invoice_id).first()
    if invoice is None or not invoice_lines:
        raise NotFound("No such invoice.")
    credits = credits_build(invoice=invoice, invoice_lines=invoice_lines, wanted=wanted)
    totals = credits_totals(invoice=invoice, credits=credits)
    left = invoice.gross - invoice.credited
    if totals.gross.amount > left:
        raise ValidationFailed(
            {"lines": [f"At most {Money(left, invoice.currency).rounded()} is left to credit."]},
            detail="The credit note was refused; nothing was credited.",
        )
    _destination_check(invoice=invoice, refund_to=refund_to, gross=totals.gross)

    account = invoice.account
    ledger_transaction = ledger_post(
        kind="credit_note",
        memo=f"Credit for invoice {invoice.number}",
        postings=_legs(invoice=invoice, credits=credits, totals=totals, refund_to=refund_to),
        idempotency_key="credit-note:" + hashlib.sha256(key.encode()).hexdigest(),
        actor=actor,
    )
    _invoice_credit(invoice=invoice, gross=totals.gross.amount)

    profile = billing_profile_get(account=account)
    issued_at = clock.now()
    sequence_number = sequence_take(SEQUENCE)  # last: locked until the caller commits
    note = CreditNote.objects.create(
        sequence_number=sequence_number,
        number=credit_note_number(sequence_number),
        account=account,
        invoice=invoice,
        issued_at=issued_at,
        issue_date=issued_at.astimezone(ZoneInfo(profile.timezone)).date(),
        currency=invoice.currency,
        net=totals.net.amount,
        tax=totals.tax.amount,
        gross=totals.gross.amount,
        reverse_charge=invoice.reverse_charge,
        tax_mention=invoice.tax_mention,
        customer=_customer_snapshot(profile),
        operator=_operator_snapshot(),
        reason=reason,
        refund_to=refund_to,
        ledger_transaction=ledger_transaction,
        idempotency_key=key,
        refund_status=(
            CreditNote.RefundStatus.PENDING
            if refund_to == CreditNote.RefundTo.CARD
            else CreditNote.RefundStatus.NONE
        ),
        created_by=actor.label[:200],
    )
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=note,
            invoice_line=credit.line,
            position=position,
            description=credit.line.description,
            kind=credit.line.kind,
            quantity=credit.quantity,
            unit_price=credit.unit_price,
            net=credit.net,
            tax_rate=credit.line.tax_rate,
            period_start=credit.line.period_start,
            period_end=credit.line.period_end,
        )
        for position, credit in enumerate(credits, start=1)
    )
    CreditNoteTax.objects.bulk_create(
        CreditNoteTax(
            credit_note=note, rate=rate, taxable=entry.taxable.amount, tax=entry.tax.amount
        )
        for rate, entry in totals.rates
    )
    audit_record(
        actor=actor,
        action="credit_note.issue",
        obj=note,
        account_id=account.pk,
        changes={
            "invoice": [None, invoice.number],
            "gross": [None, str(note.gross)],
            "refund_to": [None, refund_to],
            "reason": [None, reason],
        },
    )
    _after_commit(note)
    return note


def _destination_check(*, invoice: Invoice, refund_to: str, gross: Money) -> None:
    allowed = (
        [CreditNote.RefundTo.INVOICE_DUE]
        if invoice.status == Invoice.Status.OPEN
        else [CreditNote.RefundTo.BUSINESS_FUNDS, CreditNote.RefundTo.CARD]
    )
    if refund_to not in allowed:
        state = "open: the credit comes off what it owes" if invoice.status == "open" else "paid"
        raise ValidationFailed(
            {"refund_to": [f"{invoice.number} is {state}; choose {' or '.join(allowed)}."]},
            detail="The credit note was refused; nothing was credited.",
        )
    if refund_to == CreditNote.RefundTo.CARD:
        refundable = card_refundable(invoice=invoice)
        if refundable.amount < gross.amount:
            reason = (
                f"at most {refundable} of its card payment can be refunded"
                if refundable.amount > 0
                else "it was not paid by a card payment that can be refunded"
            )
            raise ValidationFailed(
                {"refund_to": [f"Not to the card: {reason}; credit business funds instead."]},
                detail="The credit note was refused; nothing was credited.",
            )


def _legs(*, invoice: Invoice, credits: list[Credit], totals: Totals, refund_to: str):
    currency = invoice.currency
    net_by_kind: dict[str, Decimal] = {}
    for credit in credits:
        kind = LEDGER_KIND_OF_LINE.get(credit.line.kind, LedgerKind.REVENUE_ONE_OFF)
        net_by_kind[kind] = net_by_kind.get(kind, Decimal(0)) + credit.net
    operator_kinds = [k for k in net_by_kind if k != LedgerKind.CALL_CREDIT]
    operator_kinds += [LedgerKind.TAX_PAYABLE, LedgerKind.RECEIVABLE]
    books = operator_ledger_accounts(kinds=operator_kinds, currency=currency)
    customer = customer_ledger_accounts(account=invoice.account)
    books[LedgerKind.CALL_CREDIT] = customer.call_credit
    legs = [Leg(books[kind], Money(-net, currency)) for kind, net in net_by_kind.items()]
    legs += [
        Leg(books[LedgerKind.TAX_PAYABLE], -entry.tax)
        for _, entry in totals.rates
        if not entry.tax.is_zero()
    ]
    to = (
        books[LedgerKind.RECEIVABLE]
        if refund_to == CreditNote.RefundTo.INVOICE_DUE
        else customer.business_funds
    )
    legs.append(Leg(to, totals.gross))
    return legs


def _invoice_credit(*, invoice: Invoice, gross: Decimal) -> None:
    """credited += gross, only while it stays within the gross and the invoice is in the state
    the destination was chosen for; an open invoice credited in full is settled (paid)."""
    changes = {"credited": F("credited") + gross}
    if invoice.status == Invoice.Status.OPEN and invoice.credited + gross == invoice.gross:
        changes.update(status=Invoice.Status.PAID, paid_at=clock.now())
    updated = Invoice.objects.filter(
        pk=invoice.pk, status=invoice.status, credited__lte=F("gross") - gross
    ).update(**changes)
    if updated != 1:
        raise Conflict(
            f"{invoice.number} was paid or credited at the same moment; look at it again.",
            slug="invoice-changed",
            title="The invoice changed",
        )


def _after_commit(note: CreditNote) -> None:
    from billtone.invoicing import tasks

    note_id = note.pk

    def schedule(task) -> None:
        try:
            task.delay(note_id)
        except Exception:  # broker down: the periodic sweep does it
            logger.warning("Could not schedule %s for credit note %s", task.name, note_id)

    transaction.on_commit(lambda: schedule(tasks.credit_note_pdf_render_task))
    if note.refund_to == CreditNote.RefundTo.CARD:
        transaction.on_commit(lambda: schedule(tasks.credit_note_refund_task))
    credit_note_email_queue(note=note)
