"""Monthly bills in the demo (demo/billing.py, demo/basket.py): Acme's Next Bill is a real
bill paid from its funds; Globex has an open bill from a bill run and a Next Bill that warns."""

from billtone.accounts.models import Account
from billtone.billing.selectors import next_bills
from billtone.demo.services import demo_create
from billtone.invoicing.models import Invoice


def test_acme_has_a_next_bill_and_globex_an_open_bill_and_a_warning(db):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    [bill, *_] = next_bills(account=acme)
    assert {line.kind for line in bill.lines} == {"plan", "number"} and len(bill.lines) == 3
    assert bill.payment.method == "business_funds" and bill.gross.amount > 0

    globex = Account.objects.get(name="Globex Ltd")
    [invoice] = Invoice.objects.filter(account=globex, source_key__startswith="bill:")
    assert invoice.status == "open" and invoice.gross > 0
    [after, *_] = next_bills(account=globex)
    assert after.period > invoice.lines.first().period_start  # the bill after the open one
    assert after.payment.method == "none" and after.payment.warning

    demo_create()  # again: nothing billed twice
    assert Invoice.objects.filter(account=globex, source_key__startswith="bill:").count() == 1
