"""The demo customer's shopping (demo/basket.py): a paid checkout with its invoice and PDF,
and a basket in progress for the badge; made through the basket's services, once."""

from decimal import Decimal

from billtone.accounts.models import Account
from billtone.basket.models import Checkout
from billtone.basket.selectors import basket_badge, basket_quote_get
from billtone.demo.services import demo_create
from billtone.invoicing.models import Invoice, Subscription
from billtone.ledger.models import Transaction
from billtone.ledger.services import customer_ledger_accounts
from billtone.telephony.models import PhoneNumber, PhoneUser


def test_the_demo_customer_has_paid_a_checkout_and_has_a_basket_in_progress(db):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")

    (checkout,) = Checkout.objects.filter(account=acme)
    assert (checkout.status, checkout.method) == ("completed", "funds")
    invoice = Invoice.objects.get(pk=checkout.invoice_id)
    assert invoice.gross == checkout.gross > 0
    assert invoice.pdf_status == "ready" and bytes(invoice.pdf[:5]) == b"%PDF-"
    lines = [(line.kind, line.quantity) for line in invoice.lines.all()]
    assert {"plan", "number", "setup", "credit_pack"} == {kind for kind, _ in lines}
    users = dict(PhoneUser.objects.filter(account=acme).values_list("extension", "status"))
    assert users == {"10": "active", "11": "active", "12": "pending_payment", "13": "active"}
    (number,) = PhoneNumber.objects.filter(account=acme)
    assert (number.status, number.country) == ("assigned", "DE")
    assert Subscription.objects.filter(account=acme, invoice=invoice).count() == 3
    ledger = customer_ledger_accounts(account=acme)
    pack = Transaction.objects.get(postings__ledger_account=ledger.call_credit, kind="checkout")
    assert pack.postings.get(ledger_account=ledger.call_credit).amount == Decimal("20")

    badge = basket_badge(account=acme)
    assert badge.count == 1 and badge.gross.amount > 0
    waiting = basket_quote_get(account=acme)
    assert not waiting.problems  # payable as it is
    assert waiting.lines[0].line.phone_user.extension == "12"
