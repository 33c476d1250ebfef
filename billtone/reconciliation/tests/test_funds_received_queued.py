"""The "funds received" emails an import queues: stored unrendered, rendered when sent with
the same text as when the importer rendered them itself."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.template.loader import render_to_string

from billtone.accounts.models import BillingProfile
from billtone.core.money import Money, locale_for
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_render, email_send
from billtone.reconciliation.emails import funds_received_context
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053


def as_rendered_before(customer, *, amount, reference, payer, requested):
    """The subject and text the importer stored before: Django's rendering of the context."""
    profile = BillingProfile.objects.get(account=customer.account)
    context = {
        "operator_name": settings.BILLTONE_OPERATOR_NAME,
        **funds_received_context(
            company_name=profile.company_name,
            locale=locale_for(language=settings.LANGUAGE_CODE, country=profile.country),
            amount=Money(amount, "EUR"),
            reference=reference,
            booking_date=date(2025, 3, 14),
            payer=payer,
            requested=Money(requested, "EUR") if requested else None,
        ),
    }
    subject = render_to_string("notifications/email/funds_received.subject", context)
    body = render_to_string("notifications/email/funds_received.txt", context)
    return " ".join(subject.split()), body


@pytest.mark.parametrize("country", ["", "DE", "CH"])
def test_the_queued_email_renders_as_the_importer_rendered_it(tmp_path, customer, country):
    BillingProfile.objects.filter(account=customer.account).update(country=country)
    request, permanent = customer.request.reference, customer.reference.reference
    path = camt053(
        tmp_path,
        Credit("1234.5", ref=request, payer="Müller &amp; Söhne"),  # differs from 250.00
        Credit("75.10", ustrd=(f"Standing order {permanent}",), payer=""),
    )

    result = statement_import(source=path, actor=STAFF)
    rows = EmailDelivery.objects.filter(key__startswith="funds-received:")
    assert not rows.exists() and result.funds_emails_queued_at is None  # not in the import

    queued = funds_received_emails_queue(statement_import_id=result.pk)  # after its commit

    by_amount = {e.amount: e for e in BankEntry.objects.filter(status=BankEntry.Status.MATCHED)}
    expected = {
        by_amount[Decimal("1234.5")].identity: as_rendered_before(
            customer, amount="1234.5", reference=request, payer="Müller & Söhne", requested="250"
        ),
        by_amount[Decimal("75.1")].identity: as_rendered_before(
            customer, amount="75.10", reference=permanent, payer="", requested=None
        ),
    }
    assert sorted(d.context["entry"] for d in rows) == sorted(expected)
    assert sorted(queued) == sorted(d.pk for d in rows)
    queued_at = StatementImport.objects.get().funds_emails_queued_at
    for delivery in rows:
        identity = delivery.context["entry"]
        assert delivery.key == f"funds-received:{identity}"
        assert delivery.account_id == customer.account.pk
        assert (delivery.template, delivery.subject, delivery.body_text) == (
            "funds_received",
            "",
            "",
        )
        assert delivery.to_email == ""  # the billing email when it is sent
        assert delivery.created_at == delivery.next_attempt_at <= queued_at

        to_email, email = email_render(delivery=delivery)

        assert to_email == customer.account.billing_profile.billing_email
        assert (email.subject, email.body_text) == expected[identity]
        assert email.body_html == ""
    different = expected[by_amount[Decimal("1234.5")].identity][1]
    assert "From:            Müller & Söhne" in different
    assert "(the amount that arrived differs" in different
    assert "From:" not in expected[by_amount[Decimal("75.1")].identity][1]
    assert "You asked for" not in expected[by_amount[Decimal("75.1")].identity][1]


def test_the_import_sends_them_after_commit(tmp_path, customer, django_capture_on_commit_callbacks):
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference, payer="Acme"))

    with django_capture_on_commit_callbacks(execute=True):
        statement_import(source=path, actor=STAFF)

    (message,) = mail.outbox
    delivery = EmailDelivery.objects.get(key__startswith="funds-received:")
    subject, body = as_rendered_before(
        customer,
        amount="250.00",
        reference=customer.request.reference,
        payer="Acme",
        requested="250.00",
    )
    assert (message.subject, message.body) == (subject, body)
    assert message.to == [customer.account.billing_profile.billing_email]
    assert delivery.status == EmailDelivery.Status.SENT
    assert (delivery.to_email, delivery.subject, delivery.body_text) == (
        message.to[0],
        subject,
        body,
    )


def test_an_email_whose_entry_is_gone_fails_with_the_reason(tmp_path, customer):
    result = statement_import(
        source=camt053(tmp_path, Credit("250.00", ref=customer.request.reference)), actor=STAFF
    )
    funds_received_emails_queue(statement_import_id=result.pk)
    entry = BankEntry.objects.get()
    delivery = EmailDelivery.objects.get(key=f"funds-received:{entry.identity}")
    entry.delete()

    failed = email_send(delivery_id=delivery.pk)

    assert failed.status == EmailDelivery.Status.FAILED and mail.outbox == []
    assert failed.last_error == f"Not sent: No credited bank entry '{entry.identity}'."
