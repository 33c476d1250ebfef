"""What a credit note credits, decided before anything is written: the invoice lines asked
for (all that is left, or a quantity or a net amount of chosen lines), checked against what
is left to credit on each, and their totals at the invoice's own rates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Sum

from billtone.catalog.tax import TaxTreatment
from billtone.core.errors import ValidationFailed
from billtone.core.money import AmountError, Money, amount_parse
from billtone.invoicing.models import CreditNoteLine, CreditNoteTax, Invoice, InvoiceLine
from billtone.invoicing.totals import LineIn, RateTotal, Totals, invoice_totals

FULL = "full"


@dataclass(frozen=True)
class CreditLine:
    """Part of an invoice line to credit: a whole `quantity` of it, or an `amount` (net)."""

    position: int
    quantity: int | None = None
    amount: Money | None = None


@dataclass(frozen=True)
class Credit:
    line: InvoiceLine
    quantity: int
    unit_price: Decimal
    net: Decimal
    left_after: Decimal  # what is left to credit on the line afterwards


def _credited_by_line(invoice: Invoice) -> dict[int, Decimal]:
    rows = (
        CreditNoteLine.objects.filter(credit_note__invoice=invoice)
        .values("invoice_line_id")
        .annotate(total=Sum("net"))
    )
    return {row["invoice_line_id"]: row["total"] for row in rows}


def _wanted_by_position(invoice_lines, wanted: str | Sequence) -> dict[int, CreditLine]:
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


def credits_build(*, invoice: Invoice, invoice_lines, wanted) -> list[Credit]:
    by_position = {line.position: line for line in invoice_lines}
    credited = _credited_by_line(invoice)
    asked = _wanted_by_position(invoice_lines, wanted)
    errors: list[str] = []
    credits: list[Credit] = []
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
            credit = Credit(
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
    return Credit(line, quantity, unit_price, net, left - net), None


def credits_totals(*, invoice: Invoice, credits: list[Credit]) -> Totals:
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


def _rates_closed(*, invoice: Invoice, credits: list[Credit]) -> dict[Decimal, Decimal]:
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
