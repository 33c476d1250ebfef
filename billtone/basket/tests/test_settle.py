"""Card checkouts whose payment's outcome was unknown when the customer left: the payments
app's recovery settles the payment later, and the basket's periodic task settles the checkout
through the path "Check again" takes, never asking the gateway itself."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.basket import selectors, services, tasks
from billtone.basket.models import BasketLine, Checkout
from billtone.catalog.models import Product
from billtone.core import clock
from billtone.invoicing.models import Invoice, InvoiceSequence, Subscription
from billtone.ledger.models import Transaction
from billtone.payments import services as payment_services
from billtone.payments import tasks as payment_tasks
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.models import Payment
from billtone.payments.services.shared import RECOVER_AFTER
from billtone.payments.tests.conftest import SUCCEEDS, THREE_D_SECURE, add_card
from billtone.telephony.models import PhoneNumber, PhoneUser

from .conftest import ACTOR, fill
from .test_services import DECLINED, balances


def pay_while_the_gateway_is_unreachable(account, shop, monkeypatch, number: str) -> Checkout:
    """The customer pays by card; the gateway's answer is lost (the payment is errored)."""
    fill(account, shop)
    card = add_card(account, number)

    def unreachable(self, **kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(SandboxGateway, "card_charge", unreachable)
    checkout = services.checkout_with_card(
        account=account, idempotency_key="lost", actor=ACTOR, card_id=card.pk
    )
    monkeypatch.undo()
    assert (checkout.status, checkout.payment.status) == ("awaiting_payment", "errored")
    return checkout


def payments_recovery_runs() -> None:
    with time_machine.travel(clock.now() + RECOVER_AFTER + timedelta(seconds=1)):
        payment_tasks.payments_recover_stale()


def settle_task_runs() -> None:
    tasks.checkouts_settle_due.delay()


def test_the_periodic_task_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["basket-checkouts-settle"]
    assert schedule["task"] == tasks.checkouts_settle_due.name


def test_an_errored_payment_recovered_as_succeeded_completes_its_checkout(
    customer, shop, monkeypatch
):
    checkout = pay_while_the_gateway_is_unreachable(customer, shop, monkeypatch, SUCCEEDS)
    settle_task_runs()  # the payment's outcome is still unknown: nothing to settle
    assert Checkout.objects.get(pk=checkout.pk).status == "awaiting_payment"

    payments_recovery_runs()
    assert Payment.objects.get(pk=checkout.payment_id).status == "succeeded"
    assert selectors.checkouts_to_settle_ids() == [checkout.pk]
    settle_task_runs()

    done = Checkout.objects.get(pk=checkout.pk)
    assert done.status == "completed" and done.invoice is not None
    assert done.invoice.gross == done.gross and done.invoice.number
    assert PhoneUser.objects.get(extension="201").status == "active"
    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "assigned"
    assert Subscription.objects.filter(account=customer).count() == 2
    assert balances(customer) == (Decimal("0"), Decimal("20"))
    assert not BasketLine.objects.filter(basket__account=customer).exists()

    settle_task_runs()  # again: nothing more
    assert Invoice.objects.count() == 1 and InvoiceSequence.objects.get().next_number == 2
    assert Transaction.objects.filter(kind="checkout").count() == 1
    assert balances(customer) == (Decimal("0"), Decimal("20"))
    assert selectors.checkouts_to_settle_ids() == []


def test_an_errored_payment_recovered_as_failed_fails_its_checkout(customer, shop, monkeypatch):
    checkout = pay_while_the_gateway_is_unreachable(customer, shop, monkeypatch, DECLINED)

    payments_recovery_runs()
    settle_task_runs()
    settle_task_runs()

    failed = Checkout.objects.get(pk=checkout.pk)
    assert failed.status == "failed" and "declined" in failed.failure_message.lower()
    assert PhoneUser.objects.get(extension="201").status == "pending_payment"
    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "held"
    assert Invoice.objects.count() == 0
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()
    assert BasketLine.objects.filter(basket__account=customer).count() == 4
    assert Product.objects.get(pk=shop.phone.pk).stock == 3
    assert balances(customer) == (Decimal("0"), Decimal("0"))


def test_a_payment_waiting_for_3d_secure_leaves_its_checkout_as_it_is(customer, shop, monkeypatch):
    fill(customer, shop)
    card = add_card(customer, THREE_D_SECURE)
    checkout = services.checkout_with_card(
        account=customer, idempotency_key="3ds", actor=ACTOR, card_id=card.pk
    )
    asked = []
    monkeypatch.setattr(SandboxGateway, "charge_confirm", lambda self, **kw: asked.append(kw))
    monkeypatch.setattr(SandboxGateway, "charge_find", lambda self, **kw: asked.append(kw))

    payments_recovery_runs()
    settle_task_runs()

    assert Checkout.objects.get(pk=checkout.pk).status == "awaiting_payment"
    assert Payment.objects.get(pk=checkout.payment_id).status == "requires_action"
    assert asked == [] and selectors.checkouts_to_settle_ids() == []
    assert PhoneUser.objects.get(extension="201").status == "pending_payment"
    assert Invoice.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel connections")
@pytest.mark.django_db(transaction=True)
def test_settling_one_checkout_at_once_from_four_workers_completes_it_once(
    customer, shop, monkeypatch
):
    checkout = pay_while_the_gateway_is_unreachable(customer, shop, monkeypatch, SUCCEEDS)
    payments_recovery_runs()
    workers = 4
    barrier = threading.Barrier(workers)

    def settle(_):
        try:
            barrier.wait(timeout=30)
            return services.checkout_settle(checkout_id=checkout.pk).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(settle, range(workers)))

    assert statuses == ["completed"] * workers
    assert Invoice.objects.count() == 1 and InvoiceSequence.objects.get().next_number == 2
    assert Transaction.objects.filter(kind="checkout").count() == 1
    assert balances(customer) == (Decimal("0"), Decimal("20"))


class ProcessDied(BaseException):
    """The worker stops mid-checkout (killed, restarted): no handler in the product runs."""


def die_around_the_charge(monkeypatch, *, charged: bool) -> None:
    """Stop the process just before card_charge (nothing charged) or just after it returned
    (charged, but the payment never linked to its checkout)."""
    real = payment_services.card_charge

    def charge(**kwargs):
        if charged:
            real(**kwargs)
        raise ProcessDied()

    monkeypatch.setattr(payment_services, "card_charge", charge)


def checkout_left_by_a_dead_process(account, shop, monkeypatch, *, charged: bool) -> Checkout:
    fill(account, shop)
    card = add_card(account, SUCCEEDS)
    die_around_the_charge(monkeypatch, charged=charged)
    with pytest.raises(ProcessDied):
        services.checkout_with_card(
            account=account, idempotency_key="died", actor=ACTOR, card_id=card.pk
        )
    monkeypatch.undo()
    checkout = Checkout.objects.get(idempotency_key="died")
    assert (checkout.status, checkout.payment_id) == ("pending", None)
    return checkout


def test_a_checkout_whose_process_died_after_the_charge_is_completed_later(
    customer, shop, monkeypatch
):
    checkout = checkout_left_by_a_dead_process(customer, shop, monkeypatch, charged=True)
    settle_task_runs()  # within ORPHAN_AFTER its process may still be at work: left alone
    assert Checkout.objects.get(pk=checkout.pk).status == "pending"

    with time_machine.travel(clock.now() + selectors.ORPHAN_AFTER + timedelta(minutes=1)):
        assert selectors.checkouts_to_settle_ids() == [checkout.pk]
        settle_task_runs()
        settle_task_runs()

    done = Checkout.objects.get(pk=checkout.pk)
    assert done.status == "completed" and done.payment.status == "succeeded"
    assert Invoice.objects.count() == 1 and done.invoice.gross == done.payment.money.amount
    assert PhoneUser.objects.get(extension="201").status == "active"
    assert balances(customer) == (Decimal("0"), Decimal("20"))


def test_a_checkout_whose_process_died_before_the_charge_fails_later(customer, shop, monkeypatch):
    checkout = checkout_left_by_a_dead_process(customer, shop, monkeypatch, charged=False)

    with time_machine.travel(clock.now() + selectors.ORPHAN_AFTER + timedelta(minutes=1)):
        settle_task_runs()

    failed = Checkout.objects.get(pk=checkout.pk)
    assert failed.status == "failed" and "nothing was charged" in failed.failure_message
    assert not Payment.objects.exists() and Invoice.objects.count() == 0
    assert PhoneUser.objects.get(extension="201").status == "pending_payment"
    assert BasketLine.objects.filter(basket__account=customer).count() == 4
