"""What the bill-run process tests share: the test database as another process reaches it,
due accounts paying every way, and the outcome every run must leave (docs/decisions/0023)."""

import os
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.db.models import Sum

from billtone.billing.tests.conftest import DECLINES, buy, card_on, fund
from billtone.invoicing.models import Invoice
from billtone.ledger.models import LedgerAccount, Posting
from billtone.payments.models import Payment

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)
APRIL = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # after midnight 1 April in Berlin
ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    """The test database (PostgreSQL), for a subprocess to use."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def process_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLTONE_")}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "BILLTONE_QUEUE_DIR": str(tmp_path / "queue"),  # the PDFs' and emails' tasks wait here
        "BILLTONE_MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def billtone_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def due_accounts(customer_in, shop, n: int) -> list[int]:
    """n accounts in Berlin due on 1 April: a third paid by funds, a third by card, a third
    with a card that declines."""
    ids = []
    for i in range(n):
        account = customer_in("Europe/Berlin")
        fund(account, "100.00" if i % 3 == 0 else "15.00")  # 15.00: the first charge takes it
        buy(account, shop, at=BOUGHT)
        if i % 3:
            card_on(account, DECLINES if i % 3 == 2 else "4242424242424242")
        ids.append(account.pk)
    return ids


def bills() -> Invoice:
    return Invoice.objects.filter(source_key__startswith="bill:")


def assert_billed_exactly_once(account_ids: list[int]) -> None:
    """Every due account one bill for April, invoice numbers gap-free, no collection charged
    twice, the ledger balanced and each cached balance its postings' sum."""
    keys = Counter(bills().values_list("source_key", flat=True))
    assert keys == Counter(f"bill:{pk}:2026-04" for pk in account_ids)
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))
    for invoice in bills():
        charges = Payment.objects.filter(
            idempotency_key__startswith=f"bill-collect:{invoice.pk}:", status="succeeded"
        )
        assert charges.count() <= 1
    by_card = Counter(
        Payment.objects.filter(
            idempotency_key__startswith="bill-collect:", status="succeeded"
        ).values_list("account_id", flat=True)
    )
    assert set(by_card.values()) <= {1}
    for i, pk in enumerate(account_ids):
        status = bills().get(account_id=pk).status
        assert status == ("open" if i % 3 == 2 else "paid"), (i, status)
    per_currency = Posting.objects.values("currency").annotate(total=Sum("amount"))
    assert {row["total"] for row in per_currency} == {Decimal(0)}
    sums = dict(
        Posting.objects.values("ledger_account_id")
        .annotate(total=Sum("amount"))
        .values_list("ledger_account_id", "total")
    )
    for ledger in LedgerAccount.objects.all():
        assert ledger.balance == sums.get(ledger.pk, Decimal(0)), ledger
