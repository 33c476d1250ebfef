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
    profile = update(
        account, country="GB", tax_id="GB980780684", city="London", postal_code="E1 6AN"
    )
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
