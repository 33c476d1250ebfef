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


def _walker_pack(owner: Membership):
    """A call-credit pack sold in the account's currency, VAT set for the account's country."""
    from decimal import Decimal

    from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
    from billtone.catalog.selectors import operator_profile_get

    profile = owner.account.billing_profile
    operator_profile_get()
    OperatorProfile.objects.filter(country="").update(country="NL")
    TaxRate.objects.get_or_create(country=profile.country or "NL", defaults={"rate": 21})
    pack, _ = Product.objects.get_or_create(
        code="walker-pack", defaults={"name": MARKER, "kind": "credit_pack", "billing": "one_off"}
    )
    Price.objects.get_or_create(
        product=pack, currency=profile.currency, defaults={"amount": Decimal("10.00")}
    )
    return pack


def _basket_line(owner: Membership) -> int:
    from billtone.basket.services import basket_item_add

    pack = _walker_pack(owner)
    return basket_item_add(account=owner.account, product_id=pack.pk, actor=ACTOR).pk


def _basket_product(owner: Membership) -> int:
    _basket_line(owner)
    return _walker_pack(owner).pk


def _checkout(owner: Membership) -> int:
    from billtone.basket.services import checkout_with_funds
    from billtone.core.money import Money
    from billtone.ledger.services import (
        customer_ledger_accounts,
        funds_transfer,
        operator_ledger_account,
    )

    _basket_line(owner)
    currency = owner.account.billing_profile.currency
    funds_transfer(
        source=operator_ledger_account(kind="bank_clearing", currency=currency),
        destination=customer_ledger_accounts(account=owner.account).business_funds,
        amount=Money("100.00", currency),
        kind="bank_transfer",
        memo=MARKER,
        idempotency_key=f"walker-funds-{owner.account_id}",
        actor=ACTOR,
    )
    return checkout_with_funds(
        account=owner.account, idempotency_key=f"walker-{owner.account_id}", actor=ACTOR
    ).pk


def _walker_product(code: str, kind: str, owner: Membership, **fields):
    """A monthly product of `kind` priced 0 in the account's currency."""
    from decimal import Decimal

    from billtone.catalog.models import Price, Product

    product, _ = Product.objects.get_or_create(
        code=code, defaults={"name": MARKER, "kind": kind, "billing": "monthly", **fields}
    )
    Price.objects.get_or_create(
        product=product,
        currency=owner.account.billing_profile.currency,
        defaults={"amount": Decimal("0")},
    )
    return product


def _phone_user(owner: Membership) -> int:
    """An active Pay As You Go user (free plans are active at once)."""
    from billtone.telephony.models import PhoneUser
    from billtone.telephony.services import phone_user_create

    plan = _walker_product("walker-payg", "plan", owner)
    taken = PhoneUser.objects.filter(account=owner.account).count()
    return phone_user_create(
        account=owner.account,
        name=MARKER,
        email="walker@example.com",
        extension=str(800 + taken),
        plan=plan,
        actor=ACTOR,
    ).pk


def _phone_number(owner: Membership) -> int:
    """A number of the operator's inventory assigned to the account."""
    from billtone.core import clock
    from billtone.telephony.models import PhoneNumber
    from billtone.telephony.services import numbers_import

    _walker_product("walker-nl-geo", "number", owner, number_country="NL", number_type="geographic")
    e164 = f"+3120{5000000 + owner.account_id % 1000000:07d}"
    numbers_import(text=e164, country="NL", number_type="geographic", actor=ACTOR)
    number = PhoneNumber.objects.get(e164=e164)
    PhoneNumber.objects.filter(pk=number.pk).update(
        status="assigned", account=owner.account, assigned_at=clock.now()
    )
    return number.pk


def _credit_note(owner: Membership) -> int:
    """A credit note (in full, to business funds) of an invoice of the account."""
    from billtone.invoicing.services import credit_note_issue, credit_note_pdf_render

    note = credit_note_issue(
        invoice_id=_invoice(owner),
        lines="full",
        reason=MARKER,
        refund_to="business_funds",
        actor=ACTOR,
        idempotency_key=f"walker-credit-{owner.account_id}",
    )
    return credit_note_pdf_render(credit_note_id=note.pk).pk


def _top_up(owner: Membership) -> int:
    """An auto top-up, made by the service after calls spent the call credit (as the CDR
    ingestion debits it)."""
    from billtone.core.money import Money
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.services import (
        customer_ledger_accounts,
        funds_transfer,
        operator_ledger_account,
    )
    from billtone.rating.models import TopUp
    from billtone.rating.services import (
        AutoTopUpInput,
        auto_top_up_check,
        auto_top_up_settings_save,
    )

    account = owner.account
    currency = account.billing_profile.currency
    call_credit = customer_ledger_accounts(account=account).call_credit
    if call_credit.balance > 0:
        funds_transfer(
            source=call_credit,
            destination=operator_ledger_account(kind=LedgerKind.REVENUE_CALLS, currency=currency),
            amount=Money(call_credit.balance, currency),
            kind="calls",
            memo="Calls",
            idempotency_key=f"walker-calls:{account.pk}",
            actor=ACTOR,
        )
    auto_top_up_settings_save(
        account=account,
        data=AutoTopUpInput(
            enabled=True, value=Money("10", currency), threshold=Money("5", currency)
        ),
        actor=ACTOR,
    )
    auto_top_up_check(account_id=account.pk)  # if turning it on did not check already
    return TopUp.objects.filter(account=account).latest("created_at").pk


OBJECTS: dict[str, Callable[[Membership], int | str]] = {
    "token_id": _api_token,
    "account_id": _account,
    "transfer_id": _bank_transfer,
    "card_id": _card,
    "payment_id": _payment,
    "invoice_id": _invoice,
    "line_id": _basket_line,
    "product_id": _basket_product,
    "checkout_id": _checkout,
    "user_id": _phone_user,
    "number_id": _phone_number,
    "credit_note_id": _credit_note,
    "top_up_id": _top_up,
}

BODIES: dict[tuple[str, str], dict] = {
    ("PUT", "/api/v1/billing-profile"): {
        "company_name": "Walker B Ltd",
        "billing_email": "billing@walker-b.example",
        "currency": "GBP",
        "timezone": "Europe/London",
    },
}
