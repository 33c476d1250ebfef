"""The back office saves an account's billing profile as the customer's page does: through
billing_profile_update (audited, the old billing email told, the currency fixed once money
is recorded in it)."""

import pytest
from lxml import html

from billtone.accounts import money_checks
from billtone.accounts.models import BillingProfile
from billtone.core.models import AuditEntry
from billtone.notifications.models import EmailDelivery


def change_form(client, account) -> tuple[str, dict[str, str]]:
    """The account's change page and its form's values, as a browser would post them."""
    url = f"/admin/accounts/account/{account.pk}/change/"
    form = html.fromstring(client.get(url).content).get_element_by_id("account_form")
    return url, dict(form.form_values())


def test_staff_change_a_profile_through_the_service(account, admin_client):
    before = BillingProfile.objects.get(account=account).billing_email
    url, data = change_form(admin_client, account)
    data["billing_profile-0-billing_email"] = "accounts@new.example"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert BillingProfile.objects.get(account=account).billing_email == "accounts@new.example"
    entry = AuditEntry.objects.get(action="billing_profile.update", account_id=account.pk)
    assert entry.actor_label == "admin"
    assert entry.changes["billing_email"] == [before, "accounts@new.example"]
    told = EmailDelivery.objects.get(key=f"billing-email-changed:{entry.pk}")
    assert told.to_email == before


@pytest.fixture
def holds_money(monkeypatch):
    monkeypatch.setattr(money_checks, "_checks", [lambda *, account, currency: True])


def test_staff_cannot_change_the_currency_once_money_is_recorded(
    account, admin_client, holds_money
):
    url, data = change_form(admin_client, account)
    data["billing_profile-0-currency"] = "USD"

    page = admin_client.post(url, data).content.decode()

    assert "The currency cannot change: this account already has money recorded in EUR." in page
    assert BillingProfile.objects.get(account=account).currency == "EUR"
    assert not AuditEntry.objects.filter(action="billing_profile.update").exists()
