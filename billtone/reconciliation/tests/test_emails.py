"""The "funds received" email's text: amounts as Babel formats them for the customer's locale."""

from datetime import date

from billtone.core.money import Money
from billtone.notifications.renderers import email_templates_render
from billtone.reconciliation.emails import TEMPLATE, funds_received_context


def context(locale: str, requested: Money | None) -> dict:
    return funds_received_context(
        company_name="Acme & Co <GmbH>",
        locale=locale,
        amount=Money("1234.5", "EUR"),
        reference="RF18539007547034",
        booking_date=date(2025, 3, 14),
        payer="Smith & <Sons>",
        requested=requested,
    )


def test_amounts_are_babel_s_for_the_locale():
    german = context("de_DE", Money("250", "EUR"))
    english = context("en", None)

    assert german["amount"] == Money("1234.5", "EUR").format("de_DE") == "1.234,50\xa0€"
    assert german["requested"] == "250,00\xa0€" and german["different"] is True
    assert english["amount"] == "€1,234.50" and english["requested"] == ""
    assert english["different"] is False


def test_the_email_shows_what_arrived_and_what_was_asked_for():
    email = email_templates_render(TEMPLATE, context("de_DE", Money("250", "EUR")))

    # The subject is one line: its spaces, the no-break one too, collapse to one space.
    assert email.subject == "Funds received: 1.234,50 € added to your business account"
    assert "Reference:       RF18 5390 0754 7034" in email.body_text
    assert "From:            Smith & <Sons>" in email.body_text  # text: not escaped
    assert "You asked for:   250,00\xa0€ (the amount that arrived differs" in email.body_text
    assert email.body_html == ""
