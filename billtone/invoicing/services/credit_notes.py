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
from dataclasses import dataclass, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from billtone.accounts.selectors import billing_profile_get
from billtone.catalog.tax import TaxTreatment
from billtone.core import clock
from billtone.core.errors import Conflict, NotFound, ValidationFailed
from billtone.core.money import AmountError, Money, amount_parse
from billtone.core.services import Actor, audit_record
from billtone.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteTax,
    Invoice,
    InvoiceLine,
)
from billtone.invoicing.services.credit_note_documents import credit_note_email_queue
from billtone.invoicing.services.credit_note_refunds import card_refundable
from billtone.invoicing.services.issue import _customer_snapshot, _operator_snapshot
from billtone.invoicing.services.sequences import sequence_take
from billtone.invoicing.totals import LineIn, RateTotal, Totals, invoice_totals
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import Leg, customer_ledger_accounts, operator_ledger_accounts
from billtone.ledger.services import transaction_post as ledger_post

logger = logging.getLogger(__name__)

SEQUENCE = "credit_note"
NUMBER_PREFIX = "CN-"
FULL = "full"
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


@dataclass(frozen=True)
class CreditLine:
    """Part of an invoice line to credit: a whole `quantity` of it, or an `amount` (net)."""

    position: int
    quantity: int | None = None
    amount: Money | None = None


@dataclass(frozen=True)
class _Credit:
    line: InvoiceLine
    quantity: int
    unit_price: Decimal
    net: Decimal
    left_after: Decimal  # what is left to credit on the line afterwards


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
    credits = _credits_build(invoice=invoice, invoice_lines=invoice_lines, wanted=wanted)
    totals = _totals(invoice=invoice, credits=credits)
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


def _credited_by_line(invoice: Invoice) -> dict[int, Decimal]:
    rows = (
        CreditNoteLine.objects.filter(credit_note__invoice=invoice)
        .values("invoice_line_id")
        .annotate(total=Sum("net"))
    )
    return {row["invoice_line_id"]: row["total"] for row in rows}


def _wanted_by_position(invoice_lines, wanted) -> dict[int, CreditLine]:
    if wanted == FULL:
        return {line.position: CreditLine(position=line.position) for line in invoice_lines}
    if isinstance(wanted, str) or not wanted:
        raise ValidationFailed({"lines": ["Choose the lines to credit, or credit it in full."]})
    found: dict[int, CreditLine] = {}
    for item in wanted:
        if not isinstance(item, CreditLine):
            position, value = item
            is_quantity = isinstance(value, int) and not isinstance(value, bool)
            item = (
                CreditLine(position=position, quantity=value)
                if is_quantity
                else CreditLine(position=position, amount=value)
            )
        if item.position in found:
            raise ValidationFailed({"lines": [f"Line {item.position} is named twice."]})
        found[item.position] = item
    return found


def _credits_build(*, invoice: Invoice, invoice_lines, wanted) -> list[_Credit]:
    by_position = {line.position: line for line in invoice_lines}
    credited = _credited_by_line(invoice)
    asked = _wanted_by_position(invoice_lines, wanted)
    errors: list[str] = []
    credits: list[_Credit] = []
    for position, item in sorted(asked.items()):
        line = by_position.get(position)
        if line is None:
            errors.append(f"The invoice has no line {position}.")
            continue
        left = line.net - credited.get(line.pk, Decimal(0))
        if wanted == FULL:
            if left <= 0:
                continue
            whole = left == line.net
            credit = _Credit(
                line=line,
                quantity=line.quantity if whole else 1,
                unit_price=line.unit_price if whole else left,
                net=left,
                left_after=Decimal(0),
            )
        else:
            credit, problem = _part(line=line, item=item, left=left, currency=invoice.currency)
            if problem:
                errors.append(problem)
                continue
        credits.append(credit)
    if not errors and not credits:
        errors.append("Nothing is left to credit on this invoice.")
    if errors:
        raise ValidationFailed(
            {"lines": errors}, detail="The credit note was refused; nothing was credited."
        )
    return credits


def _part(*, line: InvoiceLine, item: CreditLine, left: Decimal, currency: str):
    """(the credit, None) or (None, what is wrong) for a part of one line."""
    label = f"Line {line.position} ({line.description})"
    if (item.quantity is None) == (item.amount is None):
        return None, f"{label}: give a quantity or an amount."
    if item.quantity is not None:
        if not isinstance(item.quantity, int) or not 1 <= item.quantity <= line.quantity:
            return None, f"{label}: a quantity from 1 to {line.quantity}."
        quantity, unit_price = item.quantity, line.unit_price
        net = (Money(unit_price, currency) * quantity).rounded().amount
    else:
        given = item.amount
        if isinstance(given, Money):
            if given.currency != currency:
                return None, f"{label}: give the amount in {currency}."
            given = given.amount
        try:
            amount = amount_parse(given, currency)
        except AmountError as error:
            return None, f"{label}: {error}"
        if amount.amount <= 0:
            return None, f"{label}: an amount greater than zero."
        quantity, unit_price, net = 1, amount.amount, amount.amount
    if net > left:
        return None, f"{label}: at most {Money(left, currency).rounded()} is left to credit."
    return _Credit(line, quantity, unit_price, net, left - net), None


def _totals(*, invoice: Invoice, credits: list[_Credit]) -> Totals:
    """Through invoice_totals at the invoice's own rates (net per line, tax per rate, each
    rounded once). A rate whose every line is credited to the end takes exactly the tax left
    at that rate, so that the credit notes of an invoice add up to its totals, cent for cent."""
    currency = invoice.currency
    tax = TaxTreatment(
        rate=Decimal(0),
        reverse_charge=invoice.reverse_charge,
        mention=invoice.tax_mention,
        country=invoice.customer.get("country", ""),
    )
    totals = invoice_totals(
        lines=[
            LineIn(
                description=c.line.description,
                kind=c.line.kind,
                product_id=c.line.product_id,
                quantity=c.quantity,
                unit_price=Money(c.unit_price, currency),
                period_start=c.line.period_start,
                period_end=c.line.period_end,
                billing=c.line.billing,
                tax_rate=c.line.tax_rate,
            )
            for c in credits
        ],
        tax=tax,
        currency=currency,
    )
    closing = _rates_closed(invoice=invoice, credits=credits)
    if not closing:
        return totals
    by_rate = dict(totals.tax_by_rate)
    for rate, tax_left in closing.items():
        by_rate[rate] = RateTotal(taxable=by_rate[rate].taxable, tax=Money(tax_left, currency))
    tax_total = sum((entry.tax for entry in by_rate.values()), Money.zero(currency))
    return replace(totals, tax_by_rate=by_rate, tax=tax_total, gross=totals.net + tax_total)


def _rates_closed(*, invoice: Invoice, credits: list[_Credit]) -> dict[Decimal, Decimal]:
    """Rate → the tax left at it, for the rates this credit credits to the end."""
    credited = _credited_by_line(invoice)
    after = {c.line.pk: c.left_after for c in credits}
    open_rates = {
        line.tax_rate
        for line in invoice.lines.all()
        if after.get(line.pk, line.net - credited.get(line.pk, Decimal(0))) > 0
    }
    rates = {c.line.tax_rate for c in credits} - open_rates
    if not rates:
        return {}
    taxed = dict(invoice.taxes.filter(rate__in=rates).values_list("rate", "tax"))
    done = dict(
        CreditNoteTax.objects.filter(credit_note__invoice=invoice, rate__in=rates)
        .values("rate")
        .annotate(total=Sum("tax"))
        .values_list("rate", "total")
    )
    return {rate: taxed.get(rate, Decimal(0)) - done.get(rate, Decimal(0)) for rate in rates}


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


def _legs(*, invoice: Invoice, credits: list[_Credit], totals: Totals, refund_to: str):
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
