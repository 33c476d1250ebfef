"""Import a generated camt.053 of 100,000 credits into PostgreSQL, end to end.

The database <name> (bt_import by default) is dropped and made again on the server of
DATABASE_URL, migrated, and given N customer accounts (10,000 by default) with a permanent
reference each, and bank transfers awaiting funds for a share of them. bench/gen_camt053.py
writes the statement: 90% of the credits carry one of those references (structured, grouped,
lower case, inside other text or split across lines; a third of them a request's), the rest
a mistyped reference or none.

The measured run is `statement_import` exactly as `billtone import-statement` calls it, in a
fresh process: read the file once, in batches, and match, post to the ledger, store the
entries and mark bank transfers received, all in one database transaction
(docs/decisions/0005-statement-import-in-one-transaction.md). The "funds received" emails
are a worker's job after commit (decision 0007): the task that would go to the broker is
counted, and its first part (storing the 90,000 email rows from the matched entries) is then
run and timed on its own and reported beside the import; sending them is not run. Peak
memory is that process's ru_maxrss. Results: docs/benchmarks.md.
With --runs N the import is measured N times, each into a fresh copy of the prepared
database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/statement_import.py [--entries 100000] [--accounts 10000] \\
        [--database bt_import] [--runs 1] [--profile] [--gc-default]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import random
import resource
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

REQUEST_SHARE = 1 / 3  # of the references paid: bank transfers'; the rest permanent ones


def _url(database: str) -> str:
    parts = urlparse(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (postgres://...).")
    auth = parts.username or "postgres"
    if parts.password:
        auth += f":{parts.password}"
    return f"postgres://{auth}@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}/{database}"


_ADMIN_DATABASE = []  # the database of the DATABASE_URL given, before _django() changes it


def _admin():
    import psycopg

    if not _ADMIN_DATABASE:
        _ADMIN_DATABASE.append(urlparse(os.environ["DATABASE_URL"]).path.lstrip("/") or "postgres")
    return psycopg.connect(_url(_ADMIN_DATABASE[0]), autocommit=True)


def _recreate(database: str, template: str | None = None) -> None:
    from psycopg import sql

    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)


def _drop(database: str) -> None:
    from psycopg import sql

    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))


def _django(database: str) -> None:
    os.environ["DATABASE_URL"] = _url(database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _prepare(accounts: int, seed: int) -> list[str]:
    """Customers, their references and requests; returns the references payers will use."""
    from django.core.management import call_command

    from billtone.accounts.models import Account, BillingProfile
    from billtone.banktransfers.models import AccountReference, BankTransfer
    from billtone.banktransfers.references import reference_from_body
    from billtone.banktransfers.services import BankAccountInput, bank_account_save
    from billtone.core import clock
    from billtone.core.services import Actor

    call_command("migrate", verbosity=0)
    bank_account_save(
        data=BankAccountInput(
            currency="EUR",
            account_holder="Billtone Telecom B.V.",
            iban="DE89370400440532013000",
            bic="COBADEFFXXX",
            bank_name="Commerzbank",
        ),
        actor=Actor.system("bench"),
    )
    now = clock.now()
    rows = Account.objects.bulk_create(
        [Account(name=f"Bench customer {n}", created_at=now) for n in range(accounts)]
    )
    BillingProfile.objects.bulk_create(
        [
            BillingProfile(
                account=a,
                company_name=a.name,
                country="DE",
                currency="EUR",
                billing_email=f"billing{a.pk}@bench.example",
                updated_at=now,
            )
            for a in rows
        ]
    )
    permanent = AccountReference.objects.bulk_create(
        [
            AccountReference(account=a, reference=reference_from_body(n), created_at=now)
            for n, a in enumerate(rows)
        ]
    )
    rng = random.Random(seed)
    requests = BankTransfer.objects.bulk_create(
        [
            BankTransfer(
                account=a,
                amount=Decimal(rng.choice([50, 100, 250, 500, 1000])),
                currency="EUR",
                reference=reference_from_body(10**9 + n),
                created_at=now,
                expires_at=now + timedelta(days=14),
                created_by_label="bench",
            )
            for n, a in enumerate(rows)
        ]
    )
    share = max(1, int(len(permanent) * (1 - REQUEST_SHARE)))
    return [r.reference for r in permanent[:share]] + [
        r.reference for r in requests[: len(permanent) - share]
    ]


def _backend_cpu() -> float:
    """CPU seconds of this thread's PostgreSQL backend (on this machine), else 0."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _import(path: str, profile: bool, gc_default: bool = False) -> None:
    """The measured part, in its own process (see main)."""
    from django.db import connection

    from billtone.core.services import Actor
    from billtone.ledger.selectors import books_check
    from billtone.reconciliation import import_run as import_batch
    from billtone.reconciliation import tasks
    from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
    from billtone.reconciliation.services.imports import statement_import

    queue_tasks = []  # the after-commit task of the import, counted here, run below
    tasks.funds_received_emails_queue.delay = queue_tasks.append
    scheduled = []
    tasks.funds_received_emails_send.delay = lambda ids: scheduled.append(len(ids))
    writers = []  # the PostgreSQL CPU of the import's writer thread, read as it closes
    close_all = import_batch.connections.close_all

    def closing():
        writers.append(_backend_cpu())
        close_all()

    import_batch.connections.close_all = closing
    # The collector as the command sets it for its process (--gc-default: as Python has it).
    command = importlib.import_module(
        "billtone.reconciliation.management.commands.import-statement"
    )
    collections = contextlib.nullcontext() if gc_default else command.fewer_collections()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    backend = _backend_cpu()
    started = time.perf_counter()
    cpu = time.process_time()
    with collections:
        result = statement_import(source=path, actor=Actor.system("bench"))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    backend = _backend_cpu() - backend + sum(writers)
    if profiler is not None:
        profiler.stop()
        out = ROOT / "test-artifacts" / "statement_import.profile.txt"
        out.parent.mkdir(exist_ok=True)
        out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"profile: {out}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = result.credits + result.debits_ignored + result.not_booked_ignored
    print(
        f"imported {total} entries in {elapsed:.2f} s: {total / elapsed:,.0f} entries/s; "
        f"peak RSS {peak:.0f} MB; CPU: Python {cpu:.1f} s, PostgreSQL backend {backend:.1f} s"
    )
    parse, copy = _floor(path)
    floor = parse + copy
    print(
        f"floor, same run: lxml parse {parse:.2f} s + COPY of the {total} entry rows "
        f"{copy:.2f} s = {floor:.2f} s: {total / floor:,.0f} entries/s; the import is at "
        f"{floor / elapsed:.2f} of the floor ({elapsed / floor:.1f} times its time)"
    )
    print(
        f"matched {result.matched}, to review {result.to_review}, duplicates "
        f"{result.duplicates_skipped}, total matched {result.matched_totals}; "
        f"{len(queue_tasks)} email task scheduled after commit"
    )
    if queue_tasks != [result.pk]:
        sys.exit(f"WRONG: email tasks scheduled {queue_tasks}")
    started = time.perf_counter()
    backend = _backend_cpu()
    funds_received_emails_queue(statement_import_id=result.pk)  # what that task does first
    print(
        f"after commit, the worker's task stored {sum(scheduled)} email rows in "
        f"{time.perf_counter() - started:.2f} s (PostgreSQL backend "
        f"{_backend_cpu() - backend:.1f} s) and scheduled {len(scheduled)} send tasks"
    )
    books = books_check()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM notifications_emaildelivery WHERE key LIKE 'funds-received:%%'"
        )
        emails = cursor.fetchone()[0]
        cursor.execute("SELECT status, count(*) FROM banktransfers_banktransfer GROUP BY 1")
        requests = dict(cursor.fetchall())
    if not books.ok or emails != result.matched:
        sys.exit(f"WRONG: {books}, {emails} email rows")
    print(f"books checked: each transaction balanced, balance = its postings; requests {requests}")


def _floor(path: str) -> tuple[float, float]:
    """What no import can beat on this machine, measured beside it: (seconds of a bare lxml
    parse of the file; seconds of a COPY of as
    many rows as the import stored, of the entries' width — the stored entries themselves
    — into a table like theirs without indexes, constraints or triggers)."""
    from django.db import connection
    from lxml import etree

    from billtone.reconciliation.models import BankEntry

    started = time.perf_counter()
    # As the importer's parser reads: a stream, blank text dropped, each entry freed as it
    # ends (with the entries before it); Python sees one event an entry, reads nothing.
    for _, entry in etree.iterparse(path, tag="{*}Ntry", remove_blank_text=True):
        entry.clear(keep_tail=False)
        parent = entry.getparent()
        del parent[: parent.index(entry)]
    parse = time.perf_counter() - started
    data = bytearray()
    entries = BankEntry._meta.db_table
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {entries} TO STDOUT") as out:
            for block in out:
                data += block
        cursor.execute("BEGIN")
        cursor.execute(f"CREATE TEMP TABLE floor_entries (LIKE {entries} INCLUDING DEFAULTS)")
        started = time.perf_counter()
        with cursor.cursor.copy("COPY floor_entries FROM STDIN") as into:
            into.write(data)
        copy = time.perf_counter() - started
        cursor.execute("ROLLBACK")
    return parse, copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--matched", type=float, default=0.9)
    parser.add_argument("--database", default="bt_import")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the import")
    parser.add_argument(
        "--gc-default",
        action="store_true",
        help="the collector's default thresholds, not the command's (to measure them)",
    )
    parser.add_argument("--runs", type=int, default=1, help="imports, each into a fresh copy")
    parser.add_argument("--import-only", metavar="FILE", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.import_only:
        _django(options.database)
        _import(options.import_only, options.profile, options.gc_default)
        return

    from gen_camt053 import write_camt053

    _recreate(options.database)
    _django(options.database)
    from django.db import connection

    started = time.perf_counter()
    references = _prepare(options.accounts, options.seed)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    print(
        f"PostgreSQL {version}, {os.cpu_count()} CPUs; {options.accounts} customers prepared "
        f"in {time.perf_counter() - started:.1f} s"
    )
    path = ROOT / "test-artifacts" / f"bench-camt053-{options.entries}.xml"
    path.parent.mkdir(exist_ok=True)
    generated = write_camt053(
        path,
        entries=options.entries,
        references=references,
        matched_share=options.matched,
        seed=options.seed,
        account_iban="DE89370400440532013000",
    )
    print(
        f"{path.name}: {generated.entries} credits, {path.stat().st_size / 2**20:.0f} MiB; "
        f"{generated.with_reference} with a reference, {generated.with_invalid_reference} "
        f"mistyped, {generated.without_reference} without"
    )
    copy = f"{options.database}_run"
    for run in range(1, options.runs + 1):
        _recreate(copy, template=options.database)  # each run starts from the same books
        load = os.getloadavg()[0]
        print(f"run {run} at {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {load:.2f}")
        command = [sys.executable, __file__, "--import-only", str(path), "--database", copy]
        command += ["--profile"] if options.profile else []
        command += ["--gc-default"] if options.gc_default else []
        subprocess.run(command, check=True)
    _drop(copy)
    path.unlink()


if __name__ == "__main__":
    main()
