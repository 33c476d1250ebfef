"""Open invoices issued many at once, in the caller's transaction (a bill run's chunk), and
what follows them: their payment from business funds, their PDFs and emails
(docs/decisions/0020).

An open invoice is owed through the operator's `receivable` ledger account: its transaction
debits receivable the gross and credits revenue by kind and tax payable per rate. The
transactions go through the ledger's bulk poster; each invoice is checked against its
postings; the invoice numbers are taken last, as one block in one statement, so a chunk's
numbers are gap-free and a rollback gives them all back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, JSONObject

from billtone.accounts.models import BillingProfile
from billtone.catalog.tax import TaxTreatment
from billtone.core import clock
from billtone.core.errors import Conflict, ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.errors import InvoiceMismatch
from billtone.invoicing.models import Invoice, InvoiceLine, InvoiceSequence, InvoiceTax
from billtone.invoicing.services.issue import (
    SEQUENCE,
    _customer_snapshot,
    _operator_snapshot,
    invoice_line_rows,
    invoice_number,
    invoice_tax_rows,
)
from billtone.invoicing.totals import Totals
from billtone.ledger.bulk import BulkTransaction, transactions_post_bulk
from billtone.ledger.models import LedgerKind, Posting
from billtone.ledger.services import Leg, operator_ledger_accounts
from billtone.notifications.services import email_queue_bulk

logger = logging.getLogger(__name__)

EMAIL_KEY_PREFIX = "invoice:"
TRANSACTION_KIND = "bill"


@dataclass(frozen=True)
class OpenInvoiceIn:
    """One open invoice to issue: whose, its totals and tax, the ledger legs that post it
    (ledger kind and signed amount; receivable debited the gross), and its unique key."""

    profile: BillingProfile
    totals: Totals
    tax: TaxTreatment
    legs: Sequence[tuple[str, Money]]
    source_key: str
    memo: str


def _clean(item: OpenInvoiceIn) -> None:
    errors: dict[str, list[str]] = {}
    if not item.totals.lines or item.totals.gross.amount <= 0:
        errors["lines"] = ["An invoice has at least one line and a total above zero."]
    if item.totals.currency != item.profile.currency:
        errors["currency"] = [f"The account is billed in {item.profile.currency}."]
    if item.totals.reverse_charge != bool(item.tax.reverse_charge):
        errors["tax"] = ["The totals were computed under another tax treatment."]
    if errors:
        raise ValidationFailed(errors, detail=f"{item.source_key}: nothing was issued.")


def _postings_check(item: OpenInvoiceIn, postings: list[tuple[str, Decimal, str]]) -> None:
    """The transaction debits receivable the gross and credits revenue the net and tax
    payable each rate's tax; InvoiceMismatch if not."""
    totals = item.totals
    debited = earned = Decimal(0)
    taxes: list[Decimal] = []
    problems: list[str] = []
    for kind, amount, currency in postings:
        if currency != totals.currency:
            problems.append(f"a posting in {currency}")
        elif amount < 0:
            if kind != LedgerKind.RECEIVABLE:
                problems.append(f"a debit of {kind}, not receivable")
            debited -= amount
        elif kind == LedgerKind.TAX_PAYABLE:
            taxes.append(amount)
        elif kind.startswith("revenue_"):
            earned += amount
        else:
            problems.append(f"a credit to {kind}")
    expected = sorted(rate.tax.amount for rate in totals.tax_by_rate.values() if rate.tax.amount)
    if debited != totals.gross.amount:
        problems.append(f"{debited} debited to receivable, not the gross {totals.gross.amount}")
    if earned != totals.net.amount:
        problems.append(f"{earned} to revenue, not the net {totals.net.amount}")
    if sorted(taxes) != expected:
        problems.append(f"tax payable {sorted(taxes)}, not the tax per rate {expected}")
    if problems:
        raise InvoiceMismatch(f"{item.source_key}: " + "; ".join(problems) + ".")


def numbers_take(count: int) -> int:
    """Take `count` invoice numbers as one block in one statement; returns the first. The
    sequence row stays locked until the caller's transaction ends (gap-free, 0018)."""
    sql = (
        f"UPDATE {InvoiceSequence._meta.db_table} SET next_number = next_number + %s "  # noqa: S608
        "WHERE name = %s RETURNING next_number"
    )
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [count, SEQUENCE])
            row = cursor.fetchone()
        if row is not None:
            return row[0] - count
        try:  # the first invoice ever (or a test database flushed)
            with transaction.atomic():
                InvoiceSequence.objects.create(name=SEQUENCE, next_number=1)
        except IntegrityError:
            pass  # another issuer made it at the same moment
    raise RuntimeError("The invoice sequence could not be read.")


def _ledger_post(items: Sequence[OpenInvoiceIn], actor: Actor) -> list[int]:
    kinds_by_currency: dict[str, set[str]] = defaultdict(set)
    for item in items:
        kinds_by_currency[item.totals.currency].update(kind for kind, _ in item.legs)
    accounts = {
        currency: operator_ledger_accounts(kinds=sorted(kinds), currency=currency)
        for currency, kinds in kinds_by_currency.items()
    }
    posted = transactions_post_bulk(
        transactions=[
            BulkTransaction(
                kind=TRANSACTION_KIND,
                memo=item.memo,
                postings=[
                    Leg(accounts[item.totals.currency][kind], amount) for kind, amount in item.legs
                ],
                idempotency_key=item.source_key,
            )
            for item in items
        ],
        actor=actor,
    )
    replayed = [item.source_key for item, p in zip(items, posted, strict=True) if not p.created]
    if replayed:  # a transaction without its invoice: never left by this service
        raise Conflict(f"A ledger transaction exists already for {', '.join(replayed[:5])}.")
    return [p.transaction_id for p in posted]


def _postings_read(transaction_ids: list[int]) -> dict[int, list[tuple[str, Decimal, str]]]:
    found: dict[int, list[tuple[str, Decimal, str]]] = defaultdict(list)
    rows = Posting.objects.filter(transaction_id__in=transaction_ids).values_list(
        "transaction_id", "ledger_account__kind", "amount", "currency"
    )
    for transaction_id, kind, amount, currency in rows:
        found[transaction_id].append((kind, amount, currency))
    return found


def invoices_issue_open(
    *, invoices: Sequence[OpenInvoiceIn], actor: Actor, email_template: str
) -> list[Invoice]:
    """Issue `invoices` open (owed), in the caller's transaction, in the order given.

    Refused, and the caller's transaction must roll back: outside an atomic block
    (RuntimeError), a malformed invoice (ValidationFailed), a source key issued before
    (IntegrityError from the unique key: the caller decides which accounts to bill under
    its own locks), postings that are not the invoice (InvoiceMismatch). Each invoice's
    email is stored unrendered (`email_template`, rendered when sent); sending it and
    rendering the PDFs is the caller's to schedule after commit (invoice_documents_send),
    and the periodic sweeps make good a schedule lost in a crash.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("invoices_issue_open runs inside the caller's transaction.")
    items = list(invoices)
    if not items:
        return []
    for item in items:
        _clean(item)
    transaction_ids = _ledger_post(items, actor)
    postings = _postings_read(transaction_ids)
    for item, transaction_id in zip(items, transaction_ids, strict=True):
        _postings_check(item, postings[transaction_id])
    created = _invoices_write(items, transaction_ids, actor)
    email_queue_bulk(
        template=email_template,
        emails=Invoice.objects.filter(pk__in=[invoice.pk for invoice in created]).values(
            "account_id",
            key=Concat(Value(EMAIL_KEY_PREFIX), Cast("id", CharField())),
            context=JSONObject(invoice_id="id"),
        ),
    )
    return created


def _invoices_write(
    items: list[OpenInvoiceIn], transaction_ids: list[int], actor: Actor
) -> list[Invoice]:
    """The invoices, their lines and taxes, numbered from a block taken last."""
    operator = _operator_snapshot()
    issued_at = clock.now()
    label = actor.label[:200]
    first = numbers_take(len(items))  # last: the row stays locked until the caller commits
    rows = [
        Invoice(
            sequence_number=first + n,
            number=invoice_number(first + n),
            account_id=item.profile.account_id,
            issued_at=issued_at,
            issue_date=issued_at.astimezone(ZoneInfo(item.profile.timezone)).date(),
            currency=item.totals.currency,
            net=item.totals.net.amount,
            tax=item.totals.tax.amount,
            gross=item.totals.gross.amount,
            reverse_charge=bool(item.tax.reverse_charge),
            tax_mention=item.tax.mention or "",
            customer=_customer_snapshot(item.profile),
            operator=operator,
            ledger_transaction_id=transaction_id,
            source_key=item.source_key,
            status=Invoice.Status.OPEN,
            paid_at=None,
            created_by=label,
        )
        for n, (item, transaction_id) in enumerate(zip(items, transaction_ids, strict=True))
    ]
    created = _insert(Invoice, rows, with_ids=True)
    pairs = list(zip(created, items, strict=True))
    _insert(
        InvoiceLine,
        [
            line
            for invoice, item in pairs
            for line in invoice_line_rows(invoice_id=invoice.pk, totals=item.totals)
        ],
    )
    _insert(
        InvoiceTax,
        [
            tax
            for invoice, item in pairs
            for tax in invoice_tax_rows(invoice_id=invoice.pk, totals=item.totals)
        ],
    )
    return created


def _insert(model, rows: list, *, with_ids: bool = False) -> list:
    """bulk_create, or on PostgreSQL one COPY (ids taken from the table's sequence first when
    `with_ids`): a chunk's 500 invoices and 1,500 lines cost about a third of the time a
    bulk INSERT takes to build and run (docs/benchmarks.md, "Bill run")."""
    if connection.vendor != "postgresql" or not rows:
        return model.objects.bulk_create(rows)
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if with_ids or not f.primary_key]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if with_ids:
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608
                "FROM generate_series(1, %s)",
                [len(rows)],
            )
            for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                row.pk = pk
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # The values as they are (amounts are rounded Money already); JSON adapted by Django.
        json = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        f.get_db_prep_save(value, connection) if f.attname in json else value
                        for f in fields
                        for value in (getattr(row, f.attname),)
                    ]
                )
    for row in rows:
        row._state.adding = False
    return rows
