"""invoice_issue: numbers gap-free and in order, totals equal to the ledger's, snapshots,
replays, and the PDF and email after commit only; its two halves, invoice_draft and
invoice_draft_issue (decision 0034)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from billtone.accounts.models import BillingProfile
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.invoicing.errors import InvoiceMismatch
from billtone.invoicing.models import (
    ImmutableError,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceTax,
)
from billtone.invoicing.services import invoice_draft, invoice_draft_issue, invoice_issue
from billtone.invoicing.tests.conftest import SYSTEM, issue, line, paid, reverse_charge, standard
from billtone.invoicing.totals import invoice_totals
from billtone.ledger.models import Transaction
from billtone.notifications.models import EmailDelivery


class Boom(Exception):
    pass


def test_numbers_are_sequential_and_formatted(customer):
    numbers = [issue(customer).number for _ in range(3)]
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]
    assert InvoiceSequence.objects.get(name="invoice").next_number == 4


def test_a_rolled_back_issue_gives_its_number_back(customer):
    first = issue(customer)
    with pytest.raises(Boom), transaction.atomic():
        taken = issue(customer)
        assert taken.number == "INV-000002"
        raise Boom  # e.g. allocation failed after the invoice: everything rolls back
    assert not Invoice.objects.filter(number="INV-000002").exists()
    assert issue(customer).sequence_number == first.sequence_number + 1


def test_the_invoice_keeps_the_totals_the_parties_and_the_lines(customer):
    lines = [
        line(price="12.00", quantity=2),
        line(description="Setup", price="5.00", period=None, kind="setup"),
    ]
    invoice = issue(customer, lines=lines, tax=standard("19"))
    assert (invoice.net, invoice.tax, invoice.gross) == (
        Decimal("29"),
        Decimal("5.51"),
        Decimal("34.51"),
    )
    assert invoice.currency == "EUR"
    assert [(x.position, x.description, x.quantity, x.net) for x in invoice.lines.all()] == [
        (1, "National plan", 2, Decimal("24")),
        (2, "Setup", 1, Decimal("5")),
    ]
    assert [(t.rate, t.taxable, t.tax) for t in invoice.taxes.all()] == [
        (Decimal("19"), Decimal("29"), Decimal("5.51"))
    ]
    assert invoice.customer["company_name"] == "Acme Telecom GmbH"
    assert invoice.customer["tax_id"] == "DE136695976"
    assert invoice.operator["vat_id"] == "NL123456782B01"
    # The billing profile changes later; the invoice does not.
    BillingProfile.objects.filter(account=customer).update(company_name="Renamed AG")
    assert Invoice.objects.get(pk=invoice.pk).customer["company_name"] == "Acme Telecom GmbH"


def test_the_issue_date_is_the_account_s_local_date(customer, time_machine):
    BillingProfile.objects.filter(account=customer).update(timezone="Pacific/Auckland")
    customer.billing_profile.refresh_from_db()
    time_machine.move_to("2026-12-31T12:30:00Z", tick=False)  # 1 January 01:30 in Auckland
    invoice = issue(customer)
    assert invoice.issue_date.isoformat() == "2027-01-01"


def test_reverse_charge_invoices_carry_no_tax_and_the_mention(customer):
    invoice = issue(customer, tax=reverse_charge())
    assert invoice.reverse_charge is True
    assert invoice.tax == 0
    assert invoice.tax_mention.startswith("Reverse charge")
    assert [(t.rate, t.tax) for t in invoice.taxes.all()] == [(Decimal("0"), Decimal("0"))]


@pytest.mark.parametrize(
    "change",
    ["less_revenue", "no_tax"],
)
def test_totals_that_differ_from_the_ledger_are_refused_and_no_number_is_used(customer, change):
    tax = standard("19")
    totals = invoice_totals(lines=[line()], tax=tax, currency="EUR")
    other = invoice_totals(
        lines=[line(price="11.00" if change == "less_revenue" else "12.00")],
        tax=reverse_charge() if change == "no_tax" else tax,
        currency="EUR",
    )
    with transaction.atomic():
        posted = paid(customer, other, key=f"checkout:{change}")
    with pytest.raises(InvoiceMismatch), transaction.atomic():
        invoice_issue(
            account=customer,
            totals=totals,
            tax=tax,
            ledger_transaction=posted,
            source_key=f"checkout:{change}",
            actor=SYSTEM,
        )
    assert not Invoice.objects.exists()
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()


def test_another_account_s_funds_do_not_pay_an_invoice(customer, other_account):
    tax = standard("19")
    totals = invoice_totals(lines=[line(currency="GBP")], tax=tax, currency="GBP")
    with transaction.atomic():
        posted = paid(other_account, totals, key="checkout:other")
    BillingProfile.objects.filter(account=customer).update(currency="GBP")
    customer.billing_profile.refresh_from_db()
    with pytest.raises(InvoiceMismatch, match="another ledger account"), transaction.atomic():
        invoice_issue(
            account=customer,
            totals=totals,
            tax=tax,
            ledger_transaction=posted,
            source_key="checkout:x",
            actor=SYSTEM,
        )


def test_totals_in_another_currency_or_tax_treatment_are_refused(customer):
    tax = standard("19")
    totals = invoice_totals(lines=[line(currency="GBP")], tax=tax, currency="GBP")
    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        invoice_issue(
            account=customer,
            totals=totals,
            tax=reverse_charge(),
            ledger_transaction=Transaction(),
            source_key="k",
            actor=SYSTEM,
        )
    assert set(refused.value.errors) == {"currency", "tax"}


def test_outside_a_transaction_it_refuses_to_run(customer):
    totals = invoice_totals(lines=[line()], tax=standard(), currency="EUR")
    connection = transaction.get_connection()
    atomic = connection.in_atomic_block
    connection.in_atomic_block = False  # as if called in autocommit (the test holds one open)
    try:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            invoice_issue(
                account=customer,
                totals=totals,
                tax=standard(),
                ledger_transaction=Transaction(),
                source_key="k",
                actor=SYSTEM,
            )
    finally:
        connection.in_atomic_block = atomic


def test_the_same_source_key_returns_the_first_invoice(customer):
    first = issue(customer, key="checkout:42")
    tax = standard()
    totals = invoice_totals(lines=[line()], tax=tax, currency="EUR")
    with transaction.atomic():
        again = invoice_issue(
            account=customer,
            totals=totals,
            tax=tax,
            ledger_transaction=first.ledger_transaction,
            source_key="checkout:42",
            actor=SYSTEM,
        )
    assert again.pk == first.pk
    assert Invoice.objects.count() == 1


def test_an_invoice_is_never_edited_or_deleted(customer):
    invoice = issue(customer)
    invoice.gross = Decimal("1.00")
    with pytest.raises(ImmutableError):
        invoice.save()
    with pytest.raises(ImmutableError):
        Invoice.objects.filter(pk=invoice.pk).update(gross=Decimal("1.00"))
    with pytest.raises(ImmutableError):
        Invoice.objects.all().delete()
    with pytest.raises(ImmutableError):
        invoice.lines.first().delete()


def test_pdf_and_email_only_after_commit(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = issue(customer)
    # Inside the transaction: an email stored, nothing rendered or sent.
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "pending"
    delivery = EmailDelivery.objects.get(key=f"invoice:{invoice.pk}")
    assert delivery.status == "pending" and mail.outbox == []
    for callback in callbacks:  # the commit: the email's task makes the PDF, then sends it
        callback()
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.pdf_status == "ready" and bytes(invoice.pdf).startswith(b"%PDF")
    (sent,) = mail.outbox
    assert sent.to == [customer.billing_profile.billing_email]
    assert sent.subject == "Invoice INV-000001 from Billtone Telecom B.V."
    assert "14,28\xa0€" in sent.body  # en_DE, as the customer's other amounts
    (attachment,) = sent.attachments
    assert attachment[0] == "INV-000001.pdf" and attachment[2] == "application/pdf"
    assert attachment[1] == bytes(invoice.pdf)
    assert EmailDelivery.objects.get(pk=delivery.pk).status == "sent"


def test_one_task_after_commit_the_email_s(
    customer, monkeypatch, django_capture_on_commit_callbacks
):
    from billtone.invoicing import tasks

    published = []
    monkeypatch.setattr(tasks.invoice_pdf_render_task, "delay", published.append)
    with django_capture_on_commit_callbacks(execute=True):  # the tasks run eagerly (tests)
        invoice = issue(customer)
    assert published == []  # the PDF has no task of its own (decision 0021)
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.pdf_status == "ready"
    assert mail.outbox[0].attachments[0][0] == "INV-000001.pdf"
    tasks.invoice_pdf_render_task(invoice.pk)  # a message queued before: nothing to do
    assert Invoice.objects.get(pk=invoice.pk).pdf_rendered_at == invoice.pdf_rendered_at


def test_a_pdf_that_fails_is_marked_and_made_again(customer, monkeypatch):
    from billtone.invoicing.services import invoice_pdf_render, pdfs

    invoice = issue(customer)
    monkeypatch.setattr(
        pdfs, "invoice_pdf", lambda invoice: (_ for _ in ()).throw(OSError("no fonts"))
    )
    failed = invoice_pdf_render(invoice_id=invoice.pk)
    assert (failed.pdf_status, failed.pdf_error) == ("failed", "OSError: no fonts")
    monkeypatch.setattr(pdfs, "invoice_pdf", lambda invoice: b"%PDF-1.7 test")
    assert invoice_pdf_render(invoice_id=invoice.pk).pdf_status == "ready"
    assert Money(invoice.gross, invoice.currency) == Money("14.28", "EUR")


def test_the_catalog_s_tax_treatment_decides_rate_and_mention(customer, operator):
    from billtone.catalog.tax import REVERSE_CHARGE_MENTION, tax_treatment

    rates = {"DE": Decimal("19.00"), "NL": Decimal("21.00")}
    german_business = tax_treatment(
        operator_country="NL", customer_country="DE", customer_vat_id="DE136695976", rates=rates
    )
    invoice = issue(customer, tax=german_business)
    assert (invoice.reverse_charge, invoice.tax, invoice.tax_mention) == (
        True,
        0,
        REVERSE_CHARGE_MENTION,
    )
    dutch = tax_treatment(
        operator_country="NL", customer_country="NL", customer_vat_id="", rates=rates
    )
    invoice = issue(customer, tax=dutch)
    assert (invoice.reverse_charge, invoice.tax, invoice.tax_mention) == (
        False,
        Decimal("2.52"),
        "",
    )


def test_pdfs_whose_task_was_lost_are_swept(customer, time_machine):
    from billtone.invoicing.services import invoice_pdfs_due

    time_machine.move_to("2026-12-05T10:00:00Z", tick=False)
    lost = issue(customer)
    time_machine.move_to("2026-12-05T10:04:00Z", tick=False)
    assert invoice_pdfs_due() == []  # its task may still come
    time_machine.move_to("2026-12-05T10:06:00Z", tick=False)
    assert invoice_pdfs_due() == [lost.pk]


def test_an_email_whose_pdf_cannot_be_made_waits_and_is_retried(
    customer, monkeypatch, django_capture_on_commit_callbacks
):
    from billtone.invoicing.services import pdfs

    monkeypatch.setattr(pdfs, "invoice_pdf", lambda invoice: (_ for _ in ()).throw(OSError("x")))
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue(customer)
    delivery = EmailDelivery.objects.get(key=f"invoice:{invoice.pk}")
    assert mail.outbox == []
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "is not ready" in delivery.last_error
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "failed"


def _draft(customer, key: str):
    tax = standard("19")
    totals = invoice_totals(lines=[line()], tax=tax, currency="EUR")
    draft = invoice_draft(account=customer, totals=totals, tax=tax, source_key=key, actor=SYSTEM)
    return draft, totals


def test_a_draft_stores_its_lines_first_and_takes_its_number_when_issued(customer):
    """Decision 0034: the lines, tax rows and email of a draft refer to a key taken ahead;
    the invoice's own row and its number come last, in the same transaction."""
    issue(customer)  # INV-000001
    with transaction.atomic():
        draft, totals = _draft(customer, key="checkout:draft")
        key = draft.invoice.pk
        assert not Invoice.objects.filter(pk=key).exists()
        assert InvoiceLine.objects.filter(invoice_id=key).count() == 1
        assert EmailDelivery.objects.filter(key=f"invoice:{key}").exists()
        assert InvoiceSequence.objects.get(name="invoice").next_number == 2  # not taken yet
        invoice = invoice_draft_issue(
            draft=draft, ledger_transaction=paid(customer, totals, "checkout:draft")
        )
    assert invoice.pk == key and invoice.number == "INV-000002"
    stored = Invoice.objects.get(pk=key)
    assert (stored.number, stored.gross, stored.ledger_transaction_id) == (
        "INV-000002",
        totals.gross.amount,
        invoice.ledger_transaction_id,
    )
    assert [x.net for x in stored.lines.all()] == [Decimal("12")]


def test_a_draft_that_does_not_match_its_postings_uses_no_number(customer):
    with pytest.raises(InvoiceMismatch), transaction.atomic():
        draft, _ = _draft(customer, key="checkout:short")
        cheaper = invoice_totals(lines=[line(price="11.00")], tax=standard("19"), currency="EUR")
        invoice_draft_issue(draft=draft, ledger_transaction=paid(customer, cheaper, "k-short"))
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()


@pytest.mark.django_db(transaction=True)
def test_a_draft_never_issued_cannot_be_committed(customer):
    """Its lines refer to an invoice that does not exist: the foreign keys, checked at commit,
    refuse the whole transaction."""
    with pytest.raises(IntegrityError), transaction.atomic():
        _draft(customer, key="checkout:forgotten")
    assert not InvoiceLine.objects.exists() and not InvoiceTax.objects.exists()
    assert not EmailDelivery.objects.exists() and not Invoice.objects.exists()


def test_keys_taken_ahead_are_never_given_twice(customer):
    with transaction.atomic():
        first, totals = _draft(customer, key="checkout:a")
        invoice_draft_issue(draft=first, ledger_transaction=paid(customer, totals, "checkout:a"))
    after = issue(customer)  # an invoice through invoice_issue, also keyed ahead
    with transaction.atomic():
        again, _ = _draft(customer, key="checkout:b")
        assert len({first.invoice.pk, after.pk, again.invoice.pk}) == 3
        assert again.invoice.pk > after.pk > first.invoice.pk
        transaction.set_rollback(True)


def test_two_drafts_in_one_transaction_get_two_keys(customer):
    """On SQLite too, where the key is the next after those used: a draft's lines count."""
    with transaction.atomic():
        first, totals = _draft(customer, key="checkout:one")
        second, _ = _draft(customer, key="checkout:two")
        assert second.invoice.pk != first.invoice.pk
        paid_first = paid(customer, totals, "checkout:one")
        paid_second = paid(customer, totals, "checkout:two")
        invoice_draft_issue(draft=first, ledger_transaction=paid_first)
        invoice_draft_issue(draft=second, ledger_transaction=paid_second)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        "INV-000001",
        "INV-000002",
    ]
    assert InvoiceLine.objects.filter(invoice_id=second.invoice.pk).count() == 1
