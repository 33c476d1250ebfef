import socket
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail

from billtone.accounts.services import BillingProfileInput, billing_profile_update
from billtone.core import clock
from billtone.core.services import Actor
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_queue, email_retry_due, email_send


def _change_billing_email(account, new_email):
    profile = account.billing_profile
    return billing_profile_update(
        account=account,
        actor=Actor(label="owner"),
        data=BillingProfileInput(
            company_name=profile.company_name,
            billing_email=new_email,
            currency=profile.currency,
            timezone=profile.timezone,
        ),
    )


def test_changing_the_billing_email_notifies_the_old_address_after_commit(
    account, django_capture_on_commit_callbacks
):
    old = account.billing_profile.billing_email
    with django_capture_on_commit_callbacks(execute=True):
        _change_billing_email(account, "new-billing@acme.example")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [old]
    assert "new-billing@acme.example" in mail.outbox[0].body
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.SENT and delivery.attempts == 1


def test_same_key_is_queued_once_and_sent_once(account, django_capture_on_commit_callbacks):
    context = {
        "profile": account.billing_profile,
        "old_email": "a@x.example",
        "new_email": "b@x.example",
        "actor": "t",
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = email_queue(
            key="k1", to_email="a@x.example", template="billing_email_changed", context=context
        )
        second = email_queue(
            key="k1", to_email="a@x.example", template="billing_email_changed", context=context
        )
    assert first.pk == second.pk
    email_send(delivery_id=first.pk)  # a second run of the task sends nothing
    assert len(mail.outbox) == 1


class _Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    handler = _Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield handler
    controller.stop()


def test_delivers_through_a_real_smtp_server(
    account, smtp_server, django_capture_on_commit_callbacks
):
    old = account.billing_profile.billing_email
    with django_capture_on_commit_callbacks(execute=True):
        _change_billing_email(account, "ap@acme.example")
    assert [m.rcpt_tos for m in smtp_server.messages] == [[old]]
    body = smtp_server.messages[0].content.decode()
    assert "Subject: Your billing email address was changed" in body
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT


def test_smtp_down_keeps_it_pending_and_the_retry_sends_it(
    account, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    with django_capture_on_commit_callbacks(execute=True):
        _change_billing_email(account, "ap@acme.example")
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.PENDING and delivery.attempts == 1
    assert "ConnectionRefusedError" in delivery.last_error
    assert email_retry_due() == []  # backoff: not due yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(clock.now() + timedelta(minutes=5), tick=False):
        assert email_retry_due() == [delivery.pk]
        email_send(delivery_id=delivery.pk)
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT
    assert len(mail.outbox) == 1
