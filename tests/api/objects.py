"""Objects of one account, for the route walker in test_route_scoping.py.

OBJECTS maps a path parameter, as routes name it in the OpenAPI schema (`{token_id}`), to a
factory that makes one object of that kind in the owner's account and returns its id. When you
add a route with a new path parameter, add its factory here: the walker then proves that
another account's token gets a 404 for that object on every route that takes it. Give the
object MARKER in a text field where it has one, so that the walker also notices the object
leaking into another account's lists. Path parameters with an `enum` schema (a kind, not an
object) need no factory: the walker uses their first value.

BODIES maps ("METHOD", "/api/v1/path/{param}") to a request body, for routes where the
minimal body the walker builds from the schema (required fields only) does not pass the
route's validation.
"""

from collections.abc import Callable

from billtone.accounts.models import Membership
from billtone.accounts.services import api_token_create
from billtone.core.services import Actor

MARKER = "Scoping Marker A"
ACTOR = Actor.system("route walker")


def _api_token(owner: Membership) -> int:
    return api_token_create(membership=owner, name=MARKER, actor=ACTOR).token.pk


def _account(owner: Membership) -> int:
    return owner.account_id


def _bank_transfer(owner: Membership) -> int:
    from billtone.banktransfers.services import bank_transfer_create
    from billtone.banktransfers.tests.funding import operator_banks_save

    operator_banks_save()
    return bank_transfer_create(account=owner.account, amount="250", actor=Actor.system(MARKER)).pk


# Test cards the sandbox saves and charges; a card is saved once per account (decision 0016),
# so each new card of an account is the next one not saved there yet.
CARDS = ["4242424242424242", "5555555555554444", "4000056655665556", "5200828282828210"]


def _card(owner: Membership) -> int:
    from billtone.payments.selectors import card_list
    from billtone.payments.services import card_add

    saved = set(card_list(account=owner.account).values_list("last4", flat=True))
    number = next(n for n in CARDS if n[-4:] not in saved)
    return card_add(
        account=owner.account,
        number=number,
        exp_month=12,
        exp_year=2040,
        cvc="123",
        holder_name=MARKER,
        actor=ACTOR,
    ).pk


def _payment(owner: Membership) -> int:
    from billtone.core.money import Money
    from billtone.payments.models import SavedCard
    from billtone.payments.services import card_charge

    return card_charge(
        account=owner.account,
        card=SavedCard.objects.get(pk=_card(owner)),
        amount=Money("20.00", owner.account.billing_profile.currency),
        purpose="business_funds",
        on_session=True,
        idempotency_key=f"walker-{owner.account_id}",
        actor=ACTOR,
        description=MARKER,
    ).pk


def _invoice(owner: Membership) -> int:
    """An invoice of the account with its PDF made (tasks do not run inside a test's
    transaction), a line carrying MARKER."""
    from billtone.invoicing.services import invoice_pdf_render
    from billtone.invoicing.tests.conftest import issue, line, operator_profile_set

    operator_profile_set()
    currency = owner.account.billing_profile.currency
    invoice = issue(owner.account, lines=[line(description=MARKER, currency=currency)])
    return invoice_pdf_render(invoice_id=invoice.pk).pk


OBJECTS: dict[str, Callable[[Membership], int | str]] = {
    "token_id": _api_token,
    "account_id": _account,
    "transfer_id": _bank_transfer,
    "card_id": _card,
    "payment_id": _payment,
    "invoice_id": _invoice,
}

BODIES: dict[tuple[str, str], dict] = {
    ("PUT", "/api/v1/billing-profile"): {
        "company_name": "Walker B Ltd",
        "billing_email": "billing@walker-b.example",
        "currency": "GBP",
        "timezone": "Europe/London",
    },
}
