"""Emails stored unrendered: rendered by their template's renderer when they are sent."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client

from billtone.core import clock
from billtone.notifications import renderers
from billtone.notifications.models import EmailDelivery
from billtone.notifications.renderers import (
    EmailGone,
    RenderedEmail,
    email_template_register,
)
from billtone.notifications.services import (
    billing_email_queue_unrendered,
    email_retry_due,
    email_send,
)
from billtone.notifications.tests.test_services import _change_billing_email

Status = EmailDelivery.Status


class Greeting:
    """A renderer for the tests: greets context["name"]; gone when there is no name."""

    def __init__(self):
        self.calls = 0
        self.error: Exception | None = None

    def __call__(self, context):
        self.calls += 1
        if self.error is not None:
            raise self.error
        if "name" not in context:
            raise EmailGone("The greeting's person is gone.")
        return RenderedEmail(
            subject=f"Hello {context['name']}",
            body_text=f"Dear {context['name']},\nhello.\n",
            body_html=f"<p>Dear {context['name']}</p>",
        )


@pytest.fixture
def greeting(monkeypatch):
    render = Greeting()
    monkeypatch.setitem(renderers._renderers, "test_greeting", render)
    return render


def queue(account, key="greeting:1", **context):
    return billing_email_queue_unrendered(
        account=account, key=key, template="test_greeting", context=context
    )


def test_it_is_stored_unrendered_and_rendered_when_sent(
    account, greeting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = queue(account, name="Ada")
    stored = EmailDelivery.objects.get(pk=delivery.pk)
    assert (stored.subject, stored.body_text, stored.to_email) == ("", "", "")
    assert (stored.template, stored.context) == ("test_greeting", {"name": "Ada"})
    assert greeting.calls == 0
    # The billing email changes before the worker sends it: the email goes to the new one.
    _change_billing_email(account, "ap@acme.example")
    mail.outbox.clear()

    for callback in callbacks:
        callback()

    (message,) = mail.outbox
    assert message.to == ["ap@acme.example"] and message.subject == "Hello Ada"
    assert message.body == "Dear Ada,\nhello.\n"
    assert message.alternatives[0].content == "<p>Dear Ada</p>"
    sent = EmailDelivery.objects.get(pk=delivery.pk)
    assert sent.status == Status.SENT and sent.attempts == 1 and sent.sent_at is not None
    # What was sent is kept on the row.
    assert (sent.to_email, sent.subject, sent.body_text) == (
        "ap@acme.example",
        "Hello Ada",
        "Dear Ada,\nhello.\n",
    )
    assert email_send(delivery_id=delivery.pk).status == Status.SENT  # a second run
    assert len(mail.outbox) == 1 and greeting.calls == 1


def test_the_same_key_is_queued_once(account, greeting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(account, name="Ada")
        second = queue(account, name="Grace")

    assert first.pk == second.pk and EmailDelivery.objects.count() == 1
    assert [m.subject for m in mail.outbox] == ["Hello Ada"]


def test_the_key_is_unique_in_the_database(account):
    now = clock.now()
    row = {"account": account, "template": "test_greeting", "created_at": now}
    EmailDelivery.objects.create(key="k", next_attempt_at=now, **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDelivery.objects.create(key="k", next_attempt_at=now, **row)


def test_a_row_is_rendered_or_names_its_template_and_has_a_recipient(account):
    now = clock.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDelivery.objects.create(
            key="k", account=account, body_text="x", created_at=now, next_attempt_at=now
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # no address, no account
        EmailDelivery.objects.create(
            key="k", template="test_greeting", created_at=now, next_attempt_at=now
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
def test_the_key_has_one_index_and_no_like_index(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, EmailDelivery._meta.db_table)
    on_key = [name for name, c in constraints.items() if c["columns"] == ["key"]]
    assert on_key == ["email_delivery_key_unique"]


def test_a_gone_subject_fails_the_delivery_with_the_reason(
    account, greeting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(account)  # no name: the renderer says it is gone

    failed = EmailDelivery.objects.get(pk=delivery.pk)
    assert failed.status == Status.FAILED and failed.attempts == 1
    assert failed.last_error == "Not sent: The greeting's person is gone."
    assert mail.outbox == []
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False):
        assert email_retry_due() == []  # never tried again


def test_a_renderer_that_breaks_is_retried_later_and_then_fails(
    account, greeting, django_capture_on_commit_callbacks
):
    greeting.error = ValueError("template bug")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(account, name="Ada")

    pending = EmailDelivery.objects.get(pk=delivery.pk)
    assert pending.status == Status.PENDING and pending.attempts == 1
    assert pending.last_error == "Rendering failed: ValueError: template bug"
    assert pending.subject == "" and mail.outbox == []
    greeting.error = None  # fixed, deployed
    with time_machine.travel(clock.now() + timedelta(minutes=5), tick=False):
        assert email_retry_due() == [delivery.pk]
        assert email_send(delivery_id=delivery.pk).status == Status.SENT
    assert [m.subject for m in mail.outbox] == ["Hello Ada"]


def test_a_template_nobody_renders_is_not_sent_and_the_worker_goes_on(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue(account, name="Ada")  # "test_greeting" is not registered here

    pending = EmailDelivery.objects.get(pk=delivery.pk)
    assert pending.status == Status.PENDING and pending.attempts == 1
    assert pending.last_error == (
        "Rendering failed: LookupError: "
        "No renderer is registered for the email template 'test_greeting'."
    )
    assert mail.outbox == []


def test_a_name_takes_one_renderer(greeting):
    email_template_register("test_greeting", greeting)  # the same again: fine
    with pytest.raises(ValueError, match="has a renderer already"):
        email_template_register("test_greeting", Greeting())


def test_the_back_office_shows_an_unrendered_email_and_its_preview(account, greeting):
    delivery = queue(account, name="Ada")
    gone = queue(account, key="greeting:2")
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw")
    client = Client()
    client.force_login(user)

    listing = client.get("/admin/notifications/emaildelivery/").content.decode()
    assert listing.count("(rendered when sent)") == 2
    assert listing.count("(billing email, when sent)") == 2
    page = client.get(f"/admin/notifications/emaildelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Subject: Hello Ada" in text
    assert f"To: {account.billing_profile.billing_email}" in text
    page = client.get(f"/admin/notifications/emaildelivery/{gone.pk}/change/").content.decode()
    assert "Not sendable: The greeting&#x27;s person is gone." in page
    assert EmailDelivery.objects.filter(status=Status.PENDING).count() == 2  # nothing sent


def test_many_are_stored_at_once_from_the_caller_s_query_each_key_once(
    account, greeting, django_capture_on_commit_callbacks
):
    """email_queue_bulk: what billing_email_queue_unrendered stores, for every row of a
    query (here accounts named Ada...), skipping keys stored already; nothing is sent."""
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Cast, Concat, JSONObject

    from billtone.accounts.models import Account
    from billtone.notifications.services import email_queue_bulk

    now = clock.now()
    others = Account.objects.bulk_create(
        [Account(name=f"Customer {n}", created_at=now) for n in range(3)]
    )
    first = queue(account, key=f"bulk:{account.pk}", name="before")
    rows = (
        Account.objects.filter(pk__in=[account.pk, *(a.pk for a in others)])
        .order_by("pk")
        .values(
            account_id=F("pk"),
            key=Concat(Value("bulk:"), Cast("pk", CharField())),
            context=JSONObject(name="name"),
        )
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        ids = email_queue_bulk(template="test_greeting", emails=rows)
        again = email_queue_bulk(template="test_greeting", emails=rows)

    stored = EmailDelivery.objects.filter(pk__in=ids).order_by("pk")
    assert ids == sorted(ids) and len(ids) == 3 and first.pk not in ids and again == []
    assert [(d.key, d.account_id, d.context, d.template, d.status) for d in stored] == [
        (f"bulk:{a.pk}", a.pk, {"name": a.name}, "test_greeting", Status.PENDING) for a in others
    ]
    assert EmailDelivery.objects.get(pk=first.pk).context == {"name": "before"}
    assert mail.outbox == [] and greeting.calls == 0
