"""The catalog in the back office as operator staff meet it: the operator's profile and
billing policy (a wrong VAT ID is refused beside its field and nothing is saved), a plan with
its prices in two currencies added inline, a VAT rate for Germany, and the product list."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAVE = {"name": "Save", "exact": True}


def test_staff_set_the_operator_profile_a_plan_with_prices_and_a_tax_rate(page, shot, staff):
    # The operator profile: one row, opened from the list.
    page.get_by_role("link", name="Operator profile & billing policy").click()
    expect(page.locator("h1")).to_contain_text("Operator profile")
    page.fill("#id_legal_name", "Billtone Telecom B.V.")
    page.fill("#id_street", "Herengracht 1")
    page.fill("#id_city", "Amsterdam")
    page.fill("#id_postal_code", "1015 BA")
    page.fill("#id_country", "NL")
    page.fill("#id_vat_id", "DE136695976")  # a German VAT ID for a Dutch operator
    page.fill("#id_email", "billing@billtone.example")
    page.fill("#id_cut_off_day", "20")
    page.fill("#id_number_hold_minutes", "45")
    page.fill("#id_credit_quick_add", "15, 30, 60")
    shot("operator-profile-filled")
    page.get_by_role("button", **SAVE).click()
    expect(page.locator(".field-vat_id .errorlist")).to_be_visible()
    shot("operator-profile-vat-id-refused")
    profile = OperatorProfile.objects.get()
    assert (profile.cut_off_day, profile.vat_id) == (19, "")  # nothing saved

    page.fill("#id_vat_id", "NL004495445B01")
    page.get_by_role("button", **SAVE).click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    profile.refresh_from_db()
    assert (profile.country, profile.vat_id) == ("NL", "NL004495445B01")
    assert (profile.cut_off_day, profile.number_hold_minutes) == (20, 45)
    assert profile.credit_quick_add == "15,30,60"
    shot("operator-profile-saved")

    # A plan with its EUR and USD prices inline.
    page.goto("/admin/catalog/product/add/")
    page.fill("#id_code", "national")
    page.fill("#id_name", "National")
    page.select_option("#id_kind", "plan")
    page.fill("#id_included_minutes", "1000")
    page.select_option("#id_prices-0-currency", "EUR")
    page.fill("#id_prices-0-amount", "12.00")
    page.get_by_text("Add another Price").click()
    page.select_option("#id_prices-1-currency", "USD")
    page.fill("#id_prices-1-amount", "13.00")
    shot("product-plan-with-prices")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    plan = Product.objects.get(code="national")
    assert (plan.kind, plan.billing, plan.included_minutes) == ("plan", "monthly", 1000)
    prices = {p.currency: p.amount for p in Price.objects.filter(product=plan)}
    assert prices == {"EUR": Decimal("12.00"), "USD": Decimal("13.00")}
    expect(page.locator("#id_prices-0-amount")).to_have_value("12.00")
    shot("product-plan-saved")
    page.get_by_role("button", **SAVE).click()  # the empty extra price row left untouched
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # A VAT rate for Germany.
    page.goto("/admin/catalog/taxrate/add/")
    page.fill("#id_country", "DE")
    page.fill("#id_rate", "19")
    page.get_by_role("button", **SAVE).click()
    expect(page.locator("#result_list")).to_contain_text("19.00 %")
    assert TaxRate.objects.get(country="DE").rate == Decimal("19.00")
    shot("tax-rates")

    # The product list shows the plan with its prices.
    page.goto("/admin/catalog/product/")
    row = page.locator("#result_list tr", has_text="National")
    expect(row).to_contain_text("€12.00/month, $13.00/month")
    shot("product-list")
    page.set_viewport_size(PHONE)
    page.goto(f"/admin/catalog/product/{plan.pk}/change/")
    shot("product-phone")
