"""CDRs ingested by several processes at once (`import-cdrs --processes N`): the calls split
by account, each charged once, included minutes and credit used as one process uses them."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from billtone.accounts.models import BillingProfile
from billtone.ledger.models import Transaction
from billtone.rating.cdr_models import Cdr
from billtone.rating.services import ingest_parallel
from billtone.rating.services.ingest_parallel import cdrs_ingest_parallel, records_split
from billtone.rating.tests.conftest import (
    ACTOR,
    call,
    call_credit,
    credit_add,
    deck_make,
    user_make,
)

DATA = Path(__file__).parent / "data"


def test_each_account_s_calls_go_to_one_part_in_order():
    records = [call(f"c{n}", account=code) for n, code in enumerate(["7", " 7", "007", "8"] * 5)]
    records.append(call("x", account="acme"))

    parts = records_split(records, 3)

    assert sorted(r.call_id for part in parts for r in part) == sorted(r.call_id for r in records)
    sevens = [part for part in parts if any(r.account_code.strip() == "7" for r in part)]
    assert len(sevens) == 1  # "7", " 7" and "007" name account 7
    assert {r.account_code for r in sevens[0]} >= {"7", " 7", "007"}
    for part in parts:
        numbers = [int(r.call_id[1:]) for r in part if r.call_id != "x"]
        assert numbers == sorted(numbers)


def _accounts(make_account, plans, count):
    """`count` GB accounts, users 21 (Pay As You Go) and 22 (National, 10 minutes), 10.00
    of call credit each, spread over both parts of a split in two."""
    made = []
    while len(made) < count or not all(
        records_split([call("x", account=a) for a in made], 2)
    ):  # a split that leaves a process idle would test nothing
        account = make_account(currency="GBP", timezone="Europe/London")
        BillingProfile.objects.filter(account=account).update(country="GB")
        user_make(account, "21", plans["payg"])
        user_make(account, "22", plans["national"])
        credit_add(account, "10.00")
        made.append(account)
    return made


@pytest.mark.django_db(transaction=True)
def test_two_processes_charge_each_call_once_and_use_included_minutes_once(
    make_account, plans, uk_deck, monkeypatch
):
    monkeypatch.setattr(ingest_parallel, "BATCH", 4)  # several batches per account
    accounts = _accounts(make_account, plans, 4)
    start = datetime(2027, 1, 10, 9, tzinfo=UTC)
    records = [
        call(
            f"{a.pk}-{n}",
            account=a,
            source="22" if n < 12 else "21",
            at=start + timedelta(minutes=n),
        )
        for a in accounts
        for n in range(15)
    ]

    summaries = cdrs_ingest_parallel(records=records, source="test", actor=ACTOR, processes=2)
    again = cdrs_ingest_parallel(records=records, source="test", actor=ACTOR, processes=2)

    assert sum(s.rated for s in summaries) == len(records)
    assert sum(s.duplicates for s in again) == len(records)
    assert Cdr.objects.count() == len(records)
    for account in accounts:
        cdrs = Cdr.objects.filter(account=account)
        assert sum(c.included_seconds for c in cdrs) == 600  # user 22's 10 minutes, once
        # 2 calls of user 22 after its minutes, 3 of user 21: London, 0.05 fee + 0.01/min
        assert sum(c.charged for c in cdrs) == 5 * Decimal("0.0600")
        assert call_credit(account) == Decimal("10.00") - 5 * Decimal("0.0600")
    debits = Transaction.objects.filter(kind="call_charges").values_list("postings__amount")
    assert -sum(a for (a,) in debits if a < 0) == len(accounts) * 5 * Decimal("0.0600")


@pytest.mark.django_db(transaction=True)
def test_import_cdrs_in_two_processes_merges_legs_and_charges_once(make_account, plans, tmp_path):
    deck_make(
        effective_from=datetime(2024, 1, 1, tzinfo=UTC),
        rates=[("44", "United Kingdom", "0.0200"), ("4420", "London", "0.0100", "0.0500")],
    )
    accounts = _accounts(make_account, plans, 3)
    for account in accounts:
        user_make(account, "201", plans["payg"])
        user_make(account, "202", plans["payg"])
        user_make(account, "203", plans["payg"])
    text = (DATA / "asterisk_master_18.csv").read_text()
    lines = []
    for k, account in enumerate(accounts):  # each account's calls, ids and channels its own
        own = text.replace('"acme"', f'"{account.pk}"').replace('"1710', f'"{k}1710')
        lines.append(own.replace("-000000", f"-{k:02d}0000"))
    master = tmp_path / "Master.csv"
    master.write_text("".join(lines))

    outs = []
    for _ in range(2):
        out = io.StringIO()
        call_command("import-cdrs", str(master), "--layout=asterisk", "--processes=2", stdout=out)
        outs.append(out.getvalue())

    assert Cdr.objects.count() == 6 * len(accounts)  # the Local halves one call each time
    for account in accounts:
        # 00442071234567: London, 124 s: 0.0500 fee + 3 started minutes at 0.0100
        assert call_credit(account) == Decimal("10.00") - Decimal("0.0800")
    assert "Legs merged" in outs[0]
    assert "not charged again" in outs[1]
