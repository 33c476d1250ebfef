"""Dunning, the issue's Done-when: the card declines three times → emails sent → account
suspended → payment → reactivated, with the events delivered (a local receiver verifying each
webhook with `standardwebhooks`, emails through a real SMTP server), on a frozen clock."""

from datetime import timedelta

import pytest
import time_machine

from billtone.billing.models import Dunning
from billtone.billing.services import bill_run
from billtone.billing.services.dunning import dunning_due, dunning_run, dunning_settle, dunning_try
from billtone.billing.services.funds_hold import funds_held
from billtone.billing.tests.conftest import ACTOR, DECLINES, buy, card_on, fund
from billtone.billing.tests.test_services import APRIL, BOUGHT
from billtone.invoicing.models import Invoice
from billtone.invoicing.services import invoice_pay_from_funds
from billtone.notifications.models import EmailDelivery
from billtone.notifications.tests.test_webhooks import endpoint, receiver  # noqa: F401
from billtone.payments.models import Payment
from billtone.payments.tests.test_notifications import smtp_server  # noqa: F401
from billtone.telephony.models import PhoneUser
from billtone.telephony.selectors import account_is_suspended
from billtone.telephony.services import account_suspend
from conftest import api_client_for, owner_of

GOOD_CARD = {
    "number": "4242424242424242",
    "exp_month": 11,
    "exp_year": 2035,
    "cvc": "737",
    "holder_name": "Ada Lovelace",
}


def _declining(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "15.00")  # the first charge leaves too little for the bill
    buy(account, shop, at=BOUGHT)
    card_on(account, DECLINES)
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    invoice = Invoice.objects.get(account=account, source_key__startswith="bill:")
    assert invoice.status == "open"
    return account, invoice


def _emails(invoice):
    return EmailDelivery.objects.filter(key__startswith=f"dunning:{invoice.pk}:").order_by("pk")


@pytest.mark.django_db(transaction=True)
def test_three_declines_suspend_and_a_payment_reactivates(
    customer_in,
    shop,
    receiver,  # noqa: F811
    endpoint,  # noqa: F811
    smtp_server,  # noqa: F811
):
    account, invoice = _declining(customer_in, shop)
    issued = invoice.issued_at
    with time_machine.travel(issued + timedelta(hours=23), tick=False):
        assert dunning_run() == 0  # a day has not passed: nothing is due
    for day, number in ((1, 1), (3, 2), (7, 3)):
        with time_machine.travel(issued + timedelta(days=day, minutes=5), tick=False):
            assert dunning_run() == 1
            assert dunning_run() == 0  # run again: the try is not made twice
        payment = Payment.objects.get(idempotency_key=f"bill-collect:{invoice.pk}:{number + 1}")
        assert payment.status == "failed" and not payment.on_session
        assert _emails(invoice).count() == number
    dunning = Dunning.objects.get(invoice=invoice)
    assert (dunning.tries, dunning.next_try_at, dunning.suspended) == (3, None, True)
    # One email per decline: the bill run's own try told by payments, each dunning try by
    # dunning's email alone.
    declined = EmailDelivery.objects.filter(key__startswith="payment-failed:")
    assert [d.key for d in declined] == [
        f"payment-failed:{Payment.objects.get(idempotency_key=f'bill-collect:{invoice.pk}:1').pk}"
    ]

    sent = list(_emails(invoice))
    assert [e.status for e in sent] == ["sent"] * 3
    first, last = sent[0], sent[2]
    assert "try 1 of 3" in first.subject and invoice.number in first.subject
    assert (
        "14,28\xa0€ is still due" in first.body_text
        and "We will try again on 2026-04-04" in first.body_text
    )
    assert f"/billing/invoices/{invoice.pk}/pay/" in first.body_text
    assert "suspended" in last.subject and "That was the last try" in last.body_text
    billing_email = account.billing_profile.billing_email
    delivered = [m for m in smtp_server.messages if "try " in m.content.decode()]
    assert len(delivered) >= 3 and all(m.rcpt_tos == [billing_email] for m in delivered)

    assert account_is_suspended(account)
    assert set(PhoneUser.objects.filter(account=account).values_list("status", flat=True)) == {
        "suspended"
    }
    suspended = [e for e in receiver.events if e["type"] == "account.suspended"]
    assert len(suspended) == 1 and invoice.number in suspended[0]["data"]["reason"]

    api = api_client_for(owner_of(account))
    with time_machine.travel(issued + timedelta(days=8), tick=False):
        answer = api.post(
            f"/api/v1/invoices/{invoice.pk}/pay",
            {"method": "new_card", "card": GOOD_CARD},
            HTTP_IDEMPOTENCY_KEY="pay-overdue",
        )
        again = api.post(
            f"/api/v1/invoices/{invoice.pk}/pay",
            {"method": "new_card", "card": GOOD_CARD},
            HTTP_IDEMPOTENCY_KEY="pay-overdue",
        )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "paid" and again.json() == answer.json()
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert Payment.objects.filter(idempotency_key__startswith="invoice-pay:").count() == 1
    assert not account_is_suspended(account)
    assert set(PhoneUser.objects.filter(account=account).values_list("status", flat=True)) == {
        "active"
    }
    assert [e["type"] for e in receiver.events if e["type"].startswith("account.")] == [
        "account.suspended",
        "account.reactivated",
    ]
    assert Dunning.objects.get(invoice=invoice).settled_at is not None
    with time_machine.travel(issued + timedelta(days=30), tick=False):
        assert dunning_due() == []


def test_a_try_that_funds_can_pay_pays_and_stops_the_dunning(customer_in, shop):
    account, invoice = _declining(customer_in, shop)
    with time_machine.travel(invoice.issued_at + timedelta(days=1, minutes=1), tick=False):
        [dunning_id] = dunning_due()
        with funds_held(account.pk, release=lambda ids: None):
            fund(account, "20.00")  # funds the listener is not told of: only the try pays
        done = dunning_try(dunning_id=dunning_id)
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert (done.tries, done.settled_at is not None) == (1, True)
    assert not _emails(invoice).exists()
    assert not Payment.objects.filter(idempotency_key=f"bill-collect:{invoice.pk}:2").exists()


def test_an_operator_suspension_is_not_lifted_by_a_payment(customer_in, shop):
    account, invoice = _declining(customer_in, shop)
    account_suspend(account=account, reason="Fraud check", actor=ACTOR)
    fund(account, "20.00")
    invoice_pay_from_funds(invoice_id=invoice.pk, actor=ACTOR)
    assert dunning_settle(account=account) is False
    assert account_is_suspended(account)


def test_the_dunning_task_is_scheduled_and_runs(settings, customer_in, shop):
    from billtone.billing import tasks
    from config.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "billtone.billing.tasks.dunning_run_task" in scheduled
    app.loader.import_default_modules()
    assert "billtone.billing.tasks.dunning_run_task" in app.tasks
    account, invoice = _declining(customer_in, shop)
    with time_machine.travel(invoice.issued_at + timedelta(days=1, minutes=1), tick=False):
        tasks.dunning_run_task.delay()
    assert Dunning.objects.get(invoice=invoice).tries == 1


def test_the_back_office_lists_the_dunning_and_changes_none_of_it(customer_in, shop, admin_client):
    account, invoice = _declining(customer_in, shop)
    with time_machine.travel(invoice.issued_at + timedelta(days=1, minutes=1), tick=False):
        [dunning_id] = dunning_due()
        dunning_try(dunning_id=dunning_id)
    page = admin_client.get("/admin/billing/dunning/")
    assert page.status_code == 200
    text = page.content.decode()
    assert invoice.number in text and account.name in text and "declined" in text.lower()
    detail = admin_client.get(f"/admin/billing/dunning/{dunning_id}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert admin_client.post(f"/admin/billing/dunning/{dunning_id}/delete/").status_code == 403
