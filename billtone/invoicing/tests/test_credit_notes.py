"""credit_note_issue: full and part credits of paid and open invoices, to business funds, the
card or off what is owed; the ledger balanced and equal to the credit note; refusals that
write nothing; replays; the PDF, the email and the refund after commit only."""

from decimal import Decimal

import pytest
from django.core import mail

from billtone.core.errors import ValidationFailed
from billtone.invoicing.models import CreditNote, ImmutableError, Invoice, InvoiceSequence
from billtone.invoicing.services import FULL, CreditLine, credit_note_issue, credit_note_refund
from billtone.invoicing.tests.conftest import SYSTEM, issue, line
from billtone.invoicing.tests.credit_helpers import (
    card_paid_invoice,
    funds,
    money,
    open_invoice,
    operator_balance,
)
from billtone.ledger.models import LedgerAccount, Posting
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.notifications.models import EmailDelivery
from billtone.payments.models import Payment

_n = iter(range(1, 10_000))


def credit(invoice, lines=FULL, refund_to="business_funds", key=None, reason="Wrong plan"):
    return credit_note_issue(
        invoice_id=invoice.pk,
        lines=lines,
        reason=reason,
        refund_to=refund_to,
        actor=SYSTEM,
        idempotency_key=key or f"credit-{next(_n)}",
    )


@pytest.fixture
def mixed(customer):
    """2 × 12.00 at 19 %, a phone at 99.99 (19 %), a manual at 10.05 (7 %): gross 158.30."""
    return issue(
        customer,
        lines=[
            line(description="National plan", price="12.00", quantity=2),
            line(description="Desk phone", price="99.99", period=None, kind="store_item"),
            line(
                description="Manual",
                price="10.05",
                period=None,
                kind="store_item",
                tax_rate=Decimal("7"),
            ),
        ],
    )


def postings_of(note) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for p in Posting.objects.filter(transaction=note.ledger_transaction).select_related(
        "ledger_account"
    ):
        found[p.ledger_account.kind] = found.get(p.ledger_account.kind, 0) + p.amount
    return found


def test_a_full_credit_of_a_paid_invoice_goes_back_to_business_funds(mixed, customer):
    before = funds(customer)
    note = credit(mixed)
    assert note.number == "CN-000001"
    assert (note.net, note.tax, note.gross) == (mixed.net, mixed.tax, mixed.gross)
    assert [(t.rate, t.taxable, t.tax) for t in note.taxes.all()] == [
        (t.rate, t.taxable, t.tax) for t in mixed.taxes.all()
    ]
    assert funds(customer) == before + Decimal("158.30")
    assert postings_of(note) == {
        "revenue_subscriptions": Decimal("-24"),
        "revenue_one_off": Decimal("-110.04"),
        "tax_payable": Decimal("-24.26"),
        "business_funds": Decimal("158.30"),
    }
    assert sum(postings_of(note).values()) == 0
    invoice = Invoice.objects.get(pk=mixed.pk)
    assert invoice.credited == invoice.gross and invoice.status == "paid"
    assert InvoiceSequence.objects.get(name="credit_note").next_number == 2
    with pytest.raises(ValidationFailed) as refused:
        credit(mixed)
    assert refused.value.errors["lines"] == ["Nothing is left to credit on this invoice."]


def test_part_credits_by_quantity_and_amount_add_up_to_the_invoice(mixed, customer):
    before = funds(customer)
    one_plan = credit(mixed, lines=[(1, 1)])
    assert (one_plan.net, one_plan.tax, one_plan.gross) == (
        Decimal("12"),
        Decimal("2.28"),
        Decimal("14.28"),
    )
    some = credit(mixed, lines=[CreditLine(position=2, amount=money("10.01")), (3, "3.33")])
    # 10.01 at 19 % = 1.9019 → 1.90; 3.33 at 7 % = 0.2331 → 0.23: per rate, rounded once.
    assert [(t.rate, t.taxable, t.tax) for t in some.taxes.all()] == [
        (Decimal("7"), Decimal("3.33"), Decimal("0.23")),
        (Decimal("19"), Decimal("10.01"), Decimal("1.90")),
    ]
    assert some.gross == Decimal("15.47")
    assert Invoice.objects.get(pk=mixed.pk).credited == Decimal("29.75")
    rest = credit(mixed)  # what is left: the last rate closes on the tax left at it
    assert Invoice.objects.get(pk=mixed.pk).credited == mixed.gross
    assert one_plan.gross + some.gross + rest.gross == mixed.gross
    assert one_plan.tax + some.tax + rest.tax == mixed.tax
    assert [x.number for x in (one_plan, some, rest)] == ["CN-000001", "CN-000002", "CN-000003"]
    assert funds(customer) == before + mixed.gross


def test_over_credit_is_refused_and_nothing_is_written(mixed, customer):
    credit(mixed, lines=[(1, 1)])
    before = (funds(customer), CreditNote.objects.count(), Posting.objects.count())
    for lines, message in [
        ([(1, 2)], "at most 12.00 EUR"),  # only one of the two plans left
        ([(2, "100.00")], "at most 99.99 EUR"),
        ([(9, 1)], "no line 9"),
        ([(1, 0)], "a quantity from 1 to 2"),
        ([(2, "-5")], "greater than zero"),
        ([(2, "1.001")], "decimal places"),
        ([(1, 1), (1, 1)], "named twice"),
        ([], "Choose the lines"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            credit(mixed, lines=lines)
        assert message in " ".join(refused.value.errors["lines"]), message
    assert (funds(customer), CreditNote.objects.count(), Posting.objects.count()) == before
    assert InvoiceSequence.objects.get(name="credit_note").next_number == 2
    assert Invoice.objects.get(pk=mixed.pk).credited == Decimal("14.28")


def test_the_destination_must_fit_the_invoice(mixed, customer):
    with pytest.raises(ValidationFailed) as refused:
        credit(mixed, refund_to="invoice_due")
    assert "paid" in refused.value.errors["refund_to"][0]
    with pytest.raises(ValidationFailed) as refused:
        credit(mixed, refund_to="card")  # paid from business funds, not by a card
    assert "not paid by a card" in refused.value.errors["refund_to"][0]
    with pytest.raises(ValidationFailed):
        credit(mixed, reason="  ")
    assert not CreditNote.objects.exists()


def test_an_open_invoice_is_credited_off_what_it_owes_and_settled_in_full(customer):
    invoice = open_invoice(customer, lines=[line(price="12.00", quantity=2)])
    receivable = operator_balance("receivable")
    before = funds(customer)
    with pytest.raises(ValidationFailed):
        credit(invoice, refund_to="business_funds")
    part = credit(invoice, lines=[(1, 1)], refund_to="invoice_due")
    assert part.gross == Decimal("14.28")
    assert operator_balance("receivable") == receivable + Decimal("14.28")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited) == ("open", Decimal("14.28"))
    credit(invoice, refund_to="invoice_due")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited) == ("paid", invoice.gross)
    assert invoice.paid_at is not None
    assert operator_balance("receivable") == receivable + invoice.gross  # owes nothing now
    assert funds(customer) == before  # nothing was paid, so nothing goes back


def test_a_card_paid_invoice_is_refunded_to_the_card(customer, django_capture_on_commit_callbacks):
    invoice, payment = card_paid_invoice(customer, lines=[line(price="12.00", quantity=2)])
    before, clearing = funds(customer), operator_balance("card_clearing")
    with django_capture_on_commit_callbacks(execute=True):
        note = credit(invoice, lines=[(1, 1)], refund_to="card", key="k-card")
    note.refresh_from_db()
    assert note.refund_status == "succeeded"
    refund = Payment.objects.get(pk=note.refund_payment_id)
    assert (refund.kind, refund.refund_of_id, refund.amount) == ("refund", payment.pk, note.gross)
    assert funds(customer) == before  # credited, then sent on to the card
    assert operator_balance("card_clearing") == clearing + note.gross  # out to the card
    # More than the card paid (business funds paid the rest): refused, funds offered instead.
    partly, _ = card_paid_invoice(customer, key="basket-checkout:78", charged=money("10.00"))
    with pytest.raises(ValidationFailed) as refused:
        credit(partly, refund_to="card")
    assert refused.value.errors["refund_to"] == [
        "Not to the card: at most 10.00 EUR of its card payment can be refunded; credit "
        "business funds instead."
    ]
    assert credit(partly, lines=[(1, "8.40")], refund_to="card").gross == Decimal("10.00")


def test_a_replay_returns_the_first_credit_note(mixed, customer):
    first = credit(mixed, lines=[(1, 1)], key="same")
    again = credit(mixed, lines=[(1, 1)], key="same")
    assert again.pk == first.pk and CreditNote.objects.count() == 1
    assert Invoice.objects.get(pk=mixed.pk).credited == first.gross


def test_pdf_and_email_after_commit_with_the_pdf_attached(
    mixed, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = credit(mixed, lines=[(2, 1)])
    note.refresh_from_db()
    assert note.pdf_status == "ready", note.pdf_error
    delivery = EmailDelivery.objects.get(key=f"credit-note:{note.pk}")
    assert delivery.status == "sent"
    sent = [m for m in mail.outbox if note.number in m.subject]
    assert len(sent) == 1
    assert sent[0].to == [customer.billing_profile.billing_email]
    assert mixed.number in sent[0].body
    ((name, content, mimetype),) = sent[0].attachments
    assert (name, mimetype) == (f"{note.number}.pdf", "application/pdf")
    assert content == bytes(note.pdf)


def test_a_card_refund_refused_later_leaves_the_money_on_business_funds(customer):
    invoice, _ = card_paid_invoice(customer, lines=[line(price="12.00", quantity=2)])
    note = credit(invoice, refund_to="card")  # committed; the refund task not run yet
    spend = customer_ledger_accounts(account=customer).business_funds
    funds_transfer(  # the customer spends the funds before the refund is asked for
        source=spend,
        destination=operator_ledger_account(kind="revenue_one_off", currency="EUR"),
        amount=money(str(funds(customer))),
        kind="test_spend",
        memo="Spent",
        idempotency_key="spend-all",
        actor=SYSTEM,
    )
    spent = funds(customer)
    note = credit_note_refund(credit_note_id=note.pk)
    assert note.refund_status == "failed" and "Business funds" in note.refund_error
    assert note.refund_payment_id is None and funds(customer) == spent
    assert credit_note_refund(credit_note_id=note.pk).refund_status == "failed"  # once


def test_a_call_credit_line_takes_the_call_credit_back(customer):
    invoice = issue(
        customer,
        lines=[line(description="Call credit 20", price="20.00", period=None, kind="credit_pack")],
    )
    call_credit = customer_ledger_accounts(account=customer).call_credit
    funds_transfer(  # as checkout posts a pack (this test's helper posts revenue instead)
        source=operator_ledger_account(kind="bank_clearing", currency="EUR"),
        destination=call_credit,
        amount=money("20.00"),
        kind="test_pack",
        memo="Call credit",
        idempotency_key="pack-20",
        actor=SYSTEM,
    )
    note = credit(invoice)
    assert postings_of(note)["call_credit"] == Decimal("-20")
    assert LedgerAccount.objects.get(pk=call_credit.pk).balance == 0


def test_credit_notes_are_written_once(mixed):
    note = credit(mixed, lines=[(1, 1)])
    note.reason = "edited"
    with pytest.raises(ImmutableError):
        note.save()
    with pytest.raises(ImmutableError):
        CreditNote.objects.filter(pk=note.pk).update(gross=1)
    with pytest.raises(ImmutableError):
        note.delete()
