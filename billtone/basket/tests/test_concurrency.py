"""Twenty checkouts at the same moment on PostgreSQL, some refused: the invoice numbers used
are gap-free, and a refused checkout leaves nothing behind.

Each checkout is a thread with its own connection; a barrier releases them together. The
refusals are real ones from inside the transaction: a shortfall at the ledger's floor, and
a desk phone sold out by the others, found by the conditional stock update after the invoice
number was taken (so that the number must go back with the rollback).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billtone.basket import services
from billtone.basket.errors import Shortfall
from billtone.basket.models import Checkout
from billtone.catalog.models import Product
from billtone.invoicing.models import Invoice, InvoiceSequence

from .conftest import ACTOR, fund

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]
CHECKOUTS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_keep_invoice_numbers_gap_free(make_account, shop):
    Product.objects.filter(pk=shop.phone.pk).update(stock=CHECKOUTS // 2)
    accounts = []
    for n in range(CHECKOUTS):
        account = make_account(f"Racer {n}")
        services.basket_item_add(account=account, product_id=shop.pack10.pk, actor=ACTOR)
        services.basket_item_add(account=account, product_id=shop.phone.pk, actor=ACTOR)
        if n % 4 != 1:  # every fourth is short of funds
            fund(account, "500.00")
        accounts.append(account)
    barrier = threading.Barrier(CHECKOUTS)

    def pay(account):
        try:
            barrier.wait(timeout=30)
            return services.checkout_with_funds(
                account=account, idempotency_key="race", actor=ACTOR
            )
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CHECKOUTS) as pool:
        results = list(pool.map(pay, accounts))

    paid = [r for r in results if isinstance(r, Checkout)]
    short = [r for r in results if isinstance(r, Shortfall)]
    refused = [r for r in results if not isinstance(r, Checkout | Shortfall)]
    assert (len(paid), len(short)) == (CHECKOUTS // 2, CHECKOUTS // 4), results
    assert all("stock" in str(r) for r in refused), refused
    assert len(refused) == CHECKOUTS - CHECKOUTS // 2 - CHECKOUTS // 4
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, CHECKOUTS // 2 + 1))
    assert InvoiceSequence.objects.get().next_number == CHECKOUTS // 2 + 1
    assert Checkout.objects.count() == CHECKOUTS // 2
    assert Product.objects.get(pk=shop.phone.pk).stock == 0
