"""The card and top-up forms of the Billing panel. They parse; the services validate (one set
of rules for page and API). The card number and CVC are never put back into a page."""

import re
import uuid

from django import forms

from billtone.core.errors import ValidationFailed
from billtone.core.money import AmountError, Money, amount_parse_typed
from billtone.payments.models import PaymentPurpose

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$|^\s*(\d{2})(\d{2})\s*$")


def expiry_split(text: str) -> tuple[str, str]:
    """'11/29', '11 / 2029', '1129' -> ('11', '29'); anything else -> ('', '') (the service
    then asks for the expiry date)."""
    match = _EXPIRY.match(text or "")
    if not match:
        return "", ""
    month, year = (match[1], match[2]) if match[1] else (match[3], match[4])
    return month, year


class CardForm(forms.Form):
    number = forms.CharField(label="Card number", max_length=30, required=False)
    expiry = forms.CharField(label="Expiry (MM/YY)", max_length=7, required=False)
    cvc = forms.CharField(label="Security code (CVC)", max_length=4, required=False)
    holder_name = forms.CharField(label="Name on card", max_length=100, required=False)
    make_default = forms.BooleanField(label="Make this my default card", required=False)

    def card_fields(self) -> dict:
        """The service's arguments, as typed."""
        month, year = expiry_split(str(self.data.get("expiry", "")))
        return {
            "number": str(self.data.get("number", ""))[:30],
            "exp_month": month,
            "exp_year": year,
            "cvc": str(self.data.get("cvc", ""))[:4],
            "holder_name": str(self.data.get("holder_name", ""))[:100],
            "make_default": self.data.get("make_default") in ("on", "true", "1"),
        }

    def kept_values(self) -> dict:
        """What the form may show again after an error: never the number or the CVC."""
        return {
            "expiry": str(self.data.get("expiry", ""))[:7],
            "holder_name": str(self.data.get("holder_name", ""))[:100],
            "make_default": self.data.get("make_default") in ("on", "true", "1"),
        }


class TopUpForm(forms.Form):
    """Amount, saved card and what to top up. The hidden key makes a double submit the same
    payment."""

    amount = forms.CharField(label="Amount", max_length=30, required=False)
    card_id = forms.CharField(label="Card", required=False)
    purpose = forms.CharField(label="Top up", required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("purpose", PaymentPurpose.BUSINESS_FUNDS)

    def parsed(self, *, currency: str, locale: str) -> tuple[Money, int | None, str]:
        """(amount, card id, purpose); ValidationFailed names what cannot be read. The amount
        is read as typed in the account's locale (money.amount_parse_typed)."""
        errors: dict[str, list[str]] = {}
        amount = None
        try:
            amount = amount_parse_typed(self.data.get("amount", ""), currency, locale=locale)
        except AmountError as error:
            errors["amount"] = [str(error)]
        card_text = str(self.data.get("card_id", "")).strip()
        card_id = int(card_text) if card_text.isascii() and card_text.isdigit() else None
        if card_id is None:
            errors["card_id"] = ["Choose a card."]
        if errors:
            raise ValidationFailed(errors)
        return amount, card_id, str(self.data.get("purpose", "")).strip()

    def submitted_key(self) -> str:
        key = str(self.data.get("idempotency_key", "")).strip()[:64]
        return key or uuid.uuid4().hex

    def values(self) -> dict:
        if not self.is_bound:
            return dict(self.initial)
        return {name: str(self.data.get(name, "")) for name in self.fields}
