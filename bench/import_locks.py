"""How long a statement import keeps a customer's balance locked (PostgreSQL).

bench/statement_import.py prepares the database (10,000 customers, references, requests)
and writes a camt.053 of 100,000 credits. Each run imports it in a fresh process, into a
fresh copy of the prepared database, while this process plays the customer: it posts a
card top-up (card clearing -> business funds, `transaction_post`, exactly as a card payment
posts it; it locks the business funds row as every posting does) again and again, round
robin, to the customers paid by the file's first credits (the ones an import meets first),
and records how long each posting took. The longest of those is how long the import kept
one customer's balance locked; a posting not blocked takes a few milliseconds. The
import's own speed (entries/s) is printed by the import process as in
bench/statement_import.py; the probe's postings cost it a little.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/import_locks.py [--entries 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import statement_import as bench  # noqa: E402 (bench/ is on the path now)

PROBES = 5  # customers paid by the file's first credits


def _probe_accounts(expected: list[str]) -> list[int]:
    """The customer accounts of the first PROBES distinct references paid in the file."""
    from billtone.banktransfers.models import AccountReference, BankTransfer

    found: list[int] = []
    for reference in expected:
        if not reference:
            continue
        row = AccountReference.objects.filter(reference=reference).first() or (
            BankTransfer.objects.filter(reference=reference).first()
        )
        if row is not None and row.account_id not in found:
            found.append(row.account_id)
        if len(found) == PROBES:
            break
    return found


def _run(path: Path, copy: str, accounts: list[int], run: int) -> tuple[float, float, str]:
    """One import with the probe beside it: (longest wait s, import s, import's output)."""
    from django.db import connection

    from billtone.accounts.models import Account
    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.services import (
        Leg,
        customer_ledger_accounts,
        operator_ledger_account,
        transaction_post,
    )

    connection.close()
    connection.settings_dict["NAME"] = copy
    card = operator_ledger_account(kind=LedgerKind.CARD_CLEARING, currency="EUR")
    funds = [
        customer_ledger_accounts(account=Account.objects.get(pk=pk)).business_funds
        for pk in accounts
    ]
    actor = Actor.system("bench probe")
    amount = Money(Decimal("1.00"), "EUR")
    command = [sys.executable, bench.__file__, "--import-only", str(path), "--database", copy]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    waits: list[float] = []
    n = 0
    while process.poll() is None:
        target = funds[n % len(funds)]
        began = time.perf_counter()
        transaction_post(
            kind="card_top_up",
            memo="bench probe",
            postings=(Leg(card, -amount), Leg(target, amount)),
            idempotency_key=f"bench-probe:{run}:{n}",
            actor=actor,
        )
        waits.append(time.perf_counter() - began)
        n += 1
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        sys.exit(f"the import failed:\n{output}")
    connection.close()
    return (
        max(waits),
        elapsed,
        output + f"{n} probe postings, median {statistics.median(waits) * 1000:.1f} ms\n",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--database", default="bt_locks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    from gen_camt053 import write_camt053

    bench._recreate(options.database)
    bench._django(options.database)
    from django.db import connection

    references = bench._prepare(options.accounts, options.seed)
    path = ROOT / "test-artifacts" / f"bench-locks-camt053-{options.entries}.xml"
    path.parent.mkdir(exist_ok=True)
    generated = write_camt053(
        path,
        entries=options.entries,
        references=references,
        matched_share=0.9,
        seed=options.seed,
        account_iban="DE89370400440532013000",
    )
    accounts = _probe_accounts(generated.expected)
    connection.close()
    print(f"{generated.entries} credits; probing customers {accounts}")
    copy = f"{options.database}_run"
    longest = []
    for run in range(1, options.runs + 1):
        connection.close()
        bench._recreate(copy, template=options.database)
        load = os.getloadavg()[0]
        wait, elapsed, output = _run(path, copy, accounts, run)
        longest.append(wait)
        print(f"run {run} at {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {load:.2f}")
        print(output.rstrip())
        print(
            f"longest wait of a customer's posting: {wait:.2f} s (import process {elapsed:.1f} s)"
        )
    connection.close()
    bench._drop(copy)
    path.unlink()
    print(
        f"median of {len(longest)} runs: longest lock on one customer's balance "
        f"{statistics.median(longest):.2f} s (runs: {', '.join(f'{w:.2f}' for w in longest)})"
    )


if __name__ == "__main__":
    main()
