"""The billing profile's rules that depend on each other (VAT ID ↔ country, postcode and
required fields per country), and the same messages on the page and through the API."""

import re
from html import unescape

import pytest

from billtone.accounts.models import BillingProfile
from billtone.accounts.tests.test_services import VALID, update
from billtone.core.errors import ValidationFailed

PROFILE_PAGE = "/billing/profile/"
AUSTRIA = dict(country="AT", city="Wien", postal_code="1060", address_line1="Mariahilfer Str. 1")
GREECE = dict(country="GR", city="Athens", postal_code="105 57", address_line1="Ermou 1")
BELFAST = dict(country="GB", city="Belfast", postal_code="BT1 5GS", address_line1="1 High St")
LONDON = dict(country="GB", city="London", postal_code="EC1Y 8SY", address_line1="1 Old St")


def refused(account, **changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as raised:
        update(account, **changes)
    return raised.value.errors


@pytest.mark.parametrize(
    ("changes", "tax_id"),
    [
        ({"tax_id": "EL094259216", **GREECE}, "EL094259216"),
        ({"tax_id": "GR 094259216", **GREECE}, "EL094259216"),  # GR is read as EL
        ({"tax_id": "094259216", **GREECE}, "EL094259216"),  # no prefix: the country's
        ({"tax_id": "136695976"}, "DE136695976"),
        ({"tax_id": "ATU 135 856 27", **AUSTRIA}, "ATU13585627"),
        ({"tax_id": "XI980780684", **BELFAST}, "XI980780684"),
        ({"tax_id": "GB980780684", **BELFAST}, "GB980780684"),
        ({"tax_id": "980 7806 84", **LONDON}, "GB980780684"),
        (
            {"tax_id": "CHE-116.281.710 MWST", "country": "CH", "postal_code": "8001"},
            "CHE116281710MWST",
        ),
    ],
)
def test_vat_ids_of_the_billing_country_are_accepted(account, changes, tax_id):
    profile = update(account, **changes)
    assert profile.tax_id == tax_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"tax_id": "ATU13585627"},
            "“ATU13585627” is a VAT ID of Austria (it starts with AT), but the billing "
            "country is Germany, whose VAT IDs start with DE.",
        ),
        (
            {"tax_id": "DE136695976", **GREECE},
            "“DE136695976” is a VAT ID of Germany (it starts with DE), but the billing "
            "country is Greece, whose VAT IDs start with EL.",
        ),
        (
            {"tax_id": "EL094259216"},
            "“EL094259216” is a VAT ID of Greece (it starts with EL), but the billing "
            "country is Germany, whose VAT IDs start with DE.",
        ),
        (
            {"tax_id": "XI980780684", **LONDON},
            "VAT IDs starting with XI are for Northern Ireland: use a postcode starting with "
            "BT, or the GB VAT ID.",
        ),
        (
            {"tax_id": "DE136695976", "country": "CH", "postal_code": "8001", "city": "Zürich"},
            "“DE136695976” is a VAT ID of Germany (it starts with DE), but the billing "
            "country is Switzerland. Check the country.",
        ),
    ],
)
def test_a_vat_id_of_another_country_is_refused_with_one_message(account, changes, message):
    assert refused(account, **changes) == {"tax_id": [message]}


def test_a_vat_id_needs_the_billing_country(account):
    errors = refused(
        account, country="", address_line1="", city="", postal_code="", tax_id="DE136695976"
    )
    assert errors == {"country": ["Choose the billing country: the VAT ID is checked against it."]}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {**AUSTRIA, "postal_code": "10600", "tax_id": ""},
            "postal_code",
            "“10600” is not a valid postal code for Austria (for example 1010 or 3741).",
        ),
        (
            {"postal_code": "1011"},
            "postal_code",
            "“1011” is not a valid postal code for Germany (for example 26133 or 53225).",
        ),
        ({"postal_code": ""}, "postal_code", "Enter the postal code."),
        ({"city": ""}, "city", "Enter the city."),
        ({"address_line1": ""}, "address_line1", "Enter the street address."),
        (
            {"country": "US", "city": "Austin", "postal_code": "78701", "tax_id": ""},
            "region",
            "Enter the state.",
        ),
        ({"company_name": ""}, "company_name", "Enter the company name."),
        ({"company_name": "x" * 201}, "company_name", "At most 200 characters."),
    ],
)
def test_each_address_fault_is_one_message_on_its_field(account, changes, field, message):
    assert refused(account, **changes) == {field: [message]}


@pytest.mark.parametrize("postal_code", ["EC1Y 8SY", "SW1A 1AA", "M3 5JZ", "BT1 5GS", "GIR 0AA"])
def test_uk_postcodes_are_accepted_and_written_in_capitals(account, postal_code):
    profile = update(account, **{**LONDON, "postal_code": postal_code.lower(), "tax_id": ""})
    assert profile.postal_code == postal_code


def test_the_region_is_stored_as_the_postal_data_names_it(account):
    profile = update(
        account, country="US", city="Austin", postal_code="78701", region="Texas", tax_id=""
    )
    assert (profile.region, profile.tax_id) == ("TX", "")


# The same rules, the same messages: the page and the API ---------------------------------


def page_errors(response) -> dict[str, list[str]]:
    """Each field's messages as the page shows them beside it."""
    html = response.content.decode()
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'id="error-([a-z_0-9]+)">([^<]*)</p>', html):
        found.setdefault(name, []).append(unescape(text))
    return found


FAULTS = [
    ({"company_name": ""}, {"company_name": ["Enter the company name."]}),
    (
        {"tax_id": "ATU13585627", "postal_code": "1060"},
        {
            "tax_id": [
                "“ATU13585627” is a VAT ID of Austria (it starts with AT), but the billing "
                "country is Germany, whose VAT IDs start with DE."
            ],
            "postal_code": [
                "“1060” is not a valid postal code for Germany (for example 26133 or 53225)."
            ],
        },
    ),
    (
        {"city": "", "tax_id": "XI980780684"},
        {
            "city": ["Enter the city."],
            "tax_id": [
                "“XI980780684” is a VAT ID of Northern Ireland (it starts with XI), but the "
                "billing country is Germany, whose VAT IDs start with DE."
            ],
        },
    ),
]


@pytest.mark.parametrize(("changes", "expected"), FAULTS)
def test_the_page_and_the_api_give_the_same_one_message_per_fault(
    account, web, api, changes, expected
):
    before = BillingProfile.objects.get(account=account).updated_at
    data = {**VALID, **changes}

    page = web.post(PROFILE_PAGE, data)
    assert page.status_code == 200
    assert page_errors(page) == expected

    response = api.put("/api/v1/billing-profile", data)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == expected
    assert BillingProfile.objects.get(account=account).updated_at == before


def test_a_region_the_country_does_not_use_is_kept_as_typed(account):
    profile = update(account, **AUSTRIA, region="Wien", tax_id="")
    assert (profile.region, profile.postal_code) == ("Wien", "1060")


def test_the_back_office_checks_a_profile_by_the_same_rules(account):
    from django.forms.models import model_to_dict

    from billtone.accounts.admin import BillingProfileAdminForm

    profile = BillingProfile.objects.get(account=account)
    data = {**model_to_dict(profile), **VALID, "tax_id": "ATU13585627", "company_name": ""}
    form = BillingProfileAdminForm(data=data, instance=profile)

    assert not form.is_valid()
    assert form.errors["company_name"] == ["This field is required."]  # the model's, alone
    assert form.errors["tax_id"][0].startswith("“ATU13585627” is a VAT ID of Austria")
    valid = BillingProfileAdminForm(
        data={**data, "company_name": "Acme", "tax_id": "de 136 695 976"}, instance=profile
    )
    assert valid.is_valid(), valid.errors
    assert valid.cleaned_data["tax_id"] == "DE136695976"


def test_the_back_office_account_page_shows_the_profile_form(account, admin_client):
    response = admin_client.get(f"/admin/accounts/account/{account.pk}/change/")
    assert response.status_code == 200
    assert 'name="billing_profile-0-tax_id"' in response.content.decode()
