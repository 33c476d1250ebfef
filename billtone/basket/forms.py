"""Parsing what the basket's pages send. The services validate (one set of rules for pages and
API); these only read the fields and carry the quote the customer was shown."""

import uuid

from django.core import signing

from billtone.payments.forms import expiry_split

_QUOTE_SALT = "billtone.basket.quote"


def quote_sign(quote_json: dict) -> str:
    """The quote a page showed, signed, for its form to send back with "Pay": checkout then
    names what changed since (a forged one changes nothing: checkout compares it with the
    quote it makes itself)."""
    return signing.dumps(quote_json, salt=_QUOTE_SALT, compress=True)


def quote_unsign(text: str) -> dict | None:
    try:
        value = signing.loads(text or "", salt=_QUOTE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


def new_key() -> str:
    return uuid.uuid4().hex


def submitted_key(data) -> str:
    return str(data.get("idempotency_key", "")).strip()[:64] or new_key()


def int_or_none(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def user_fields(data) -> dict:
    return {
        "name": str(data.get("name", ""))[:200],
        "email": str(data.get("email", ""))[:254],
        "extension": str(data.get("extension", ""))[:10],
        "plan_id": int_or_none(data.get("plan_id")),
    }


def new_card_fields(data) -> dict:
    """payments' card_add arguments, as typed (never shown again after an error)."""
    month, year = expiry_split(str(data.get("expiry", "")))
    return {
        "number": str(data.get("number", ""))[:30],
        "exp_month": month,
        "exp_year": year,
        "cvc": str(data.get("cvc", ""))[:4],
        "holder_name": str(data.get("holder_name", ""))[:100],
    }
