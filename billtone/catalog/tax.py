"""Which VAT an invoice carries: a pure decision, no database (decision 0017).

Telecom services to a business are taxed where the customer is (Council Directive
2006/112/EC, Article 44). A business in another EU member state with a VAT ID valid for its
country accounts for the VAT itself (reverse charge, Article 196): 0 % and the legal mention.
Everyone else pays the rate the operator set for the customer's country. A country outside
the EU without a rate is outside the scope of EU VAT: 0 % and a mention saying so. An EU
country without a rate is the operator's set-up missing, never a silent 0 %: TaxRateMissing.

VAT IDs are checked by format and check digits with python-stdnum, as the billing profile
checks them (accounts.validation.clean_tax_id: EL for Greece; XI only for Northern Ireland).
No VIES call: the billing profile is where an ID is vouched for.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from billtone.accounts.validation import EU_COUNTRIES, clean_tax_id, countries
from billtone.core.errors import ApplicationError
from billtone.core.money import Money

REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)"
)
OUTSIDE_EU_MENTION = (
    "VAT not charged: the place of supply is {country}, outside the EU "
    "(Article 44, Council Directive 2006/112/EC)"
)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxTreatment:
    rate: Decimal  # percent: 21.00
    reverse_charge: bool
    mention: str  # printed on the invoice; "" when VAT is simply charged
    country: str  # whose VAT applies (the customer's, or the operator's when unknown)


class TaxRateMissing(ApplicationError):
    """VAT is due in an EU country the operator has set no rate for."""

    def __init__(self, country: str):
        super().__init__(
            detail=(
                f"VAT for {country_name(country)} is not set up yet, so this cannot be "
                "charged. Please contact the operator."
            ),
            slug="tax-rate-missing",
            title="Tax rate not set up",
            status=409,
        )


def country_name(code: str) -> str:
    return countries().get(code, code)


def vat_id_valid_for(vat_id: str, *, country: str) -> bool:
    """Whether `vat_id` is a well-formed EU VAT ID of `country` (EL for Greece)."""
    if country not in EU_COUNTRIES or not (vat_id or "").strip():
        return False
    try:
        clean_tax_id(vat_id, country=country)
    except ValidationError:
        return False
    return True


def tax_treatment(
    *,
    operator_country: str,
    customer_country: str,
    customer_vat_id: str,
    rates: Mapping[str, Decimal],
) -> TaxTreatment:
    """The VAT on a sale to this customer. A customer without a country is taxed as at the
    operator's (the supplier's place, Article 45)."""
    operator_country = (operator_country or "").upper()
    country = (customer_country or "").upper() or operator_country
    if (
        country in EU_COUNTRIES
        and country != operator_country
        and vat_id_valid_for(customer_vat_id, country=country)
    ):
        return TaxTreatment(Decimal("0.00"), True, REVERSE_CHARGE_MENTION, country)
    rate = rates.get(country)
    if rate is not None:
        return TaxTreatment(Decimal(rate), False, "", country)
    if country in EU_COUNTRIES or not country:
        raise TaxRateMissing(country or "the operator's country")
    mention = OUTSIDE_EU_MENTION.format(country=country_name(country))
    return TaxTreatment(Decimal("0.00"), False, mention, country)


def tax_amount(net: Money, rate: Decimal) -> Money:
    """The VAT on `net` at `rate` percent, rounded once to the currency's minor unit."""
    return (net * (Decimal(rate) / HUNDRED)).rounded()
