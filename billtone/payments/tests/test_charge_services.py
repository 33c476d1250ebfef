"""Charging saved cards: outcomes, the ledger, idempotency, 3-D Secure and recovery."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.ledger.models import LedgerAccount, Transaction
from billtone.ledger.services import customer_ledger_accounts
from billtone.notifications.models import EmailDelivery
from billtone.payments import services, tasks
from billtone.payments.errors import PaymentKeyReused, PaymentStateConflict
from billtone.payments.gateways.base import MESSAGE_ERRORED, ChargeStatus
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.models import Payment
from billtone.payments.services import charges

from .conftest import (
    ACTOR,
    CARD_OUTCOMES,
    INSUFFICIENT,
    SUCCEEDS,
    THREE_D_SECURE,
    add_card,
    charge,
    new_key,
)


def balances(account) -> dict[str, Decimal]:
    ledger = customer_ledger_accounts(account=account)
    clearing = LedgerAccount.objects.filter(kind="card_clearing").first()
    return {
        "business_funds": LedgerAccount.objects.get(pk=ledger.business_funds.pk).balance,
        "call_credit": LedgerAccount.objects.get(pk=ledger.call_credit.pk).balance,
        "card_clearing": clearing.balance if clearing else Decimal(0),
    }


@pytest.fixture
def gateway_calls(monkeypatch):
    """Counts the sandbox's charges (the outside world's edge); they still answer as usual."""
    calls = []
    real = SandboxGateway.card_charge

    def counting(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "card_charge", counting)
    return calls


@pytest.mark.parametrize(("number", "on_session", "off_session", "code"), CARD_OUTCOMES)
def test_each_test_card_on_session(account, number, on_session, off_session, code):
    card = add_card(account, number)

    payment = charge(account, card, "25.00", on_session=True)

    payment.refresh_from_db()
    assert payment.status == on_session
    assert payment.kind == "charge" and payment.gateway == "sandbox"
    assert payment.gateway_reference.startswith("sandbox_ch_")
    assert (payment.amount, payment.currency) == (Decimal("25.00"), "EUR")
    if on_session == "succeeded":
        assert payment.ledger_transaction.kind == "card_payment"
        assert payment.ledger_transaction.idempotency_key == f"payment:{payment.pk}"
        assert balances(account)["business_funds"] == Decimal("25.00")
        assert balances(account)["card_clearing"] == Decimal("-25.00")
        assert payment.failure_code == payment.failure_message == ""
    else:
        assert payment.ledger_transaction is None
        assert not Transaction.objects.exists()
        assert payment.failure_code == ("" if on_session == "requires_action" else code)
        assert payment.failure_message  # a sentence a person understands
    assert not EmailDelivery.objects.exists()  # the customer was there: no email


@pytest.mark.parametrize(("number", "on_session", "off_session", "code"), CARD_OUTCOMES)
def test_each_test_card_off_session_and_a_failed_automatic_payment_is_emailed(
    account, number, on_session, off_session, code, django_capture_on_commit_callbacks
):
    card = add_card(account, number)

    with django_capture_on_commit_callbacks(execute=True):
        payment = charge(account, card, "40.00", on_session=False, purpose="call_credit")

    assert payment.status == off_session
    if off_session == "succeeded":
        assert balances(account)["call_credit"] == Decimal("40.00")
        assert not mail.outbox
    else:
        assert payment.failure_code == code
        assert balances(account)["call_credit"] == 0
        (message,) = mail.outbox
        assert message.to == [account.billing_profile.billing_email]
        assert message.subject == "Automatic payment of €40.00 failed"
        assert f"ending {number[-4:]}" in message.body
        assert payment.failure_message in message.body
        assert number not in message.body


def test_failure_messages_are_for_people(account):
    insufficient = charge(account, add_card(account, INSUFFICIENT))
    expired = charge(account, add_card(account, "4000000000000069"))

    assert insufficient.failure_message == "Your card has insufficient funds."
    assert expired.failure_message == "Your card has expired."


def test_three_d_secure_needs_authentication_then_confirms_once(account):
    card = add_card(account, THREE_D_SECURE)
    payment = charge(account, card, "30.00")
    assert payment.status == "requires_action"
    assert not Transaction.objects.exists()

    confirmed = services.charge_confirm(account=account, payment=payment, actor=ACTOR)
    again = services.charge_confirm(account=account, payment=payment, actor=ACTOR)

    assert confirmed.status == again.status == "succeeded"
    assert Transaction.objects.count() == 1
    assert balances(account)["business_funds"] == Decimal("30.00")


def test_only_a_payment_waiting_for_authentication_is_confirmed(account, card):
    pending = Payment.objects.create(
        account=account,
        card=card,
        kind="charge",
        gateway="sandbox",
        amount=Decimal("5"),
        currency="EUR",
        on_session=True,
        purpose="business_funds",
        idempotency_key="stuck",
        created_by="t",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    with pytest.raises(PaymentStateConflict):
        services.charge_confirm(account=account, payment=pending, actor=ACTOR)


def test_the_same_key_twice_is_one_gateway_charge_and_one_ledger_transaction(
    account, card, gateway_calls
):
    first = charge(account, card, "25.00", idempotency_key="top-up-1")
    second = charge(account, card, "25.00", idempotency_key="top-up-1")

    assert first.pk == second.pk and second.status == "succeeded"
    assert gateway_calls == ["top-up-1"]
    assert Payment.objects.count() == 1 and Transaction.objects.count() == 1
    assert balances(account)["business_funds"] == Decimal("25.00")


def test_a_declined_payment_is_replayed_not_retried(account, gateway_calls):
    card = add_card(account, INSUFFICIENT)
    first = charge(account, card, idempotency_key="k")
    second = charge(account, card, idempotency_key="k")

    assert first.pk == second.pk and second.status == "failed"
    assert len(gateway_calls) == 1


def test_the_same_key_for_another_payment_is_refused(account, card, gateway_calls):
    charge(account, card, "25.00", idempotency_key="k")

    with pytest.raises(PaymentKeyReused):
        charge(account, card, "26.00", idempotency_key="k")
    with pytest.raises(PaymentKeyReused):
        charge(account, card, "25.00", idempotency_key="k", purpose="call_credit")
    assert Payment.objects.count() == 1 and len(gateway_calls) == 1


def test_crash_after_the_gateway_answered_is_settled_by_recovery_once(
    account, card, monkeypatch, gateway_calls
):
    real = charges.charge_outcome_record
    crashes = []

    def dies_once(**kwargs):
        if not crashes:
            crashes.append(1)
            raise SystemExit("the worker died")
        return real(**kwargs)

    monkeypatch.setattr(charges, "charge_outcome_record", dies_once)

    with pytest.raises(SystemExit):
        charge(account, card, "25.00", idempotency_key="crash")

    payment = Payment.objects.get(idempotency_key="crash")
    assert payment.status == "pending" and payment.ledger_transaction is None
    assert not Transaction.objects.exists()
    assert gateway_calls == ["crash"]  # the gateway charged the card

    recovered = services.payment_recover(payment=payment)
    services.payment_recover(payment=payment)
    replay = charge(account, card, "25.00", idempotency_key="crash")

    assert recovered.status == replay.status == "succeeded"
    assert Transaction.objects.count() == 1
    assert Transaction.objects.get().idempotency_key == f"payment:{payment.pk}"
    assert balances(account)["business_funds"] == Decimal("25.00")
    assert gateway_calls == ["crash"]  # recovery asked charge_find; nothing charged again


def test_an_unknown_outcome_is_errored_then_settled_by_the_periodic_task(
    account, card, monkeypatch
):
    def unreachable(self, **kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(SandboxGateway, "card_charge", unreachable)
    payment = charge(account, card, "25.00")
    monkeypatch.undo()

    assert payment.status == "errored"
    assert payment.failure_code == "gateway_error" and payment.failure_message == MESSAGE_ERRORED
    assert not Transaction.objects.exists()

    tasks.payments_recover_stale()  # too fresh: it may still be in flight
    payment.refresh_from_db()
    assert payment.status == "errored"

    with time_machine.travel(clock.now() + charges.RECOVER_AFTER + timedelta(seconds=1)):
        tasks.payments_recover_stale()
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.failure_code == ""
    assert Transaction.objects.count() == 1


def test_a_charge_that_never_reached_the_gateway_fails_once_it_is_stale(account, card, monkeypatch):
    def died_before_the_gateway(**kwargs):
        raise SystemExit("died")

    monkeypatch.setattr(charges, "_gateway_charge", died_before_the_gateway)
    with pytest.raises(SystemExit):
        charge(account, card, idempotency_key="lost")
    monkeypatch.undo()
    monkeypatch.setattr(SandboxGateway, "charge_find", lambda self, **kwargs: None)
    payment = Payment.objects.get(idempotency_key="lost")

    assert services.payment_recover(payment=payment).status == "pending"
    with time_machine.travel(clock.now() + charges.RECOVER_AFTER + timedelta(seconds=1)):
        settled = services.payment_recover(payment=payment)

    assert settled.status == "failed" and settled.failure_code == "not_sent"
    assert "Nothing was charged" in settled.failure_message
    assert not Transaction.objects.exists()


def test_settled_payments_never_change_state(account, card):
    payment = charge(account, card)
    late = charges.ChargeResult(
        status=ChargeStatus.FAILED,
        gateway_reference=payment.gateway_reference,
        amount=payment.money.amount,
        currency="EUR",
        failure_code="generic_decline",
    )

    assert charges.charge_outcome_record(payment=payment, result=late, actor=ACTOR).status == (
        "succeeded"
    )
    assert Transaction.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (Money("10.00", "GBP"), "amount"),
        (Money("0", "EUR"), "amount"),
        (Money("-5", "EUR"), "amount"),
        (Money("10.005", "EUR"), "amount"),
        (Money("50000.01", "EUR"), "amount"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    account, card, amount, field, gateway_calls
):
    with pytest.raises(ValidationFailed) as caught:
        charge(account, card, amount=amount)

    assert list(caught.value.errors) == [field]
    assert not Payment.objects.exists() and not gateway_calls


def test_cards_that_may_not_be_charged(account, other_account, gateway_calls):
    theirs = add_card(other_account)
    removed = add_card(account)  # as read before its removal: the pending payment's insert
    services.card_remove(account=account, card_id=removed.pk, actor=ACTOR)  # refuses it
    assert removed.removed_at is None
    with time_machine.travel(clock.now() - timedelta(days=400)):
        old = add_card(account, exp_month=clock.now().month, exp_year=clock.now().year)

    for card in (theirs, removed, old):
        with pytest.raises(ValidationFailed) as caught:
            charge(account, card)
        assert list(caught.value.errors) == ["card_id"]
    with pytest.raises(ValidationFailed):
        charge(account, old, purpose="invoice")
    assert not Payment.objects.exists() and not gateway_calls


def test_automatic_payments_charge_the_default_card_off_session(
    account, django_capture_on_commit_callbacks
):
    add_card(account, THREE_D_SECURE)
    with pytest.raises(PaymentStateConflict):
        services.automatic_payment_charge(
            account=account,
            amount=Money("20.00", "EUR"),
            purpose="call_credit",
            idempotency_key=new_key(),
        )
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)

    with django_capture_on_commit_callbacks(execute=True):
        payment = services.automatic_payment_charge(
            account=account,
            amount=Money("20.00", "EUR"),
            purpose="call_credit",
            idempotency_key="auto-top-up-1",
        )

    assert not payment.on_session
    assert payment.status == "failed" and payment.failure_code == "authentication_required"
    assert len(mail.outbox) == 1
    assert "Your bank asks you to confirm this payment" in mail.outbox[0].body


def test_two_accounts_payments_stay_apart(account, other_account):
    ours = charge(account, add_card(account, SUCCEEDS), "10.00")
    theirs = charge(other_account, add_card(other_account, SUCCEEDS), "12.00")

    assert ours.currency == "EUR" and theirs.currency == "GBP"
    assert balances(account)["business_funds"] == Decimal("10.00")
    assert customer_ledger_accounts(account=other_account).business_funds.balance == Decimal(
        "12.00"
    )


def test_a_charge_inside_another_transaction_is_refused_before_the_gateway(
    account, card, gateway_calls
):
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        charge(account, card)

    assert not gateway_calls and not Payment.objects.exists()
