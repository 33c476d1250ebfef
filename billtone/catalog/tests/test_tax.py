"""The VAT decision (catalog.tax): pure, no database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billtone.catalog.tax import (
    REVERSE_CHARGE_MENTION,
    TaxRateMissing,
    TaxTreatment,
    tax_amount,
    tax_treatment,
)
from billtone.core.money import Money

RATES = {
    "NL": Decimal("21.00"),
    "DE": Decimal("19.00"),
    "FR": Decimal("20.00"),
    "GR": Decimal("24.00"),
    "AT": Decimal("20.00"),
    "GB": Decimal("20.00"),
}


def treat(customer_country: str, vat_id: str = "", operator: str = "NL") -> TaxTreatment:
    return tax_treatment(
        operator_country=operator,
        customer_country=customer_country,
        customer_vat_id=vat_id,
        rates=RATES,
    )


def test_business_in_another_eu_state_with_a_valid_vat_id_is_reverse_charged():
    treatment = treat("DE", "DE136695976")
    assert treatment == TaxTreatment(Decimal("0.00"), True, REVERSE_CHARGE_MENTION, "DE")
    assert "Article 196, Council Directive 2006/112/EC" in treatment.mention


def test_vat_id_written_with_spaces_or_without_prefix_is_still_valid():
    assert treat("DE", "DE 136 695 976").reverse_charge
    assert treat("DE", "136695976").reverse_charge


def test_customer_in_the_operators_own_country_pays_its_rate_even_with_a_vat_id():
    assert treat("NL", "NL004495445B01") == TaxTreatment(Decimal("21.00"), False, "", "NL")


@pytest.mark.parametrize(
    "vat_id",
    [
        "",
        "DE136695977",  # check digit wrong
        "ATU13585627",  # valid, but Austria's: not the customer's country
        "not a vat id",
    ],
)
def test_without_a_valid_vat_id_of_its_country_the_customer_pays_its_countrys_rate(vat_id):
    assert treat("DE", vat_id) == TaxTreatment(Decimal("19.00"), False, "", "DE")


def test_greek_vat_ids_use_the_prefix_el():
    assert treat("GR", "EL094259216").reverse_charge
    assert treat("GR", "GR094259216").reverse_charge  # read as EL, as the billing profile does
    assert treat("GR", "EL094259217").rate == Decimal("24.00")


def test_united_kingdom_and_northern_ireland_are_outside_the_eu_for_services():
    # Northern Ireland's XI prefix is for goods; telecom services there are the UK's.
    assert treat("GB", "XI980780684") == TaxTreatment(Decimal("20.00"), False, "", "GB")
    assert treat("GB", "GB980780684") == TaxTreatment(Decimal("20.00"), False, "", "GB")


def test_country_outside_the_eu_without_a_rate_is_not_charged_and_says_why():
    treatment = treat("US", "")
    assert treatment.rate == 0 and not treatment.reverse_charge
    assert treatment.country == "US"
    assert treatment.mention == (
        "VAT not charged: the place of supply is United States, outside the EU "
        "(Article 44, Council Directive 2006/112/EC)"
    )


def test_eu_country_without_a_rate_is_refused_not_charged_at_zero():
    with pytest.raises(TaxRateMissing) as raised:
        treat("PT", "")
    assert "Portugal" in raised.value.detail


def test_eu_business_with_a_valid_vat_id_is_reverse_charged_even_without_a_rate():
    assert treat("BE", "BE0403019261").reverse_charge


def test_customer_without_a_country_is_taxed_as_at_the_operator():
    assert treat("", "") == TaxTreatment(Decimal("21.00"), False, "", "NL")


def test_operator_outside_the_eu_still_reverse_charges_eu_businesses():
    assert treat("FR", "FR40303265045", operator="GB").reverse_charge
    assert treat("GB", "GB980780684", operator="GB").rate == Decimal("20.00")


def test_tax_amount_rounds_once_half_up():
    assert tax_amount(Money("10.00", "EUR"), Decimal("21.00")) == Money("2.10", "EUR")
    assert tax_amount(Money("0.50", "EUR"), Decimal("21.00")) == Money("0.11", "EUR")  # 0.105
    assert tax_amount(Money("999", "JPY"), Decimal("10.00")) == Money("100", "JPY")  # 99.9
    assert tax_amount(Money("10.00", "EUR"), Decimal("0.00")) == Money("0.00", "EUR")


@given(
    cents=st.integers(min_value=0, max_value=10**9),
    rate=st.decimals(min_value=0, max_value=Decimal("99.99"), places=2),
)
def test_tax_amount_is_within_half_a_cent_of_the_exact_tax(cents, rate):
    net = Money(Decimal(cents) / 100, "EUR")
    tax = tax_amount(net, rate)
    assert tax.amount == tax.amount.quantize(Decimal("0.01"))
    assert abs(tax.amount - net.amount * rate / 100) <= Decimal("0.005")
