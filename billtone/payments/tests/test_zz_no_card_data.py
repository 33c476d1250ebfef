"""No card number and no CVC is ever kept: not in any table, not in any log, not in any email.

This module sorts last among the payments tests, but does not rely on that: it drives every
card flow itself (services, API, pages; the sandbox gateway, and the Stripe gateway against
localstripe), with every sandbox test card and its own CVC, while logs are captured at DEBUG
(SQL statements with their parameters included) and emails are collected. Then it dumps every
table of the database, every row and every column, and searches the dump, the logs, the
emails, the session and the cookies for each number (as typed: plain and grouped) and CVC.
"""

import logging
import re
from datetime import datetime

import pytest
import time_machine
from django.apps import apps
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import RequestFactory

from billtone.core import clock
from billtone.core.money import Money
from billtone.payments import services
from billtone.payments.errors import CardDeclined
from billtone.payments.gateways.base import GatewayUnavailable
from billtone.payments.models import Payment, SavedCard

from .conftest import ACTOR, CARD_OUTCOMES
from .stripe_emulator import API_KEY

# Every test card with a CVC of its own. A leading zero keeps a CVC from reading like an id,
# an amount or a time of day in the dump, so that "standing alone" means the CVC.
NUMBERS = [number for number, *_ in CARD_OUTCOMES]
CVCS = dict(
    zip(
        NUMBERS,
        ["047", "083", "0468", "064", "057", "091", "062", "038", "074", "059", "026", "015"],
        strict=True,
    )
)
# Numbers typed that are no card: a Luhn error and a real-looking card the sandbox refuses.
NOT_CARDS = ["4242424242424241", "4111111111111111"]
STRIPE_CVCS = {
    "4242424242424242": "035",
    "5555555555554444": "069",
    "4000000000000341": "081",
    "4000002500003155": "027",
}


def grouped(number: str) -> list[str]:
    """The ways a person types the number: plain, in fours, Amex as 4-6-5."""
    ways = [number, " ".join(number[i : i + 4] for i in range(0, len(number), 4))]
    if len(number) == 15:
        ways.append(f"{number[:4]} {number[4:10]} {number[10:]}")
    return ways


def card_fields(number: str, cvc: str, **changes) -> dict:
    fields = {
        "number": number,
        "exp_month": 11,
        "exp_year": clock.now().year + 3,
        "cvc": cvc,
        "holder_name": "Ada Lovelace",
    }
    fields.update(changes)
    return fields


def drive_services(account, number: str, cvc: str, n: int) -> None:
    try:
        card = services.card_add(account=account, actor=ACTOR, **card_fields(number, cvc))
    except CardDeclined:
        return  # localstripe declines some cards when they are saved, as Stripe does
    for on_session, purpose in ((True, "business_funds"), (False, "call_credit")):
        payment = services.card_charge(
            account=account,
            card=card,
            amount=Money("30.00", account.billing_profile.currency),
            purpose=purpose,
            on_session=on_session,
            idempotency_key=f"zz-{n}-{card.pk}-{on_session}",
            actor=ACTOR,
        )
        if payment.status == Payment.Status.REQUIRES_ACTION:
            payment = services.charge_confirm(account=account, payment=payment, actor=ACTOR)
        if payment.status == Payment.Status.SUCCEEDED and purpose == "business_funds":
            services.payment_refund(
                account=account,
                payment=payment,
                amount=Money("10.00", payment.currency),
                idempotency_key=f"zz-refund-{payment.pk}",
                actor=ACTOR,
            )
    services.card_set_default(account=account, card_id=card.pk, actor=ACTOR)
    # Removed, so that the API and the page can save the same card again (a card is saved
    # once per account).
    services.card_remove(account=account, card_id=card.pk, actor=ACTOR)


def drive_api(api, number: str, cvc: str) -> None:
    typed = grouped(number)[-1]
    response = api.post(
        "/api/v1/payment-methods",
        card_fields(typed, cvc, make_default=True),
        HTTP_IDEMPOTENCY_KEY=f"zz-card-{number[-4:]}",
    )
    assert response.status_code == 201, response.content
    card_id = response.json()["id"]
    response = api.post(
        "/api/v1/payments",
        {"card_id": card_id, "amount": "40.00", "purpose": "business_funds"},
        HTTP_IDEMPOTENCY_KEY=f"zz-pay-{number[-4:]}",
    )
    assert response.status_code in (201, 402), response.content
    payment = response.json()
    if payment.get("next_action") == "authenticate":
        api.post(
            f"/api/v1/payments/{payment['id']}/confirm",
            HTTP_IDEMPOTENCY_KEY=f"zz-confirm-{number[-4:]}",
        )
    if payment.get("status") == "succeeded":
        api.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": "5.00"})
    bad = api.post("/api/v1/payment-methods", card_fields(number, cvc, exp_year=2001))
    assert bad.status_code == 422
    assert all(way not in bad.content.decode() for way in grouped(number))
    twice = api.post("/api/v1/payment-methods", card_fields(typed, cvc))
    assert twice.status_code == 409
    assert all(way not in twice.content.decode() for way in grouped(number))
    assert api.delete(f"/api/v1/payment-methods/{card_id}").status_code == 200


def drive_pages(web, number: str, cvc: str) -> None:
    year = (clock.now().year + 3) % 100
    form = {"number": grouped(number)[-1], "expiry": f"11/{year:02d}", "cvc": cvc}
    response = web.post(
        "/billing/payment-methods/cards/add/", {**form, "holder_name": "Ada Lovelace"}
    )
    assert response.status_code == 302, response.content
    refused = web.post(
        "/billing/payment-methods/cards/add/",
        {**form, "expiry": "01/20", "holder_name": "Ada Lovelace"},
    )
    page = refused.content.decode()
    assert "This card has expired." in page
    assert all(way not in page for way in grouped(number)) and not standing_alone(cvc, page)
    twice = web.post("/billing/payment-methods/cards/add/", {**form, "holder_name": "Ada L."})
    page = twice.content.decode()
    assert "This card is already saved" in page
    assert all(way not in page for way in grouped(number)) and not standing_alone(cvc, page)
    card = SavedCard.objects.filter(last4=number[-4:], removed_at__isnull=True).last()
    response = web.post(
        "/billing/payment-methods/top-up/",
        {
            "amount": "12.00",
            "card_id": card.pk,
            "purpose": "call_credit",
            "idempotency_key": f"zz-web-{number[-4:]}",
        },
    )
    assert response.status_code in (200, 302)
    payment = Payment.objects.filter(card=card).last()
    if payment.status == Payment.Status.REQUIRES_ACTION:
        web.post(f"/billing/payment-methods/payments/{payment.pk}/authenticate/")
    web.get("/billing/payment-methods/")
    web.get("/")


def table_dump() -> str:
    """Every row of every table: through the models (each field, str()) and, for tables
    without a model, through SQL."""
    lines = []
    modelled = set()
    for model in apps.get_models(include_auto_created=True):
        modelled.add(model._meta.db_table)
        fields = model._meta.concrete_fields
        for row in model._base_manager.all():
            values = [f"{f.name}={_text(getattr(row, f.attname))}" for f in fields]
            lines.append(f"{model._meta.label} " + " ".join(values))
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in modelled:
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            lines.extend(f"{table} " + " ".join(map(_text, row)) for row in cursor.fetchall())
    # Sessions are stored encoded: read them as the application does.
    lines.extend(str(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(lines)


def _text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def cookies_text(client) -> str:
    decoded = []
    storage = CookieStorage(RequestFactory().get("/"))
    for morsel in client.cookies.values():
        decoded.append(morsel.value)
        if morsel.key == storage.cookie_name:
            decoded.append(str(storage._decode(morsel.value)))
    return "\n".join(decoded)


def standing_alone(cvc: str, text: str) -> re.Match | None:
    """The CVC as a number of its own: not inside a random token such as the CSRF one (letters
    and digits), nor after a decimal point (SQL timings like "(0.047)")."""
    return re.search(rf"(?<![0-9A-Za-z.]){cvc}(?![0-9A-Za-z])", text)


def assert_no_card_data(where: str, text: str, numbers: list[str], cvcs: list[str]) -> None:
    for number in numbers:
        for way in grouped(number):
            assert way not in text, f"card number {way} found in {where}"
    for cvc in cvcs:
        found = standing_alone(cvc, text)
        if found:
            start, end = max(found.start() - 80, 0), found.end() + 80
            pytest.fail(f"CVC {cvc} found in {where}: …{text[start:end]}…")


@pytest.fixture
def sql_logged():
    """Django logs every SQL statement with its parameters at DEBUG while this is on."""
    previous = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = previous


def test_no_card_number_or_cvc_is_kept_anywhere(
    account,
    api,
    web,
    settings,
    caplog,
    capsys,
    sql_logged,
    localstripe,
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    caplog.set_level(logging.DEBUG)
    for name in logging.root.manager.loggerDict:  # loggers that set a level of their own
        if logging.getLogger(name).level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
    typed_cvcs = list(CVCS.values())

    with django_capture_on_commit_callbacks(execute=True):
        for n, number in enumerate(NUMBERS):
            drive_services(account, number, CVCS[number], n)
            drive_api(api, number, CVCS[number])
            drive_pages(web, number, CVCS[number])
        for number in NOT_CARDS:
            with pytest.raises((CardDeclined, services.cards.ValidationFailed)):
                services.card_add(account=account, actor=ACTOR, **card_fields(number, "0512"))
            web.post("/billing/payment-methods/cards/add/", {"number": number, "cvc": "0512"})
            api.post("/api/v1/payment-methods", card_fields(number, "0512"))
        typed_cvcs.append("0512")

        # The Stripe gateway, against localstripe: the stripe package logs request bodies at
        # DEBUG, card[number] and card[cvc] included, unless masked.
        settings.BILLTONE_PAYMENT_GATEWAY = "stripe"
        settings.STRIPE_API_KEY = API_KEY
        settings.STRIPE_API_BASE = localstripe
        for n, (number, cvc) in enumerate(STRIPE_CVCS.items(), start=100):
            try:
                drive_services(account, number, cvc, n)
            except GatewayUnavailable as error:  # pragma: no cover - shows why, if it happens
                pytest.fail(f"localstripe did not answer: {error}")
            typed_cvcs.append(cvc)
        settings.BILLTONE_PAYMENT_GATEWAY = "sandbox"

    # Card expiry notices for every card saved above, sent while it is that day.
    soon = datetime(clock.now().year + 3, 11, 10, 12, tzinfo=clock.now().tzinfo)
    with (
        time_machine.travel(soon, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.card_expiry_notify_due()

    assert Payment.objects.filter(status="succeeded").count() >= 10  # the flows really ran
    assert Payment.objects.filter(status="failed", on_session=False).exists()
    assert SavedCard.objects.filter(gateway="stripe").count() >= 2
    assert len(mail.outbox) >= 10
    assert any("Post details" in r.getMessage() for r in caplog.records)  # stripe's DEBUG
    assert any(r.name == "django.db.backends" for r in caplog.records)  # SQL with params

    numbers = NUMBERS + NOT_CARDS
    captured = capsys.readouterr()
    logs = "\n".join(
        [caplog.text] + [f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    )
    emails = "\n".join(f"{m.subject}\n{m.body}\n{m.to}\n{m.alternatives}" for m in mail.outbox)
    dump = table_dump()
    assert "Ada Lovelace" in dump and "sandbox_card_" in dump  # the dump holds the cards

    assert_no_card_data("the database", dump, numbers, typed_cvcs)
    assert_no_card_data("the logs", logs, numbers, typed_cvcs)
    assert_no_card_data("stdout and stderr", captured.out + captured.err, numbers, typed_cvcs)
    assert_no_card_data("the emails", emails, numbers, typed_cvcs)
    assert_no_card_data("the cookies", cookies_text(web) + cookies_text(api), numbers, typed_cvcs)
