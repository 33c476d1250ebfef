"""Bill runs against the database: exactly once, failures alone, funds then card, declines
left open, paying from funds, Next Bill's payment forecast, subscriptions ended or changed."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billtone.billing.models import BillFailure, BillRun
from billtone.billing.selectors import accounts_due, next_bills
from billtone.billing.services import bill_chunk, bill_run
from billtone.billing.tests.conftest import ACTOR, DECLINES, buy, card_on, fund
from billtone.catalog.models import OperatorProfile
from billtone.core.money import Money
from billtone.invoicing.models import CreditNote, Invoice, Subscription
from billtone.invoicing.selectors import invoices_open
from billtone.invoicing.services import (
    InvoiceFundsShort,
    invoice_pay_from_funds,
    subscription_end,
    subscription_plan_change,
)
from billtone.ledger.models import LedgerAccount, LedgerKind, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.payments.models import Payment

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)  # before the cut-off: paid through 31 March
APRIL = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # after midnight 1 April in Berlin


def _bills(account):
    return Invoice.objects.filter(account=account, source_key__startswith="bill:")


@pytest.fixture
def berlin(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "100.00")
    buy(account, shop, at=BOUGHT, number=0)
    return account


def test_a_bill_run_bills_once_and_pays_from_funds(berlin):
    assert accounts_due(at=APRIL) == [berlin.pk]
    with time_machine.travel(APRIL, tick=False):
        predicted = next_bills(account=berlin)[0]
        run = bill_run(actor=ACTOR)
    assert (run.status, run.due, run.invoiced, run.paid_from_funds) == ("finished", 1, 1, 1)
    [invoice] = _bills(berlin)
    assert invoice.source_key == f"bill:{berlin.pk}:2026-04"
    assert (invoice.status, invoice.issue_date) == ("paid", date(2026, 4, 1))
    assert Money(invoice.gross, "EUR") == predicted.gross == Money("17.85", "EUR")  # 15 + 19 %
    assert [(line.period_start, line.period_end) for line in invoice.lines.all()] == [
        (date(2026, 4, 1), date(2026, 4, 30))
    ] * 2
    assert set(Subscription.objects.values_list("paid_through", flat=True)) == {date(2026, 4, 30)}
    email = EmailDelivery.objects.get(key=f"invoice:{invoice.pk}")
    assert email.status == "sent" and "monthly bill" in email.subject and "(paid)" in email.subject
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "ready"
    receivable = LedgerAccount.objects.get(kind=LedgerKind.RECEIVABLE)
    assert receivable.balance == 0  # issued (debited) and paid (credited)
    with time_machine.travel(APRIL, tick=False):
        again = bill_run(actor=ACTOR)
        twice = bill_chunk(account_ids=[berlin.pk], at=APRIL, run_id=None, actor=ACTOR)
    assert (again.due, again.invoiced) == (0, 0)
    assert (twice.invoiced, twice.skipped) == (0, 1)
    assert _bills(berlin).count() == 1


def test_a_failing_account_does_not_stop_the_others(berlin, customer_in, shop):
    french = customer_in("Europe/Paris", country="FR")  # no French VAT rate set up
    # a subscription as checkout makes it (checkout itself refuses without the rate)
    mine = Subscription.objects.get(account=berlin, item_kind="phone_user")
    Subscription.objects.create(
        account=french,
        product=mine.product,
        item_kind="phone_user",
        item_id=99999,
        description="Plan",
        unit_price=mine.unit_price,
        currency="EUR",
        started_on=date(2026, 3, 10),
        paid_through=date(2026, 3, 31),
        created_at=BOUGHT,
    )
    with time_machine.travel(APRIL, tick=False):
        run = bill_run(actor=ACTOR, chunk_size=10)
    assert (run.due, run.invoiced, run.failed) == (2, 1, 1)
    [failure] = BillFailure.objects.filter(run=run)
    assert failure.account_id == french.pk and "TaxRateMissing" in failure.reason
    assert _bills(berlin).count() == 1 and not _bills(french).exists()


def test_card_pays_what_funds_do_not_cover_and_a_decline_leaves_it_open(customer_in, shop):
    by_card, declined = customer_in("Europe/Berlin"), customer_in("Europe/Berlin")
    for account in (by_card, declined):
        fund(account, "15.00")  # the first charge takes it all (12.26 + 19 %)
        buy(account, shop, at=BOUGHT)
    card_on(by_card)
    card_on(declined, DECLINES)
    with time_machine.travel(APRIL, tick=False):
        [forecast] = next_bills(account=by_card, count=1)
        assert forecast.payment.method == "card"
        run = bill_run(actor=ACTOR)
    assert (run.invoiced, run.paid_by_card, run.left_unpaid) == (2, 1, 1)
    assert _bills(by_card).get().status == "paid"
    open_bill = invoices_open(account=declined).get()
    payment = Payment.objects.get(idempotency_key=f"bill-collect:{open_bill.pk}:1")
    assert payment.status == "failed"
    email = EmailDelivery.objects.get(key=f"invoice:{open_bill.pk}")
    assert "14,28 € due" in email.subject and "due" in email.body_text
    with time_machine.travel(APRIL, tick=False):  # a re-run never charges twice
        bill_chunk(account_ids=[declined.pk], at=APRIL, run_id=None, actor=ACTOR)
    assert Payment.objects.filter(account=declined).count() == 1


def test_pay_from_funds_refuses_short_funds_and_is_idempotent(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "15.00")
    buy(account, shop, at=BOUGHT)
    with time_machine.travel(APRIL, tick=False):
        [forecast] = next_bills(account=account, count=1)
        assert forecast.payment.method == "none" and forecast.payment.warning
        bill_run(actor=ACTOR)
    invoice = invoices_open(account=account).get()
    before = Transaction.objects.count()
    with pytest.raises(InvoiceFundsShort, match=invoice.number):
        invoice_pay_from_funds(invoice_id=invoice.pk, actor=ACTOR)
    assert Transaction.objects.count() == before
    assert Invoice.objects.get(pk=invoice.pk).status == "open"
    fund(account, "20.00")
    paid = invoice_pay_from_funds(invoice_id=invoice.pk, actor=ACTOR)
    again = invoice_pay_from_funds(invoice_id=invoice.pk, actor=ACTOR)
    assert paid.status == again.status == "paid" and paid.paid_at == again.paid_at
    assert Transaction.objects.count() == before + 2  # the funding and one payment


def test_a_credit_note_landing_between_read_and_payment_changes_what_is_paid(customer_in, shop):
    from billtone.invoicing.services import credit_note_issue
    from billtone.invoicing.services.payment import _pay_as_read

    account = customer_in("Europe/Berlin")
    fund(account, "100.00")
    buy(account, shop, at=BOUGHT)
    fund_before = LedgerAccount.objects.get(account=account, kind="business_funds").balance
    OperatorProfile.objects.update(bills_from_funds=False)  # the run leaves the bill open
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    invoice = _bills(account).get()
    assert invoice.status == "open"
    read_before_credit = Invoice.objects.get(pk=invoice.pk)
    credit_note_issue(
        invoice_id=invoice.pk,
        lines=[(1, Money("1.00", invoice.currency))],
        reason="Goodwill",
        refund_to="invoice_due",
        actor=ACTOR,
        idempotency_key="goodwill-1",
    )
    assert _pay_as_read(invoice=read_before_credit, actor=ACTOR) is False  # stale: refused
    paid = invoice_pay_from_funds(invoice_id=invoice.pk, actor=ACTOR)
    assert paid.status == "paid" and paid.credited > 0
    funds_after = LedgerAccount.objects.get(account=account, kind="business_funds").balance
    assert fund_before - funds_after == paid.gross - paid.credited


def test_next_bill_counts_on_funds_only_after_the_open_invoices_they_pay(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "20.00")
    buy(account, shop, at=BOUGHT)
    OperatorProfile.objects.update(bills_from_funds=False)
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)  # April's bill left open
    OperatorProfile.objects.update(bills_from_funds=True)
    fund(account, "10.00")  # enough for one month's bill, not for two
    april = invoices_open(account=account).get()
    held = LedgerAccount.objects.get(account=account, kind="business_funds").balance
    with time_machine.travel(APRIL, tick=False):
        [may] = next_bills(account=account, count=1)
        assert held >= may.gross.amount  # funds alone would cover May's bill…
        assert held - april.gross < may.gross.amount  # …but not once April's is paid
        assert may.payment.method == "none" and may.payment.warning


def test_subscription_end_and_plan_change_under_the_policies(berlin, shop):
    user_sub = Subscription.objects.get(account=berlin, item_kind="phone_user")
    number_sub = Subscription.objects.get(account=berlin, item_kind="phone_number")
    ended = subscription_end(subscription_id=number_sub.pk, actor=ACTOR)
    assert (ended.status, ended.ends_on) == ("ended", date(2026, 3, 31))
    new = subscription_plan_change(
        subscription_id=user_sub.pk,
        product=shop.national,
        description="National plus",
        unit_price=Money("20.00", "EUR"),
        actor=ACTOR,
    )
    assert (new.started_on, new.paid_through) == (date(2026, 4, 1), None)
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    [line] = _bills(berlin).get().lines.all()
    assert (line.description, line.unit_price) == ("National plus", 20)
    OperatorProfile.objects.update(cancel_policy="immediate_credit", plan_change_policy="immediate")
    with pytest.raises(ValueError, match="today"):  # at once needs the account's date
        subscription_end(subscription_id=new.pk, actor=ACTOR)
    with pytest.raises(ValueError, match="today"):
        subscription_plan_change(
            subscription_id=new.pk,
            product=shop.national,
            description="x",
            unit_price=Money("1.00", "EUR"),
            actor=ACTOR,
        )


def test_an_immediate_plan_change_credits_the_unused_days_and_bills_the_new_plan(berlin, shop):
    OperatorProfile.objects.update(plan_change_policy="immediate")
    old = Subscription.objects.get(account=berlin, item_kind="phone_user")
    funds = LedgerAccount.objects.get(kind=LedgerKind.BUSINESS_FUNDS, account=berlin)
    before = funds.balance
    with time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=False):
        new = subscription_plan_change(
            subscription_id=old.pk,
            product=shop.national,
            description="National plus",
            unit_price=Money("31.00", "EUR"),
            actor=ACTOR,
            today=date(2026, 3, 20),
        )
    old.refresh_from_db()
    assert (old.status, old.ends_on) == ("ended", date(2026, 3, 19))
    assert (new.started_on, new.paid_through, new.status) == (date(2026, 3, 20), None, "active")
    [note] = CreditNote.objects.filter(invoice__account=berlin)
    assert note.net == Decimal("4.65")  # 12.00 a month, 12 of March's 31 days unused
    assert note.refund_to == "business_funds"  # checkout's invoice was paid
    funds.refresh_from_db()
    assert funds.balance - before == note.gross
    with time_machine.travel(APRIL, tick=False):
        predicted = next_bills(account=berlin)[0]
        bill_run(actor=ACTOR)
    lines = _bills(berlin).get().lines.filter(description="National plus")
    assert [(line.period_start, line.period_end, line.net) for line in lines] == [
        (date(2026, 3, 20), date(2026, 3, 31), Decimal("12.00")),
        (date(2026, 4, 1), date(2026, 4, 30), Decimal("31.00")),
    ]
    assert Money(_bills(berlin).get().gross, "EUR") == predicted.gross


def test_bill_run_command_prints_a_summary(berlin, capsys):
    from django.core.management import call_command

    call_command("bill-run", "--at", APRIL.isoformat())
    out = capsys.readouterr().out
    assert "Invoiced" in out and "Paid from business funds" in out
    assert BillRun.objects.get().invoiced == 1


def test_the_scheduled_task_runs_a_bill_run(berlin):
    from django.conf import settings

    from billtone.billing.tasks import bill_run_task

    schedule = settings.CELERY_BEAT_SCHEDULE["billing-bill-run"]
    assert schedule["task"] == bill_run_task.name
    with time_machine.travel(APRIL, tick=False):
        bill_run_task.delay()
    assert BillRun.objects.get().invoiced == 1


def test_a_chunk_run_again_collects_what_an_interrupted_one_left_open(berlin, monkeypatch):
    def gateway_down(**kwargs):
        raise ConnectionError("the process died here")

    monkeypatch.setattr("billtone.billing.services.run.bill_collect", gateway_down)
    monkeypatch.setattr("billtone.billing.services.run.invoices_pay_from_funds", gateway_down)
    with time_machine.travel(APRIL, tick=False):
        first = bill_chunk(account_ids=[berlin.pk], at=APRIL, run_id=None, actor=ACTOR)
    assert (first.invoiced, first.left_unpaid) == (1, 1)
    assert invoices_open(account=berlin).count() == 1
    monkeypatch.undo()
    with time_machine.travel(APRIL, tick=False):
        again = bill_chunk(account_ids=[berlin.pk], at=APRIL, run_id=None, actor=ACTOR)
    assert (again.invoiced, again.skipped, again.paid_from_funds) == (0, 1, 1)
    assert not invoices_open(account=berlin).exists() and _bills(berlin).count() == 1
