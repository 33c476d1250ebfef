"""Issuing an invoice, inside the transaction that posts what it invoices (checkout's).

The number is the last thing taken: the sequence row is moved on (one UPDATE … RETURNING,
which locks it) just before the invoice is inserted, and stays locked until the caller
commits; a rollback gives the number back. So numbers are gap-free and in the order of
commit (0018). Every issuer waits for that row, so a caller with other writes to do drafts
the invoice first (its key taken ahead, its lines, tax rows and email stored) and issues the
draft as late as it can (invoice_draft, invoice_draft_issue: decision 0034).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction

from billtone.accounts.models import Account, BillingProfile
from billtone.accounts.selectors import billing_profile_get
from billtone.accounts.validation import countries
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get
from billtone.catalog.tax import TaxTreatment
from billtone.core import clock
from billtone.core.errors import Conflict, ValidationFailed
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor
from billtone.invoicing.errors import InvoiceMismatch
from billtone.invoicing.models import Invoice, InvoiceLine, InvoiceSequence, InvoiceTax
from billtone.invoicing.services.emails import invoice_email_queue
from billtone.invoicing.totals import Totals
from billtone.ledger.models import LedgerKind, Transaction
from billtone.ledger.selectors import transaction_legs

SEQUENCE = "invoice"
NUMBER_PREFIX = "INV-"
NUMBER_DIGITS = 6
DESCRIPTION_LIMIT = InvoiceLine._meta.get_field("description").max_length


def invoice_number(sequence_number: int) -> str:
    """INV-000001 … INV-999999, then INV-1000000: one series that never restarts."""
    return f"{NUMBER_PREFIX}{sequence_number:0{NUMBER_DIGITS}d}"


def _customer_snapshot(profile: BillingProfile) -> dict[str, str]:
    return {
        "company_name": profile.company_name,
        "address_line1": profile.address_line1,
        "address_line2": profile.address_line2,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "region": profile.region,
        "country": profile.country,
        "country_name": countries().get(profile.country, profile.country),
        "tax_id": profile.tax_id,
        "billing_email": profile.billing_email,
        "timezone": profile.timezone,
    }


def _operator_snapshot(operator: OperatorProfile | None = None) -> dict[str, str]:
    operator = operator or operator_profile_get()
    return {
        "legal_name": operator.legal_name,
        "street": operator.street,
        "postal_code": operator.postal_code,
        "city": operator.city,
        "country": operator.country,
        "country_name": countries().get(operator.country, operator.country),
        "vat_id": operator.vat_id,
        "email": operator.email,
    }


def _ledger_check(*, account: Account, totals: Totals, ledger_transaction: Transaction) -> None:
    """The transaction takes `gross` from the account's business funds and gives `net` to
    revenue and call credit and the tax of each rate to tax payable; InvoiceMismatch if not."""
    currency = totals.currency
    debited = Decimal(0)
    earned = Decimal(0)
    taxes: list[Decimal] = []
    problems: list[str] = []
    for leg in transaction_legs(transaction_id=ledger_transaction.pk):
        if leg.currency != currency:
            problems.append(f"a posting in {leg.currency}")
        elif leg.amount < 0:
            if leg.kind != LedgerKind.BUSINESS_FUNDS or leg.account_id != account.pk:
                problems.append("a debit of another ledger account than the business funds")
            debited -= leg.amount
        elif leg.kind == LedgerKind.TAX_PAYABLE:
            taxes.append(leg.amount)
        elif leg.kind.startswith("revenue_") or (
            leg.kind == LedgerKind.CALL_CREDIT and leg.account_id == account.pk
        ):
            earned += leg.amount
        else:
            problems.append(f"a credit to {leg.kind}")
    expected_taxes = sorted(
        rate.tax.amount for rate in totals.tax_by_rate.values() if rate.tax.amount
    )
    if debited != totals.gross.amount:
        problems.append(f"{debited} taken from business funds, not the gross {totals.gross.amount}")
    if earned != totals.net.amount:
        problems.append(f"{earned} to revenue and call credit, not the net {totals.net.amount}")
    if sorted(taxes) != expected_taxes:
        problems.append(f"tax payable {sorted(taxes)}, not the tax per rate {expected_taxes}")
    if problems:
        raise InvoiceMismatch(
            f"Transaction #{ledger_transaction.pk} does not post this invoice: "
            + "; ".join(problems)
            + "."
        )


def _clean(*, account: Account, totals: Totals, tax: TaxTreatment, profile: BillingProfile) -> None:
    errors: dict[str, list[str]] = {}
    if not totals.lines:
        errors["lines"] = ["An invoice has at least one line."]
    if totals.gross.amount <= 0:
        errors["lines"] = ["Nothing to invoice: the total is zero."]
    if totals.currency != profile.currency:
        errors["currency"] = [
            f"The account is billed in {profile.currency}, not {totals.currency}."
        ]
    if totals.reverse_charge != bool(tax.reverse_charge):
        errors["tax"] = ["The totals were computed under another tax treatment."]
    if errors:
        raise ValidationFailed(errors, detail="The invoice was refused; nothing was issued.")


def _number_take() -> int:
    """The next number, its row locked until the caller's transaction ends."""
    taken = _number_move_on()
    if taken is None:  # the first invoice ever (or a test database flushed)
        try:
            with transaction.atomic():
                InvoiceSequence.objects.create(name=SEQUENCE, next_number=1)
        except IntegrityError:
            pass  # another issuer made it at the same moment
        taken = _number_move_on()
    return taken


def _number_move_on() -> int | None:
    # One statement instead of SELECT … FOR UPDATE then UPDATE (the ORM's update cannot say
    # RETURNING): the UPDATE locks the row until the caller's transaction ends and returns
    # the number it took. SQLite has RETURNING since 3.35, PostgreSQL long before.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoicesequence SET next_number = next_number + 1 "
            "WHERE name = %s RETURNING next_number - 1",
            [SEQUENCE],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _replayed(*, account: Account, source_key: str, ledger_transaction: Transaction):
    # Plain SQL: a first issue finds nothing, and the ORM's query building cost ten times the
    # round trip (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM invoicing_invoice WHERE source_key = %s", [source_key])
        found = cursor.fetchone()
    if found is None:
        return None
    existing = Invoice.objects.get(pk=found[0])
    if existing.account_id != account.pk or existing.ledger_transaction_id != ledger_transaction.pk:
        raise Conflict(f"An invoice for {source_key!r} was issued already for another payment.")
    return existing


_INVOICE_ROWS = ModelColumns(Invoice, "i")
_LINE_ROWS = ModelColumns(InvoiceLine, "l")
_TAX_ROWS = ModelColumns(InvoiceTax, "t")


def invoice_issue(
    *,
    account: Account,
    totals: Totals,
    tax: TaxTreatment,
    ledger_transaction: Transaction,
    source_key: str,
    actor: Actor,
    operator: OperatorProfile | None = None,
) -> Invoice:
    """Issue the invoice of `totals`, paid by `ledger_transaction`, in the caller's transaction.
    `operator`: the operator's profile as the caller read it for `tax` in this request (a
    checkout's quote), for the invoice's snapshot; read here if not given.

    Refused (and the caller's transaction must roll back): outside an atomic block
    (RuntimeError: a programming error), totals of another currency or tax treatment, or not
    equal to the transaction's postings (InvoiceMismatch). The same `source_key` again returns
    the first invoice. After commit one task renders the PDF and emails it to the billing email.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoice_issue runs inside the transaction that posts the payment.")
    replay = _replayed(
        account=account, source_key=source_key, ledger_transaction=ledger_transaction
    )
    if replay is not None:
        return replay
    draft = invoice_draft(
        account=account,
        totals=totals,
        tax=tax,
        source_key=source_key,
        actor=actor,
        operator=operator,
    )
    return invoice_draft_issue(draft=draft, ledger_transaction=ledger_transaction)


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice whose lines, tax rows and email are stored in the caller's transaction but
    whose own row is not yet: `invoice_draft_issue` takes its number and inserts it, last."""

    invoice: Invoice  # its key taken ahead; not inserted
    totals: Totals


def invoice_draft(
    *,
    account: Account,
    totals: Totals,
    tax: TaxTreatment,
    source_key: str,
    actor: Actor,
    operator: OperatorProfile | None = None,
) -> InvoiceDraft:
    """The first half of `invoice_issue` (same arguments but the ledger transaction, same
    refusals but InvoiceMismatch), for a caller that posts what the invoice says after doing
    its other writes: the invoice's key is taken ahead, its lines, tax rows and email stored
    now (they and the caller's rows refer to `draft.invoice.pk`), and its own row, with its
    number, is inserted by `invoice_draft_issue`, which the caller must call in the same
    transaction, as late as it can: the number's row stays locked from then until commit
    (0018), so what comes after it is what every issuer waits for (decision 0034). A draft
    never issued leaves rows that refer to a missing invoice: the foreign keys, checked at
    commit, refuse the commit and nothing is stored. No replay is looked up: the caller keeps
    `source_key` unused (a checkout locked while still open is invoiced only in the
    transaction that completes it); the unique key would still refuse a second invoice."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoice_issue runs inside the transaction that posts the payment.")
    profile = billing_profile_get(account=account)
    _clean(account=account, totals=totals, tax=tax, profile=profile)
    issued_at = clock.now()
    invoice = Invoice(
        pk=_key_take(),
        account=account,
        issued_at=issued_at,
        issue_date=issued_at.astimezone(ZoneInfo(profile.timezone)).date(),
        currency=totals.currency,
        net=totals.net.amount,
        tax=totals.tax.amount,
        gross=totals.gross.amount,
        reverse_charge=bool(tax.reverse_charge),
        tax_mention=tax.mention or "",
        customer=_customer_snapshot(profile),
        operator=_operator_snapshot(operator),
        source_key=source_key,
        status=Invoice.Status.PAID,  # checkout's: paid by the ledger transaction
        paid_at=issued_at,
        created_by=actor.label[:200],
    )
    _lines_store(invoice=invoice, totals=totals)
    # One task after commit, not two: the email's renders the PDF first (emails.py), and a
    # lost one leaves the delivery pending for notifications' retry and the PDF pending for
    # the sweep (decision 0021).
    invoice_email_queue(invoice=invoice)
    return InvoiceDraft(invoice=invoice, totals=totals)


def invoice_draft_issue(*, draft: InvoiceDraft, ledger_transaction: Transaction) -> Invoice:
    """The draft's invoice, paid by `ledger_transaction`, checked against its postings
    (InvoiceMismatch), numbered and inserted: the issued invoice."""
    invoice = draft.invoice
    _ledger_check(
        account=invoice.account, totals=draft.totals, ledger_transaction=ledger_transaction
    )
    invoice.ledger_transaction = ledger_transaction
    invoice.sequence_number = _number_take()  # last: the row stays locked until commit
    invoice.number = invoice_number(invoice.sequence_number)
    # Written once (core/rows.py): every checkout issues one (decision 0021).
    return _INVOICE_ROWS.insert_keyed(invoice)


def _key_take() -> int:
    """An invoice's key, taken ahead of its INSERT and never given to another: PostgreSQL's
    sequence of the key; on SQLite the next after every key used, by an invoice or by the
    lines of a draft not issued yet (its write lock is held from BEGIN: settings' IMMEDIATE
    transactions)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence('invoicing_invoice', 'id'))")
        else:
            cursor.execute(
                "SELECT max(coalesce((SELECT max(id) FROM invoicing_invoice), 0), "
                "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'invoicing_invoice'), 0), "
                "coalesce((SELECT max(invoice_id) FROM invoicing_invoiceline), 0)) + 1"
            )
        return cursor.fetchone()[0]


def _lines_store(*, invoice: Invoice, totals: Totals) -> None:
    """The invoice's lines, then its tax rows, each in one INSERT."""
    _LINE_ROWS.insert(*invoice_line_rows(invoice_id=invoice.pk, totals=totals))
    _TAX_ROWS.insert(*invoice_tax_rows(invoice_id=invoice.pk, totals=totals))


def invoice_line_rows(*, invoice_id: int, totals: Totals) -> list[InvoiceLine]:
    """An invoice's lines as its totals priced them, not saved (one issue, or a bill run's
    chunk at once)."""
    return [
        InvoiceLine(
            invoice_id=invoice_id,
            position=position,
            description=entry.line.description[:DESCRIPTION_LIMIT],
            kind=entry.line.kind,
            product_id=entry.line.product_id,
            billing=entry.line.billing,
            quantity=entry.line.quantity,
            unit_price=entry.line.unit_price.amount,
            net=entry.net.amount,
            tax_rate=entry.rate,
            period_start=entry.line.period_start,
            period_end=entry.line.period_end,
        )
        for position, entry in enumerate(totals.lines, start=1)
    ]


def invoice_tax_rows(*, invoice_id: int, totals: Totals) -> list[InvoiceTax]:
    """An invoice's taxable amount and tax per rate, not saved."""
    return [
        InvoiceTax(invoice_id=invoice_id, rate=rate, taxable=e.taxable.amount, tax=e.tax.amount)
        for rate, e in totals.rates
    ]
