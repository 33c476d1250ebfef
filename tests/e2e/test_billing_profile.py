"""The Billing panel's billing profile, and who may reach the panel, in a real browser."""

import pytest
from playwright.sync_api import expect

from billtone.accounts.models import BillingProfile
from billtone.accounts.services import PROFILE_FIELDS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PROFILE = {
    "company_name": "Alpenklang Telefonie GmbH",
    "address_line1": "Mariahilfer Straße 123",
    "address_line2": "3. Stock, Top 12",
    "city": "Wien",
    "postal_code": "1060",
    "region": "Wien",
    "country": "AT",
    "currency": "USD",
    "timezone": "Europe/Vienna",
    "billing_email": "rechnung@alpenklang.example",
    "tax_id": "ATU13585627",
}
SELECTS = {"country", "currency"}


def owner_email(account) -> str:
    return account.memberships.get(role="owner").user.email


def saved_profile(account) -> dict[str, str]:
    profile = BillingProfile.objects.get(account=account)
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def test_owner_edits_every_field_of_the_billing_profile(page, login, shot, account):
    assert login(page, owner_email(account)).status == 302
    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Billing panel")).to_be_visible()
    shot("overview")

    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Billing profile"
    ).click()
    expect(page).to_have_url("/billing/profile/")
    expect(page.get_by_role("heading", name="Billing profile")).to_be_visible()
    shot("profile")

    for name, value in NEW_PROFILE.items():
        if name in SELECTS:
            page.select_option(f"#id_{name}", value)
        else:
            # The VAT ID is typed the way people write it; the service stores it compact.
            page.fill(f"#id_{name}", "ATU 135 856 27" if name == "tax_id" else value)
    shot("profile-filled")
    page.click("#save-profile")

    expect(page.get_by_role("status")).to_have_text("Billing profile saved.")
    for name, value in NEW_PROFILE.items():
        expect(page.locator(f"#id_{name}")).to_have_value(value)
    shot("profile-saved")
    assert saved_profile(account) == NEW_PROFILE

    page.goto("/")
    page.reload()
    card = page.locator("#billing-profile-card")
    for value in NEW_PROFILE.values():
        expect(card).to_contain_text(value)
    expect(card).to_contain_text("1060 Wien, Wien")
    shot("overview-after-save")

    page.get_by_role("link", name="Edit billing profile").click()
    expect(page.locator("#id_company_name")).to_have_value(NEW_PROFILE["company_name"])
    page.fill("#id_billing_email", "not-an-email")
    page.fill("#id_timezone", "Mars/Olympus_Mons")
    page.select_option("#id_country", "")
    page.click("#save-profile")

    expect(page.get_by_text("Please correct the fields marked below.")).to_be_visible()
    errors = {
        "billing_email": "Enter a valid email address",
        "timezone": "“Mars/Olympus_Mons” is not a known time zone",
        "country": "Choose the country of the billing address.",
    }
    for name, message in errors.items():
        # Beside its field: inside the field's own wrapper.
        expect(page.locator(f"#field-{name} #error-{name}")).to_contain_text(message)
        expect(page.locator(f"#field-{name}")).to_have_class("field has-error")
    # What was typed stays in the form, to be corrected.
    expect(page.locator("#id_billing_email")).to_have_value("not-an-email")
    expect(page.locator("#id_timezone")).to_have_value("Mars/Olympus_Mons")
    shot("profile-errors")
    assert saved_profile(account) == NEW_PROFILE

    page.goto("/")
    expect(page.locator("#billing-profile-card")).to_contain_text(NEW_PROFILE["billing_email"])
    shot("overview-unchanged")


def test_member_without_billing_rights_sees_not_allowed(page, login, shot, member):
    assert login(page, member.user.email).status == 302
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("is for the account's owners and billing admins only")).to_be_visible()
    owner = member.account.memberships.get(role="owner").user.email
    expect(page.locator("#billing-admins")).to_contain_text(f"{owner} (owner)")
    expect(page.get_by_role("navigation", name="Billing")).to_have_count(0)
    shot("overview-forbidden")

    response = page.goto("/billing/profile/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot("profile-forbidden")


def test_repeated_failed_logins_lock_the_login(page, login, shot, account, settings):
    email = owner_email(account)
    for attempt in range(1, settings.AXES_FAILURE_LIMIT):
        assert login(page, email, "wrong password").status == 200
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct")
        shot(f"failed-login-{attempt}")

    assert login(page, email, "wrong password again").status == 429
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    shot("locked-out")

    # Locked means locked: the right password does not get in either.
    assert login(page, email, "correct horse battery").status == 429
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")
    shot("still-logged-out")


def test_profile_checks_agree_and_each_fault_has_one_message(page, login, shot, account):
    """An Austrian VAT ID with the country Germany, an Austrian postcode, no city and no
    company name: one message beside each field, nothing saved."""
    before = saved_profile(account)
    assert login(page, owner_email(account)).status == 302
    page.goto("/billing/profile/")
    page.fill("#id_company_name", "")
    page.fill("#id_tax_id", "ATU13585627")
    page.fill("#id_address_line1", "Friedrichstraße 68")
    page.fill("#id_postal_code", "1060")
    page.fill("#id_city", "")
    page.select_option("#id_country", "DE")
    page.click("#save-profile")

    expect(page.get_by_text("Please correct the fields marked below.")).to_be_visible()
    errors = {
        "company_name": "Enter the company name.",
        "tax_id": "“ATU13585627” is a VAT ID of Austria (it starts with AT), but the billing "
        "country is Germany, whose VAT IDs start with DE.",
        "postal_code": "“1060” is not a valid postal code for Germany (for example 26133 or "
        "53225).",
        "city": "Enter the city.",
    }
    for name, message in errors.items():
        expect(page.locator(f"#field-{name} .field-error")).to_have_count(1)
        expect(page.locator(f"#field-{name} #error-{name}")).to_have_text(message)
    expect(page.locator(".field-error")).to_have_count(len(errors))
    shot("profile-vat-and-postcode-errors")

    # Northern Ireland: XI with a BT postcode in the United Kingdom is accepted.
    page.fill("#id_company_name", "Acme Telecom NI Ltd")
    page.fill("#id_tax_id", "XI 980 7806 84")
    page.fill("#id_address_line1", "1 High Street")
    page.fill("#id_postal_code", "bt1 5gs")
    page.fill("#id_city", "Belfast")
    page.select_option("#id_country", "GB")
    page.click("#save-profile")
    expect(page.get_by_role("status")).to_have_text("Billing profile saved.")
    expect(page.locator("#id_tax_id")).to_have_value("XI980780684")
    expect(page.locator("#id_postal_code")).to_have_value("BT1 5GS")
    shot("profile-northern-ireland-saved")
    assert saved_profile(account) != before
