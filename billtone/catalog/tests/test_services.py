"""The catalog's writes: validated field by field, audited, nothing written when refused."""

from dataclasses import replace
from decimal import Decimal

import pytest

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.catalog.selectors import credit_quick_add, operator_profile_get
from billtone.catalog.services import (
    OperatorProfileInput,
    ProductInput,
    operator_profile_update,
    price_remove,
    price_set,
    product_save,
    tax_rate_set,
)
from billtone.core.errors import ValidationFailed
from billtone.core.models import AuditEntry
from billtone.core.money import Money
from billtone.core.services import Actor

STAFF = Actor(label="staff")

PROFILE = OperatorProfileInput(
    legal_name="Billtone Telecom B.V.",
    country="nl",
    street="Herengracht 1",
    city="Amsterdam",
    postal_code="1015 BA",
    vat_id="NL 004495445B01",
    email="billing@billtone.example",
    cut_off_day=19,
    number_hold_minutes=30,
    credit_quick_add="10, 20,50,100",
)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as raised:
        call()
    return raised.value.errors


def test_operator_profile_update_cleans_saves_and_audits(db):
    profile = operator_profile_update(data=PROFILE, actor=STAFF)
    profile.refresh_from_db()
    assert (profile.country, profile.vat_id) == ("NL", "NL004495445B01")
    assert profile.credit_quick_add == "10,20,50,100"
    entry = AuditEntry.objects.get(action="operator_profile.update")
    assert entry.changes["country"] == ["", "NL"] and entry.actor_label == "staff"
    operator_profile_update(data=PROFILE, actor=STAFF)  # nothing changed: nothing recorded
    assert AuditEntry.objects.filter(action="operator_profile.update").count() == 1


def test_monthly_billing_policy_saved_as_cleaned(db):
    data = replace(
        PROFILE,
        billing_day=5,
        bills_from_funds=False,
        dunning_days=" 2, 4 ,10",
        cancel_policy="immediate_credit",
        plan_change_policy="immediate",
    )
    profile = operator_profile_update(data=data, actor=STAFF)
    profile.refresh_from_db()
    assert (profile.billing_day, profile.bills_from_funds) == (5, False)
    assert (profile.dunning_days, profile.dunning_schedule) == ("2,4,10", [2, 4, 10])
    assert (profile.cancel_policy, profile.plan_change_policy) == ("immediate_credit", "immediate")


def test_monthly_billing_policy_defaults(db):
    profile = operator_profile_get()
    assert (profile.billing_day, profile.bills_from_funds, profile.dunning_schedule) == (
        1,
        True,
        [1, 3, 7],
    )
    assert profile.cancel_policy == "end_of_period"
    assert profile.plan_change_policy == "next_period"


def test_greek_operator_vat_id_is_stored_with_el(db):
    data = replace(PROFILE, country="GR", vat_id="094259216", postal_code="")
    assert operator_profile_update(data=data, actor=STAFF).vat_id == "EL094259216"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"legal_name": " "}, "legal_name"),
        ({"country": "XX"}, "country"),
        ({"vat_id": "DE136695976"}, "vat_id"),  # Germany's, operator in NL
        ({"vat_id": "NL004495446B01"}, "vat_id"),
        ({"email": "billing at example"}, "email"),
        ({"cut_off_day": 0}, "cut_off_day"),
        ({"cut_off_day": 29}, "cut_off_day"),
        ({"number_hold_minutes": 0}, "number_hold_minutes"),
        ({"number_hold_minutes": 1441}, "number_hold_minutes"),
        ({"credit_quick_add": "10,,20"}, "credit_quick_add"),
        ({"credit_quick_add": "10,-5"}, "credit_quick_add"),
        ({"credit_quick_add": "10.50"}, "credit_quick_add"),  # JPY has no cents
        ({"credit_quick_add": "1e3"}, "credit_quick_add"),
        ({"billing_day": 0}, "billing_day"),
        ({"billing_day": 29}, "billing_day"),
        ({"bills_from_funds": "maybe"}, "bills_from_funds"),
        ({"dunning_days": ""}, "dunning_days"),
        ({"dunning_days": "1,1,7"}, "dunning_days"),
        ({"dunning_days": "7,3"}, "dunning_days"),
        ({"dunning_days": "1,x"}, "dunning_days"),
        ({"dunning_days": "1,61"}, "dunning_days"),
        ({"dunning_days": ",".join(str(d) for d in range(1, 12))}, "dunning_days"),
        ({"cancel_policy": "never"}, "cancel_policy"),
        ({"plan_change_policy": "yesterday"}, "plan_change_policy"),
    ],
)
def test_operator_profile_refused_field_by_field_and_nothing_written(db, settings, change, field):
    settings.BILLTONE_CURRENCIES = ["EUR", "JPY"]
    errors = errors_of(
        lambda: operator_profile_update(data=replace(PROFILE, **change), actor=STAFF)
    )
    assert list(errors) == [field] and len(errors[field]) == 1
    assert operator_profile_get().country == "" and not AuditEntry.objects.exists()


def test_cut_off_and_hold_minutes_accept_the_range_ends(db):
    data = replace(PROFILE, cut_off_day=28, number_hold_minutes=1440, credit_quick_add="5")
    profile = operator_profile_update(data=data, actor=STAFF)
    assert (profile.cut_off_day, profile.number_hold_minutes) == (28, 1440)
    assert credit_quick_add(currency="GBP") == [Money("5", "GBP")]
    assert OperatorProfile.objects.count() == 1


def plan(**change) -> Product:
    data = ProductInput(code="national", name="National", kind="plan", included_minutes=1000)
    return product_save(data=replace(data, **change), actor=STAFF)


def test_product_save_derives_billing_from_the_kind(db):
    assert plan().billing == "monthly"
    number = product_save(
        data=ProductInput(
            code="nl-geo", name="NL", kind="number", number_country="nl", number_type="geographic"
        ),
        actor=STAFF,
    )
    assert (number.billing, number.number_country) == ("monthly", "NL")
    pack = product_save(data=ProductInput(code="c10", name="10", kind="credit_pack"), actor=STAFF)
    assert pack.billing == "one_off"
    assert AuditEntry.objects.filter(action="product.create").count() == 3


def test_product_save_changes_a_product_but_never_its_kind(db):
    product = plan()
    changed = product_save(
        data=ProductInput("national", "National+", "plan"), product=product, actor=STAFF
    )
    assert (changed.pk, changed.name, changed.included_minutes) == (product.pk, "National+", 0)
    errors = errors_of(
        lambda: product_save(
            data=ProductInput("national", "N", "credit_pack"), product=product, actor=STAFF
        )
    )
    assert list(errors) == ["kind"]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (ProductInput("Not A Slug", "", "plan"), ["code", "name"]),
        (ProductInput("x", "X", "gadget"), ["kind"]),
        (ProductInput("x", "X", "number"), ["number_country", "number_type"]),
        (
            ProductInput("x", "X", "credit_pack", included_minutes=5, stock=3),
            ["included_minutes", "stock"],
        ),
        (ProductInput("x", "X", "plan", number_country="NL"), ["number_country"]),
    ],
)
def test_product_refused_field_by_field(db, data, fields):
    assert sorted(errors_of(lambda: product_save(data=data, actor=STAFF))) == fields
    assert not Product.objects.exists()


def test_product_codes_are_unique(db):
    plan()
    assert list(errors_of(lambda: plan(name="Other"))) == ["code"]


def test_price_set_makes_then_changes_one_price_per_currency(db):
    product = plan()
    price_set(product=product, currency="EUR", amount=Money("12.00", "EUR"), actor=STAFF)
    price = price_set(product=product, currency="EUR", amount=Money("13.00", "EUR"), actor=STAFF)
    assert Price.objects.get().amount == Decimal("13.00") == price.amount
    assert [
        e.action for e in AuditEntry.objects.filter(object_type="catalog.Price").order_by("id")
    ] == [
        "price.create",
        "price.update",
    ]
    price_remove(product=product, currency="EUR", actor=STAFF)
    assert not Price.objects.exists()


@pytest.mark.parametrize(
    ("currency", "amount", "setup", "fields"),
    [
        ("CHF", Money("1", "CHF"), None, ["currency"]),
        ("EUR", Money("-1", "EUR"), None, ["amount"]),
        ("EUR", Money("1.005", "EUR"), None, ["amount"]),
        ("EUR", Money("1", "USD"), None, ["amount"]),
        ("EUR", Money("1", "EUR"), Money("5", "EUR"), ["setup_amount"]),  # plans have none
    ],
)
def test_price_refused_field_by_field(db, currency, amount, setup, fields):
    product = plan()
    call = lambda: price_set(  # noqa: E731
        product=product, currency=currency, amount=amount, setup=setup, actor=STAFF
    )
    assert sorted(errors_of(call)) == fields
    assert not Price.objects.exists()


def test_tax_rate_set_makes_then_changes_a_countrys_rate(db):
    tax_rate_set(country="nl", rate=Decimal("21"), actor=STAFF)
    rate = tax_rate_set(country="NL", rate=Decimal("21.50"), actor=STAFF)
    assert (rate.country, rate.rate, rate.name) == ("NL", Decimal("21.50"), "VAT")
    assert TaxRate.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="tax_rate.").count() == 2


@pytest.mark.parametrize(
    ("country", "rate", "field"),
    [
        ("XX", Decimal("20"), "country"),
        ("NL", Decimal("100"), "rate"),
        ("NL", Decimal("-1"), "rate"),
        ("NL", Decimal("20.125"), "rate"),
    ],
)
def test_tax_rate_refused(db, country, rate, field):
    assert list(errors_of(lambda: tax_rate_set(country=country, rate=rate, actor=STAFF))) == [field]
    assert not TaxRate.objects.exists()
