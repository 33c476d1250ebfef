import pytest

from billtone.accounts.models import BillingProfile
from billtone.accounts.services import BillingProfileInput, billing_profile_update
from billtone.core.errors import ValidationFailed
from billtone.core.models import AuditEntry
from billtone.core.services import Actor

VALID = dict(
    company_name="Acme Telecom GmbH",
    billing_email="billing@acme.example",
    currency="EUR",
    timezone="Europe/Berlin",
    address_line1="Friedrichstraße 68",
    city="Berlin",
    postal_code="10117",
    country="DE",
    tax_id="DE136695976",
)


def update(account, **changes):
    return billing_profile_update(
        account=account,
        actor=Actor(label="tester"),
        data=BillingProfileInput(**{**VALID, **changes}),
    )


def test_update_saves_every_field_and_normalises(account):
    profile = update(account, country="de", currency="usd", tax_id="de 136 695 976")
    profile.refresh_from_db()
    assert (profile.country, profile.currency, profile.tax_id) == ("DE", "USD", "DE136695976")
    assert profile.city == "Berlin" and profile.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"billing_email": "not-an-email"}, "billing_email"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"country": ""}, "country"),
        ({"country": "XX"}, "country"),
        ({"currency": "JPY"}, "currency"),
        ({"company_name": "  "}, "company_name"),
        ({"tax_id": "DE123"}, "tax_id"),
        ({"city": ""}, "city"),
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(account, changes, field):
    before = BillingProfile.objects.get(account=account)
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as raised:
        update(account, **changes)
    assert field in raised.value.errors
    after = BillingProfile.objects.get(account=account)
    assert [getattr(after, f.name) for f in after._meta.fields] == [
        getattr(before, f.name) for f in before._meta.fields
    ]
    assert AuditEntry.objects.count() == audits


def test_an_address_without_country_names_the_country_field(account):
    with pytest.raises(ValidationFailed) as raised:
        update(account, country="")
    assert raised.value.errors["country"] == ["Choose the country of the billing address."]


def test_tax_id_validated_for_non_eu_country_known_to_stdnum(account):
    with pytest.raises(ValidationFailed) as raised:
        update(account, country="GB", tax_id="GB999999999", city="London", postal_code="E1 6AN")
    assert "tax_id" in raised.value.errors
    profile = update(account, country="GB", tax_id="GB980780684", city="London")
    assert profile.tax_id == "GB980780684"


def test_every_change_is_audited_with_old_and_new_values(account):
    update(account)
    entry = AuditEntry.objects.filter(action="billing_profile.update").latest("id")
    assert entry.account_id == account.pk
    assert entry.actor_label == "tester"
    assert entry.changes["city"] == ["", "Berlin"]
    assert entry.changes["billing_email"] == [
        account.memberships.get().user.email,
        "billing@acme.example",
    ]
    count = AuditEntry.objects.count()
    update(account)  # no change, no entry
    assert AuditEntry.objects.count() == count


def test_currency_change_refused_once_money_is_recorded(account):
    from billtone.core.money import Money
    from billtone.ledger.services import (
        customer_ledger_accounts,
        funds_transfer,
        operator_ledger_account,
    )

    ledger = customer_ledger_accounts(account=account)
    funds_transfer(
        source=operator_ledger_account(kind="bank_clearing", currency="EUR"),
        destination=ledger.business_funds,
        amount=Money("25.00", "EUR"),
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key="deposit-1",
        actor=Actor.system("test"),
    )
    with pytest.raises(ValidationFailed) as raised:
        update(account, currency="USD")
    assert "already has money recorded in EUR" in raised.value.errors["currency"][0]
    assert BillingProfile.objects.get(account=account).currency == "EUR"


def test_currency_change_allowed_while_the_ledger_is_empty(account):
    from billtone.ledger.services import customer_ledger_accounts

    customer_ledger_accounts(account=account)  # opened, nothing posted
    assert update(account, currency="USD").currency == "USD"
    account.refresh_from_db()
    assert customer_ledger_accounts(account=account).business_funds.currency == "USD"


def test_currency_change_refused_while_a_bank_transfer_is_awaited(account):
    from billtone.banktransfers.services import bank_transfer_create
    from billtone.banktransfers.tests.funding import operator_banks_save

    operator_banks_save()
    bank_transfer_create(account=account, amount="100.00", actor=Actor(label="t"))
    with pytest.raises(ValidationFailed) as raised:
        update(account, currency="GBP")
    assert "currency" in raised.value.errors
    assert BillingProfile.objects.get(account=account).currency == "EUR"


def test_currency_change_refused_while_a_card_payment_is_unsettled(transactional_db, make_account):
    from billtone.core.money import Money
    from billtone.payments.services import card_add, card_charge

    account = make_account()
    card = card_add(
        account=account,
        number="4000002500003155",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        holder_name="Ada Lovelace",
        actor=Actor(label="t"),
    )
    payment = card_charge(
        account=account,
        card=card,
        amount=Money("20.00", "EUR"),
        purpose="business_funds",
        on_session=True,
        idempotency_key="3ds-pending",
        actor=Actor(label="t"),
    )
    assert payment.status == "requires_action"
    with pytest.raises(ValidationFailed) as raised:
        update(account, currency="GBP")
    assert "currency" in raised.value.errors
