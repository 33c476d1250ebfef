from decimal import Decimal

from django.core.management import call_command

from billtone.accounts.models import Account
from billtone.banktransfers.models import BankTransfer
from billtone.basket.models import BasketLine, Checkout
from billtone.catalog.selectors import operator_profile_get, products_offered, tax_rates
from billtone.core.models import AuditEntry
from billtone.core.money import Money
from billtone.invoicing.models import Invoice, Subscription
from billtone.ledger.models import LedgerAccount, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.payments.models import Payment, SavedCard
from billtone.rating.models import Cdr, RateDeck, TopUp
from billtone.reconciliation.models import SavedCsvMap
from billtone.telephony.models import PhoneNumber, PhoneUser


def demo_state() -> dict[str, object]:
    """What a second run of the demo must leave as it was."""
    models = (
        Account, AuditEntry, BankTransfer, BasketLine, Checkout, EmailDelivery, Invoice,
        LedgerAccount, Payment, PhoneNumber, PhoneUser, SavedCard, Subscription, Transaction,
        Cdr, RateDeck, TopUp,
    )  # fmt: skip
    state: dict[str, object] = {m.__name__: m.objects.count() for m in models}
    state["balances"] = sorted(LedgerAccount.objects.values_list("pk", "balance"))
    state["numbers"] = sorted(PhoneNumber.objects.values_list("pk", "status", "account_id"))
    state["users"] = sorted(PhoneUser.objects.values_list("pk", "status"))
    return state


def test_demo_creates_the_operator_and_two_accounts_once(db, capsys):
    call_command("demo")
    first = demo_state()
    call_command("demo")  # safe to run again
    assert demo_state() == first
    out = capsys.readouterr().out
    box = out.strip().splitlines()[-9:]  # the second run's box
    assert box[0] == box[-1] and set(box[0]) == {"+", "-"}
    assert len({len(line) for line in box}) == 1  # a closed box
    assert "Billtone is running: http://127.0.0.1:8000" in box[1]
    assert [line.split()[-4] for line in box[4:-1]] == [
        "operator",
        "owner@acme.example",
        "owner@globex.example",
        "member@acme.example",
    ]
    assert all("billtone-demo" in line for line in box[4:-1])
    assert sorted(Account.objects.values_list("name", flat=True)) == [
        "Acme Telecom GmbH",
        "Globex Ltd",
    ]
    acme = Account.objects.get(name="Acme Telecom GmbH")
    funds = LedgerAccount.objects.get(account=acme, kind="business_funds")
    paid = Checkout.objects.get(account=acme).gross  # the demo checkout (demo/basket.py)
    topped_up = TopUp.objects.get(account=acme).gross  # auto top-up from funds (demo/rating.py)
    # the demo statement, imported and matched, less the checkout and the top-up
    assert funds.balance == Decimal("500.00") - paid - topped_up
    assert sorted(BankTransfer.objects.filter(account=acme).values_list("status", flat=True)) == [
        "awaiting_funds",
        "received",
    ]
    assert SavedCard.objects.filter(account=acme, is_default=True).count() == 1
    assert list(SavedCsvMap.objects.values_list("name", "bank_account__currency")) == [
        ("Bank CSV export", "EUR")  # offered on the statement upload, saved once
    ]
    # The catalog (demo/catalog.py), recorded once through the catalog's services.
    profile = operator_profile_get()
    assert (profile.country, profile.vat_id) == ("NL", "NL004495445B01")
    assert tax_rates()["NL"] == Decimal("21.00") and tax_rates()["GB"] == Decimal("20.00")
    plans = {o.product.name: o.price for o in products_offered(currency="EUR", kind="plan")}
    assert plans == {
        "Pay As You Go": Money("0", "EUR"),
        "National": Money("12.00", "EUR"),
        "International": Money("20.00", "EUR"),
    }
    numbers = products_offered(currency="GBP", kind="number")
    assert {(o.product.number_country, o.product.number_type) for o in numbers} >= {
        ("NL", "geographic"),
        ("DE", "mobile"),
        ("GB", "toll_free"),
        ("US", "geographic"),
    }
    assert all(o.setup.amount > 0 for o in numbers)
    packs = products_offered(currency="USD", kind="credit_pack")
    assert [o.price.amount for o in packs] == [10, 20, 50, 100]
    (phone,) = products_offered(currency="EUR", kind="store_item")
    assert (phone.product.name, phone.product.stock) == ("Yealink T54W desk phone", 25)
    assert AuditEntry.objects.filter(action="product.update").count() == 0  # the second run
