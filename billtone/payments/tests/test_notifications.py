"""Billing emails about cards: a card that expires within 30 days, once per card and month."""

import socket
from datetime import UTC, datetime

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command

from billtone.notifications.models import EmailDelivery
from billtone.payments import services, tasks

from .conftest import ACTOR, add_card


def _at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


@pytest.fixture
def cards(account):
    """Cards of one account (Europe/Berlin) as of 1 June 2026."""
    with _at(2026, 4, 1, 12):
        gone = add_card(account, "378282246310005", exp_month=5, exp_year=2026)
    with _at(2026, 6, 1, 12):
        return {
            "gone": gone,  # expired at the end of May
            "soon": add_card(account, exp_month=7, exp_year=2026, make_default=True),
            "later": add_card(account, "5555555555554444", exp_month=8, exp_year=2026),
        }


def test_a_card_expiring_within_30_days_is_told_once(
    account, cards, django_capture_on_commit_callbacks
):
    with _at(2026, 6, 30, 12):  # 31 days before the end of July: not yet
        assert services.card_expiry_notify_due() == []
    with _at(2026, 7, 1, 12), django_capture_on_commit_callbacks(execute=True):
        (delivery,) = services.card_expiry_notify_due()
    with _at(2026, 7, 2, 12), django_capture_on_commit_callbacks(execute=True):
        again = services.card_expiry_notify_due()

    assert [d.pk for d in again] == [delivery.pk]  # the same delivery, not a new one
    assert delivery.key == f"card-expiring:{cards['soon'].pk}:2026-07"
    (message,) = mail.outbox
    assert message.to == [account.billing_profile.billing_email]
    assert message.subject == "Your card Visa ending 4242 expires soon"
    assert "expires at the end of July 2026, in 30 days" in message.body
    assert "It is your default card" in message.body


def test_the_30_days_are_counted_in_the_accounts_time_zone(make_account):
    new_york = make_account("New York Inc", currency="USD", timezone="America/New_York")
    with _at(2026, 6, 1, 12):
        card = add_card(new_york, exp_month=7, exp_year=2026)

    with _at(2026, 7, 1, 3):  # 30 June, 23:00 in New York: 31 days left
        assert services.card_expiry_notify_due() == []
    with _at(2026, 7, 1, 5):  # 1 July, 01:00 in New York
        (delivery,) = services.card_expiry_notify_due()
    assert delivery.key == f"card-expiring:{card.pk}:2026-07"


def test_removed_cards_are_not_told(account, cards):
    services.card_remove(account=account, card_id=cards["soon"].pk, actor=ACTOR)

    with _at(2026, 7, 15, 12):
        assert services.card_expiry_notify_due() == []


def test_the_command_and_the_task(account, cards, capsys):
    with _at(2026, 7, 10, 12):
        call_command("notify_expiring_cards")
        tasks.card_expiry_notify()

    assert "1 card(s) expire within 30 days" in capsys.readouterr().out
    assert EmailDelivery.objects.count() == 1


class _Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = _Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield handler
    controller.stop()


def test_card_notices_go_through_a_real_smtp_server(
    account, cards, smtp_server, django_capture_on_commit_callbacks
):
    with _at(2026, 7, 20, 12), django_capture_on_commit_callbacks(execute=True):
        services.card_expiry_notify_due()

    (envelope,) = smtp_server.messages
    assert envelope.rcpt_tos == [account.billing_profile.billing_email]
    content = envelope.content.decode()
    assert "Subject: Your card Visa ending 4242 expires soon" in content
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT


def test_the_periodic_tasks_are_scheduled(settings):
    from config.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "billtone.payments.tasks.payments_recover_stale",
        "billtone.payments.tasks.card_expiry_notify",
    } <= scheduled
    app.loader.import_default_modules()
    assert scheduled <= set(app.tasks)
