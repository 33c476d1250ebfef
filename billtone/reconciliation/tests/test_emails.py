"""The importer's fast rendering of "funds received" emails gives Django's and Babel's text."""

import random
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from billtone.core.money import Money
from billtone.reconciliation.emails import (
    EmailRenderer,
    funds_received_context,
    money_format,
)

LOCALES = ["en", "en_DE", "de_DE", "fr_FR", "de_CH", "nl_NL", "es_ES", "en_IN", "ar", "ja_JP"]


@pytest.mark.parametrize("currency", ["EUR", "GBP", "USD", "JPY", "KWD", "CHF"])
def test_money_is_formatted_as_money_format_does(currency):
    rng = random.Random(currency)
    for locale in LOCALES:
        for _ in range(200):
            amount = Decimal(rng.randrange(1, 10**10)) / Decimal(10 ** rng.randrange(0, 5))
            money = Money(amount, currency)
            assert money_format(money, locale) == money.format(locale), (locale, amount)


def contexts():
    for locale in ("en", "de_DE", "en_IN"):
        for payer in ("", "Smith & <Sons>"):
            for requested in (None, Money("250", "EUR"), Money("99.5", "EUR")):
                yield funds_received_context(
                    company_name="Acme & Co <GmbH>",
                    locale=locale,
                    amount=Money("99.50", "EUR"),
                    reference="RF18539007547034",
                    booking_date=date(2025, 3, 14),
                    payer=payer,
                    requested=requested,
                )


def test_the_renderer_writes_what_the_templates_render():
    renderer = EmailRenderer("funds_received")
    for context in contexts():
        full = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}
        subject = render_to_string("notifications/email/funds_received.subject", full)
        body = render_to_string("notifications/email/funds_received.txt", full)

        email = renderer.render(context)

        assert email.subject == " ".join(subject.split())
        assert email.body_text == body
        assert email.body_html == ""
    assert renderer.shapes and all(parts is not None for parts in renderer.shapes.values())


def test_a_value_that_is_not_text_is_rendered_by_django():
    renderer = EmailRenderer("funds_received")
    context = next(contexts()) | {"booking_date": date(2025, 3, 14)}
    full = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}

    email = renderer.render(context)

    assert email.body_text == render_to_string("notifications/email/funds_received.txt", full)


def test_values_are_escaped_where_django_escapes_them():
    renderer = EmailRenderer("funds_received")
    context = next(contexts()) | {"amount": "<b>'1 & 2'</b>"}
    full = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}

    email = renderer.render(context)

    subject = render_to_string("notifications/email/funds_received.subject", full)
    assert email.subject == " ".join(subject.split())
    assert "&lt;b&gt;&#x27;1 &amp; 2&#x27;&lt;/b&gt;" in email.subject  # autoescape on
    assert "<b>'1 & 2'</b>" in email.body_text  # the .txt turns it off
    assert email.body_text == render_to_string("notifications/email/funds_received.txt", full)
