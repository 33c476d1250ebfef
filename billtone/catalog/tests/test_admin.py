"""The catalog's back office saves through the services: checked, audited."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.core.models import AuditEntry

ADMIN = "/admin/catalog/"


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client


PROFILE_FORM = {
    "legal_name": "Billtone Telecom B.V.",
    "street": "Herengracht 1",
    "city": "Amsterdam",
    "postal_code": "1015 BA",
    "country": "nl",
    "vat_id": "004495445B01",
    "email": "billing@billtone.example",
    "cut_off_day": "19",
    "number_hold_minutes": "30",
    "credit_quick_add": "10,20,50,100",
    "billing_day": "1",
    "bills_from_funds": "on",
    "dunning_days": "1,3,7",
    "cancel_policy": "end_of_period",
    "plan_change_policy": "next_period",
    "auto_top_ups_per_day": "5",
    "auto_top_ups_per_month": "50",
    "auto_top_up_failures": "3",
}


def test_the_operator_profile_is_one_row_opened_from_the_list(staff):
    listed = staff.get(f"{ADMIN}operatorprofile/")
    assert listed.status_code == 302
    assert listed.url == f"{ADMIN}operatorprofile/1/change/"
    page = staff.get(listed.url)
    assert b"Operator profile &amp; billing policy" in page.content
    assert staff.get(f"{ADMIN}operatorprofile/add/").status_code == 403


def test_the_operator_profile_is_saved_through_the_service(staff):
    staff.get(f"{ADMIN}operatorprofile/")
    saved = staff.post(f"{ADMIN}operatorprofile/1/change/", PROFILE_FORM)
    assert saved.status_code == 302
    profile = OperatorProfile.objects.get()
    assert (profile.country, profile.vat_id) == ("NL", "NL004495445B01")
    assert AuditEntry.objects.filter(action="operator_profile.update").count() == 1

    refused = staff.post(
        f"{ADMIN}operatorprofile/1/change/",
        {**PROFILE_FORM, "vat_id": "DE136695976", "cut_off_day": "31"},
    )
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert set(errors) == {"vat_id", "cut_off_day"} and len(errors["cut_off_day"]) == 1

    refused = staff.post(
        f"{ADMIN}operatorprofile/1/change/", {**PROFILE_FORM, "dunning_days": "7,3"}
    )
    assert refused.context["adminform"].form.errors["dunning_days"] == [
        "Write the days in increasing order, each once, e.g. 1,3,7."
    ]
    without_funds = {key: v for key, v in PROFILE_FORM.items() if key != "bills_from_funds"}
    assert staff.post(f"{ADMIN}operatorprofile/1/change/", without_funds).status_code == 302
    assert OperatorProfile.objects.get().bills_from_funds is False
    assert OperatorProfile.objects.get().cut_off_day == 19


def product_form(**fields) -> dict[str, str]:
    form = {
        "code": "nl-geo",
        "name": "Netherlands geographic",
        "kind": "number",
        "included_minutes": "0",
        "number_country": "NL",
        "number_type": "geographic",
        "stock": "",
        "active": "on",
        "position": "1",
        "prices-TOTAL_FORMS": "1",
        "prices-INITIAL_FORMS": "0",
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
        "prices-0-currency": "EUR",
        "prices-0-amount": "2.50",
        "prices-0-setup_amount": "5.00",
    }
    return {**form, **fields}


def test_a_product_and_its_prices_are_added_and_changed_through_the_services(staff):
    added = staff.post(f"{ADMIN}product/add/", product_form())
    assert added.status_code == 302
    product = Product.objects.get()
    assert (product.billing, product.number_country) == ("monthly", "NL")
    price = Price.objects.get()
    assert (price.currency, price.amount, price.setup_amount) == ("EUR", Decimal("2.50"), 5)

    changed = staff.post(
        f"{ADMIN}product/{product.pk}/change/",
        product_form(
            **{
                "name": "NL geographic",
                "prices-INITIAL_FORMS": "1",
                "prices-0-id": str(price.pk),
                "prices-0-product": str(product.pk),
                "prices-0-amount": "3.00",
            }
        ),
    )
    assert changed.status_code == 302
    assert Product.objects.get().name == "NL geographic"
    assert Price.objects.get().amount == Decimal("3.00")
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "product.create",
        "price.create",
        "product.update",
        "price.update",
    ]


def test_a_product_refused_shows_the_services_messages_and_saves_nothing(staff):
    refused = staff.post(
        f"{ADMIN}product/add/",
        product_form(**{"kind": "plan", "included_minutes": "100", "prices-0-amount": "2.505"}),
    )
    assert refused.status_code == 200
    assert set(refused.context["adminform"].form.errors) == {"number_country", "number_type"}
    assert not Product.objects.exists() and not AuditEntry.objects.exists()

    setup_on_a_plan = staff.post(
        f"{ADMIN}product/add/",
        product_form(
            **{"code": "national", "kind": "plan", "number_country": "", "number_type": ""}
        ),
    )
    assert setup_on_a_plan.status_code == 200
    (prices,) = setup_on_a_plan.context["inline_admin_formsets"]
    assert "setup_amount" in prices.formset.forms[0].errors
    assert not Product.objects.exists()


def test_tax_rates_are_set_through_the_service(staff):
    added = staff.post(f"{ADMIN}taxrate/add/", {"country": "de", "rate": "19", "name": "VAT"})
    assert added.status_code == 302
    rate = TaxRate.objects.get()
    assert (rate.country, rate.rate) == ("DE", Decimal("19.00"))
    refused = staff.post(f"{ADMIN}taxrate/add/", {"country": "XX", "rate": "100", "name": "VAT"})
    assert set(refused.context["adminform"].form.errors) == {"country", "rate"}
    assert AuditEntry.objects.filter(action="tax_rate.create").count() == 1


def test_an_untouched_empty_price_row_is_no_price(staff):
    staff.post(f"{ADMIN}product/add/", product_form())
    product, price = Product.objects.get(), Price.objects.get()
    page = staff.get(f"{ADMIN}product/{product.pk}/change/")
    assert b'value="2.50"' in page.content  # as the currency writes it, not 2.5000
    empty_row = {"prices-1-currency": "", "prices-1-amount": "", "prices-1-setup_amount": "0"}
    saved = staff.post(
        f"{ADMIN}product/{product.pk}/change/",
        product_form(
            **{"prices-TOTAL_FORMS": "2", "prices-INITIAL_FORMS": "1"},
            **{"prices-0-id": str(price.pk), "prices-0-product": str(product.pk)},
            **empty_row,
        ),
    )
    assert saved.status_code == 302
    assert list(Price.objects.values_list("currency", flat=True)) == ["EUR"]
