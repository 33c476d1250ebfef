from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from billtone.catalog.models import OperatorProfile
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.invoicing.models import Invoice
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_render
from billtone.payments.models import Payment
from billtone.rating.models import AutoTopUp, TopUp
from billtone.rating.services import (
    AutoTopUpInput,
    auto_top_up_check,
    auto_top_up_settings_save,
    calls_debited,
)
from billtone.rating.services.topup import RETRY_AFTER
from billtone.rating.tests.topup_fixtures import (
    ACTOR,
    DECLINES,
    call_credit_of,
    card_on,
    committed,
    credit,
    debited,
    eur,
    fund,
    funds_of,
    spend,
    turn_on,
)
from billtone.rating.topup_plan import top_up_steps


def test_steps_are_the_fewest_that_go_above_the_threshold():
    assert top_up_steps(credit=Decimal(6), threshold=Decimal(5), value=Decimal(10)) == 0
    assert top_up_steps(credit=Decimal(3), threshold=Decimal(5), value=Decimal(10)) == 1
    assert top_up_steps(credit=Decimal(3), threshold=Decimal(25), value=Decimal(10)) == 3
    assert top_up_steps(credit=Decimal(-5), threshold=Decimal(5), value=Decimal(10)) == 2


def _subjects(account) -> list[str]:
    """The emails as they would be sent now (rendered when sent)."""
    rows = EmailDelivery.objects.filter(account=account, template="rating.auto_top_up")
    return [email_render(delivery=row)[1].subject for row in rows.order_by("pk")]


def _events(account) -> list[str]:
    rows = EmailDelivery.objects.filter(account=account, template="rating.auto_top_up")
    return [row.context["event"] for row in rows.order_by("pk")]


def test_a_value_not_offered_is_refused_and_nothing_changes(customer):
    turn_on(customer, value="20", threshold="5")
    with pytest.raises(ValidationFailed) as refused:
        auto_top_up_settings_save(
            account=customer,
            data=AutoTopUpInput(enabled=True, value=eur("15"), threshold=eur("0")),
            actor=ACTOR,
        )
    assert "10.00, 20.00, 50.00, 100.00" in refused.value.errors["value"][0]
    assert "threshold" in refused.value.errors
    setting = AutoTopUp.objects.get(account=customer)
    assert (setting.value, setting.threshold, setting.enabled) == (20, 5, True)


def test_below_threshold_funds_pay_one_top_up_invoiced_and_emailed(customer):
    fund(customer, "100")
    credit(customer, "8")
    turn_on(customer, value="10", threshold="5")
    assert not TopUp.objects.exists()  # 8 is not below 5
    spend(customer, "5")  # 3 left
    top_up = auto_top_up_check(account_id=customer.pk)
    assert top_up.status == "succeeded" and top_up.paid_by == "business_funds"
    assert (top_up.quantity, top_up.amount, top_up.gross) == (1, 10, Decimal("11.90"))
    assert call_credit_of(customer) == eur("13")
    assert funds_of(customer) == eur("88.10")
    invoice = Invoice.objects.get(pk=top_up.invoice_id)
    assert invoice.gross == Decimal("11.90") and invoice.lines.get().kind == "credit_pack"
    assert auto_top_up_check(account_id=customer.pk) is None  # above again: nothing more
    assert TopUp.objects.count() == 1
    assert _events(customer) == ["succeeded"]
    assert _subjects(customer) == ["Call credit topped up by 10,00 €"]


def test_the_fewest_whole_multiples_in_one_payment(customer):
    fund(customer, "100")
    credit(customer, "3")
    turn_on(customer, value="10", threshold="25")  # turning on checks at once
    top_up = TopUp.objects.get()
    assert (top_up.quantity, top_up.amount, top_up.gross) == (3, 30, Decimal("35.70"))
    assert call_credit_of(customer) == eur("33")


def test_the_default_card_pays_when_funds_do_not_cover(customer):
    fund(customer, "5")
    card_on(customer)
    credit(customer, "1")
    top_up = turn_on(customer) and TopUp.objects.get()
    assert top_up.status == "succeeded" and top_up.paid_by == "card"
    payment = Payment.objects.get(pk=top_up.payment_id)
    assert payment.status == "succeeded" and payment.on_session is False
    assert payment.money == eur("11.90")
    assert call_credit_of(customer) == eur("11")
    assert funds_of(customer) == eur("5")  # the card's money went on to call credit
    assert top_up.invoice is not None


def test_caps_refuse_and_say_so_once(customer, operator):
    OperatorProfile.objects.update(auto_top_ups_per_day=1)
    fund(customer, "100")
    credit(customer, "8")
    turn_on(customer)
    spend(customer, "5")
    assert auto_top_up_check(account_id=customer.pk).status == "succeeded"
    spend(customer, "12")  # 1 left
    assert auto_top_up_check(account_id=customer.pk) is None
    assert auto_top_up_check(account_id=customer.pk) is None
    setting = AutoTopUp.objects.get(account=customer)
    assert "1 auto top-ups a day" in setting.paused_reason
    assert _events(customer) == ["succeeded", "capped"]
    with time_machine.travel(clock.now() + timedelta(days=1)):
        assert auto_top_up_check(account_id=customer.pk).status == "succeeded"
    assert TopUp.objects.filter(status="succeeded").count() == 2


def test_failures_are_emailed_and_turn_auto_top_up_off_after_three(customer):
    card_on(customer, DECLINES)
    credit(customer, "1")
    turn_on(customer)  # the first try, at once
    now = clock.now()
    for _ in range(2):
        assert auto_top_up_check(account_id=customer.pk) is None  # waits after a failure
        now += RETRY_AFTER + timedelta(minutes=1)
        with time_machine.travel(now):
            assert auto_top_up_check(account_id=customer.pk).status == "failed"
    assert TopUp.objects.filter(status="failed").count() == 3
    setting = AutoTopUp.objects.get(account=customer)
    assert setting.enabled is False and setting.consecutive_failures == 3
    assert "turned off after 3 failed top-ups" in setting.turned_off_reason
    assert _events(customer) == ["failed", "failed", "failed", "turned_off"]
    assert _subjects(customer)[-1] == "Auto top-up has been turned off"
    assert _subjects(customer)[0] == "Auto top-up of 10,00 € failed"
    with time_machine.travel(now + RETRY_AFTER):
        assert auto_top_up_check(account_id=customer.pk) is None  # off: nothing charged
    assert Payment.objects.filter(account=customer).count() == 3
    assert call_credit_of(customer) == eur("1")
    # Each decline told once, by the top-up's own email: none from payments.
    assert not EmailDelivery.objects.filter(key__startswith="payment-failed:").exists()


def test_no_funds_and_no_card_is_a_failure_said_plainly(customer):
    credit(customer, "1")
    turn_on(customer)
    top_up = TopUp.objects.get()
    assert top_up.status == "failed" and top_up.paid_by == "none"
    assert "no card may be charged" in top_up.failure_message


def test_the_hook_sends_the_low_credit_email_once_until_credit_is_above_again(customer):
    credit(customer, "20")
    auto_top_up_settings_save(
        account=customer,
        data=AutoTopUpInput(enabled=False, value=None, threshold=None, low_credit_level=eur("10")),
        actor=ACTOR,
    )
    for _ in range(2):
        spend(customer, "6")
        debited(customer)
    assert _events(customer) == ["low_credit"]
    credit(customer, "20")  # 28
    debited(customer)
    spend(customer, "20")  # 8
    debited(customer)
    assert _events(customer) == ["low_credit", "low_credit"]
    assert not TopUp.objects.exists()  # auto top-up is off
    assert _subjects(customer)[0] == "Call credit is low: 8,00 €"


def test_the_hook_tops_up_after_a_debit(customer):
    fund(customer, "50")
    credit(customer, "6")
    turn_on(customer)
    spend(customer, "2")
    debited(customer)
    assert TopUp.objects.get().status == "succeeded"
    assert call_credit_of(customer) == eur("14")


def test_operator_caps_are_validated(operator):
    from billtone.catalog.services.operator import OperatorProfileInput, operator_profile_clean

    with pytest.raises(ValidationFailed) as refused:
        operator_profile_clean(
            OperatorProfileInput(
                legal_name="Op", country="NL", auto_top_ups_per_day=9, auto_top_ups_per_month=3
            )
        )
    assert refused.value.errors == {
        "auto_top_ups_per_month": ["At least as many per month as per day."]
    }


def test_with_a_broker_the_hook_sends_the_check_to_the_workers(
    customer, make_account, settings, monkeypatch
):
    from billtone.rating import topup_tasks
    from billtone.rating.services import topup

    without = make_account(currency="EUR")  # no auto top-up: no check to send
    turn_on(customer)
    sent = []
    settings.CELERY_BROKER_URL = "amqp://127.0.0.1:5672//"
    monkeypatch.setattr(
        topup.current_app, "send_task", lambda name, args: sent.append((name, args))
    )
    debited(customer)
    debited(without)
    assert sent == [(topup_tasks.auto_top_up_check_task.name, [customer.pk])]


def test_the_cdr_ingestion_tops_up_through_its_hook(gb, uk_deck, operator):
    from billtone.core.money import Money
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.services import (
        customer_ledger_accounts,
        funds_transfer,
        operator_ledger_account,
    )
    from billtone.rating.services import cdrs_ingest
    from billtone.rating.tests.conftest import call, call_credit, credit_add
    from billtone.rating.tests.topup_fixtures import committed

    funds_transfer(
        source=operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency="GBP"),
        destination=customer_ledger_accounts(account=gb).business_funds,
        amount=Money("50", "GBP"),
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key="gb-funds",
        actor=ACTOR,
    )
    credit_add(gb, "10.00")
    auto_top_up_settings_save(
        account=gb,
        data=AutoTopUpInput(enabled=True, value=Money("10", "GBP"), threshold=Money("9.95", "GBP")),
        actor=ACTOR,
    )
    with committed():  # the ingestion's after-debit hooks run after its commit
        cdrs_ingest(
            records=[call("a", account=gb, destination="020 7946 0958", billsec=61)],
            source="test",
            actor=ACTOR,
        )
    top_up = TopUp.objects.get(account=gb)  # 10.00 − 0.07 fell below 9.95
    assert top_up.status == "succeeded" and top_up.amount == 10
    assert call_credit(gb) == Decimal("19.93")


def test_the_hook_reads_a_batch_of_accounts_at_once(customer, make_account, operator):
    """One call for all the accounts a batch debited: each with settings is handled, the
    others (no settings: most accounts) cost nothing."""
    quiet = make_account(currency="EUR", timezone="Europe/Berlin")
    low = make_account(currency="EUR", timezone="Europe/Berlin")
    fund(customer, "50")
    credit(customer, "6")
    turn_on(customer)
    spend(customer, "2")
    credit(low, "20")
    auto_top_up_settings_save(
        account=low,
        data=AutoTopUpInput(enabled=False, value=None, threshold=None, low_credit_level=eur("10")),
        actor=ACTOR,
    )
    spend(low, "15")
    with committed():
        calls_debited(account_ids=[quiet.pk, customer.pk, low.pk])
    assert TopUp.objects.get().account == customer
    assert call_credit_of(customer) == eur("14")
    assert _events(low) == ["low_credit"] and _events(quiet) == []
