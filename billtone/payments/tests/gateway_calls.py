"""The gateway calls the gateway tests make, with test cards' usual details."""

from decimal import Decimal

from billtone.core import clock

VISA = "4242424242424242"
CVC = "737"
AMEX_CVC = "1234"
AMOUNT = Decimal("25.50")


def save(gateway, number=VISA, **changes):
    fields = {
        "number": number,
        "exp_month": 11,
        "exp_year": clock.now().year + 3,
        "cvc": AMEX_CVC if number.startswith(("34", "37")) else CVC,
        "holder_name": "Ada Lovelace",
        "customer_ref": "account-1",
    }
    fields.update(changes)
    return gateway.card_save(**fields)


def charge(gateway, token, *, on_session=False, key="payment-1", amount=AMOUNT, currency="EUR"):
    return gateway.card_charge(
        token=token,
        amount=amount,
        currency=currency,
        on_session=on_session,
        idempotency_key=key,
        description="Call credit top-up",
        metadata={"billtone_payment": "17"},
    )


def refund(gateway, reference, *, key, amount=Decimal("10.00"), currency="EUR"):
    return gateway.charge_refund(
        reference=reference, amount=amount, currency=currency, idempotency_key=key
    )
