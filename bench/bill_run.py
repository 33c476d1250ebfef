"""One monthly bill run on PostgreSQL: 100,000 accounts with 3 subscriptions each (issue 18).

Each account is a Dutch customer billed in EUR (Europe/Amsterdam, 21 % VAT) with a billing
profile, its business funds and call credit (empty), and three active subscriptions: a phone
user on the National plan (12.00 a month), one on the International plan (20.00) and a
Netherlands geographic number (2.50), each started on the 1st of last month and paid through
its last day, as a checkout last month before the cut-off day would have left them (same
products, prices, descriptions, users active, number assigned; the checkout's first-charge
invoice is not made: `Subscription.invoice` stays empty, which billing never reads). The
setup writes these rows with bulk_create, untimed.

Timed: one bill run for this month, `bill_run(at=now, fan_out=False)` in this process, then
(a fresh database) the same through two Celery worker processes (`--pool solo`, one process
each) on the local Redis: billing's own fan-out, `bill_run(at=now, fan_out=True)`, one
`bill_chunk_task` per chunk of 500 on the queue `billbench` (BILLTONE_CELERY_QUEUE); the clock
stops when the last chunk has finished the run. What a run does per account: the bill
planned by the engine, the open invoice with its lines and taxes, its ledger transaction
(receivable, revenue, tax payable), the numbers as one block, paid_through moved, then
collection: with no funds and no card (`--funds 0`, the default) each bill is "left unpaid"
after its funds and card are looked up; with `--funds 100` every account has 100.00 of
business funds (posted in the setup) and each chunk's bills are paid from them in one
transaction (`invoicing.invoices_pay_from_funds`). PDFs and emails are NOT rendered: each
chunk queues one documents task (the in-process run on the filesystem transport, in a
scratch folder; the Celery run on Redis, on the queue `billbench-documents`, which the two
workers do not consume) and the emails are stored unsent.

After each run the books are checked: one invoice per account (source key bill:<id>:<month>),
invoice numbers 1..N without a gap, every ledger transaction balanced and every balance equal
to its postings, every subscription paid through the end of this month, the run finished
with no failures. Peak memory: the runner's and each worker's peak RSS (VmHWM, the runner's
reset before the timed run). Results: docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bill_run.py [--accounts 100000] [--celery] [--in-process] \\
        [--funds 0] [--prefix bt_billbench] [--profile] [--skip-pgbench]

--runs N prepares the accounts once, into a template database <prefix>_template_<accounts>_<funds>,
then makes N runs of each mode (or of the one named), alternately, each on a fresh copy of the
template, and prints each mode's median wall time (--reuse-template: the template made by an
earlier --runs with the same --accounts, --funds and --prefix).

Without --celery or --in-process both runs are made, each on its own fresh database
(<prefix>_run). The reference, measured in the same run after each bill run: pgbench's
tpcb-like script, 2 clients for 20 s on <prefix>_pgbench (scale 10). --profile profiles the
in-process run with pyinstrument (test-artifacts/bill_run.profile.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from customers import dutch_customers_create  # noqa: E402
from pg_server import (  # noqa: E402
    database_clone,
    database_recreate,
    database_url,
    pgbench_init,
    pgbench_tps,
    server_from_url,
)

CHUNK_QUEUE = "billbench"  # BILLTONE_CELERY_QUEUE of the runner and the workers
DOCUMENTS_QUEUE = "billbench-documents"
REDIS_DB = 13  # the bench's own Redis database (--redis-db): its queues are emptied first
NUMBER_BASE = 31_201_000_000  # +31201000000 + n: Amsterdam geographic numbers


def _documents_aside() -> None:
    """The chunks' documents tasks go to a queue no worker of the bench consumes: the PDFs
    are left unrendered, as the run's figure leaves them out."""
    from config.celery import app

    app.conf.task_routes = {
        "billtone.billing.tasks.bill_documents_send_task": {"queue": DOCUMENTS_QUEUE}
    }


if os.environ.get("BILLBENCH_WORKER"):  # imported by a bench worker (celery --include)
    _documents_aside()


def _setup_django(url: str, broker: str | None) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["BILLTONE_QUEUE_DIR"] = tempfile.mkdtemp(prefix="bt-billbench-queue-")
    if broker:
        os.environ["BILLTONE_BROKER_URL"] = broker
        os.environ["BILLTONE_CELERY_QUEUE"] = CHUNK_QUEUE
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)


def _month_bounds():
    from datetime import timedelta

    from billtone.core import clock

    today = clock.now().date()
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return last_month_end.replace(day=1), last_month_end


def _prepare(count: int, funds: int) -> None:
    """The demo catalog and `count` accounts with their three subscriptions, in bulk."""
    from decimal import Decimal

    from django.core.management import call_command

    from billtone.catalog.models import Product
    from billtone.core import clock
    from billtone.core.services import Actor
    from billtone.demo.catalog import demo_catalog
    from billtone.invoicing.models import Subscription
    from billtone.ledger.bulk import business_funds_accounts
    from billtone.telephony.models import PhoneNumber, PhoneUser

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    demo_catalog(actor)
    products = {p.code: p for p in Product.objects.filter(code__in=["national", "international"])}
    number_product = Product.objects.get(code="nl-geographic")
    prices = {"national": Decimal("12.00"), "international": Decimal("20.00")}
    number_price = Decimal("2.50")
    started_on, paid_through = _month_bounds()
    now = clock.now()
    step = 5_000
    for start in range(0, count, step):
        size = min(step, count - start)
        accounts = dutch_customers_create(count=size, start=start)
        business_funds_accounts(currencies={a.pk: "EUR" for a in accounts})
        users = PhoneUser.objects.bulk_create(
            [
                PhoneUser(
                    account=account,
                    name=f"User {code}",
                    email=f"{code}@bench.example",
                    extension=extension,
                    plan=products[code],
                    status="active",
                    created_at=now,
                    activated_at=now,
                )
                for account in accounts
                for code, extension in (("national", "201"), ("international", "202"))
            ]
        )
        numbers = PhoneNumber.objects.bulk_create(
            [
                PhoneNumber(
                    e164=f"+{NUMBER_BASE + start + n}",
                    country="NL",
                    number_type="geographic",
                    product=number_product,
                    status="assigned",
                    account=account,
                    assigned_at=now,
                    created_at=now,
                )
                for n, account in enumerate(accounts)
            ]
        )
        subscription = {
            "currency": "EUR",
            "started_on": started_on,
            "paid_through": paid_through,
            "created_at": now,
        }
        rows = []
        for account, pair, number in zip(
            accounts, zip(users[::2], users[1::2], strict=True), numbers, strict=True
        ):
            for user in pair:  # basket.selectors.line_description's words
                plan = user.plan
                rows.append(
                    Subscription(
                        account=account,
                        product=plan,
                        item_kind="phone_user",
                        item_id=user.pk,
                        description=f"{plan.name} plan: {user.name} (extension {user.extension})",
                        unit_price=prices[plan.code],
                        **subscription,
                    )
                )
            rows.append(
                Subscription(
                    account=account,
                    product=number_product,
                    item_kind="phone_number",
                    item_id=number.pk,
                    description=f"{number_product.name}: {number.e164}",
                    unit_price=number_price,
                    **subscription,
                )
            )
        Subscription.objects.bulk_create(rows)
        if funds:
            _fund([a.pk for a in accounts], funds, actor)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _fund(account_ids: list[int], amount: int, actor) -> None:
    """`amount` EUR of business funds for each account, as bank transfers, in bulk."""
    from billtone.core.money import Money
    from billtone.ledger.bulk import (
        BulkTransaction,
        business_funds_accounts,
        transactions_post_bulk,
    )
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.services import Leg, operator_ledger_account

    clearing = operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency="EUR")
    funds = business_funds_accounts(currencies=dict.fromkeys(account_ids, "EUR"))
    money = Money(amount, "EUR")
    transactions_post_bulk(
        transactions=[
            BulkTransaction(
                kind="bank_transfer",
                memo="Bank transfer",
                postings=[Leg(clearing, -money), Leg(funds[pk], money)],
                idempotency_key=f"bench-fund:{pk}",
            )
            for pk in account_ids
        ],
        actor=actor,
    )


def _peak_reset() -> None:
    """Reset this process's peak RSS (VmHWM) so the run's own peak is read."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_in_process(profile: bool) -> tuple[float, int]:
    from billtone.billing.services.run import bill_run
    from billtone.core import clock
    from billtone.core.services import Actor

    _peak_reset()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu = time.process_time(), _cpu_seconds(backend)
    started = time.perf_counter()
    run = bill_run(actor=Actor.system("bill run (bench)"), at=clock.now(), fan_out=False)
    took = time.perf_counter() - started
    python, server = time.process_time() - cpu[0], _cpu_seconds(backend) - cpu[1]
    per = 1000 / max(run.due, 1)
    print(
        f"CPU: {python:.1f} s of Python ({python * per:.2f} ms per account), {server:.1f} s "
        f"of its PostgreSQL backend ({server * per:.2f} ms per account)"
    )
    if profiler is not None:
        profiler.stop()
        path = ROOT / "test-artifacts" / "bill_run.profile.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=True))
        print(f"profile: {path}")
    if run.status != "finished":
        raise SystemExit(f"RUN FAILED: {run.error}")
    return took, run.pk


def _workers_start(url: str, broker: str, count: int) -> list[subprocess.Popen]:
    env = os.environ | {
        "DATABASE_URL": url,
        "BILLTONE_BROKER_URL": broker,
        "BILLTONE_CELERY_QUEUE": CHUNK_QUEUE,
        "BILLBENCH_WORKER": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="bt-billbench-workers-"))
    workers = []
    for n in range(1, count + 1):
        log = (log_dir / f"worker{n}.log").open("w")
        workers.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable)),
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--include",
                    "bill_run",
                    "-Q",
                    CHUNK_QUEUE,
                    "-n",
                    f"billbench{n}@%h",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    print(f"  worker logs: {log_dir}")
    return workers


def _workers_ready(broker: str, count: int, timeout: float = 120) -> None:
    from config.celery import app

    until = time.time() + timeout
    while time.time() < until:
        replies = app.control.ping(timeout=1.0) or []
        if len([r for r in replies if any("billbench" in name for name in r)]) >= count:
            return
        time.sleep(1)
    raise SystemExit("The Celery workers did not start.")


def _run_celery(url: str, broker: str, workers_count: int) -> tuple[float, int, list[float]]:
    """billing's own fan-out (`bill_run(fan_out=True)`: a task per chunk on the broker);
    done when the last chunk has finished the run."""
    import redis

    from billtone.billing.models import BillRun
    from billtone.billing.services.run import bill_run
    from billtone.core import clock
    from billtone.core.services import Actor

    _documents_aside()
    redis.Redis.from_url(broker).delete(CHUNK_QUEUE, DOCUMENTS_QUEUE)
    workers = _workers_start(url, broker, workers_count)
    try:
        _workers_ready(broker, workers_count)
        _peak_reset()
        cpu_before = [_cpu_seconds(w.pid) for w in workers]
        started = time.perf_counter()
        run = bill_run(actor=Actor.system("bill run (bench)"), at=clock.now(), fan_out=True)
        while BillRun.objects.filter(pk=run.pk, status=BillRun.Status.RUNNING).exists():
            if any(w.poll() is not None for w in workers):
                raise SystemExit("A Celery worker died.")
            time.sleep(0.2)
        took = time.perf_counter() - started
        peaks = [_peak_mb(w.pid) for w in workers]
        cpu = sum(
            _cpu_seconds(w.pid) - before for w, before in zip(workers, cpu_before, strict=True)
        )
        print(
            f"CPU: {cpu:.1f} s of Python in the workers "
            f"({1000 * cpu / max(run.due, 1):.2f} ms per account)"
        )
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=60)
    return took, run.pk, peaks


def _check_books(count: int, run_id: int) -> str:
    """One invoice per account, numbers 1..N, transactions balanced, balances = postings,
    every subscription paid through this month's end, the run finished without failures."""
    import calendar

    from django.db import connection

    from billtone.billing.models import BillRun
    from billtone.core import clock
    from billtone.invoicing.models import Invoice, Subscription
    from billtone.ledger.selectors import books_check

    today = clock.now().date()
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    key_month = f"{today.year:04d}-{today.month:02d}"
    bills = Invoice.objects.filter(source_key__startswith="bill:", source_key__endswith=key_month)
    invoices = bills.count()
    accounts = bills.values("account_id").distinct().count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(sequence_number), max(sequence_number) FROM invoicing_invoice"
        )
        all_invoices, low, high = cursor.fetchone()
    books = books_check()
    unbalanced, mismatched = books.unbalanced, books.balances_off
    behind = Subscription.objects.exclude(paid_through=month_end).count()
    run = BillRun.objects.get(pk=run_id)
    gap_free = all_invoices == high == count and low == 1
    problems = []
    if invoices != count or accounts != count:
        problems.append(f"{invoices} bills for {accounts} of {count} accounts")
    if not gap_free:
        problems.append(f"numbers {low}..{high} for {all_invoices} invoices")
    if unbalanced or mismatched:
        problems.append(f"{unbalanced} unbalanced transactions, {mismatched} balances off")
    if behind:
        problems.append(f"{behind} subscriptions not paid through {month_end}")
    if run.status != "finished" or run.failed or run.invoiced != count:
        problems.append(f"run {run.status}: {run.invoiced} invoiced, {run.failed} failed")
    if problems:
        raise SystemExit("BOOKS WRONG: " + "; ".join(problems))
    return (
        f"books checked: {invoices} bills, one per account, INV 1..{high} without a gap, "
        f"every transaction balanced, balances = postings, {count * 3} subscriptions paid "
        f"through {month_end}; collection: {run.paid_from_funds} paid from funds, "
        f"{run.paid_by_card} by card, {run.left_unpaid} left unpaid"
    )


def _pending_documents(broker: str | None) -> str:
    if broker:
        import redis

        queued = redis.Redis.from_url(broker).llen(DOCUMENTS_QUEUE)
        return f"{queued} documents tasks queued on Redis, not consumed (PDFs not rendered)"
    folder = Path(os.environ["BILLTONE_QUEUE_DIR"])
    queued = sum(1 for p in folder.iterdir() if p.is_file())
    return f"{queued} documents tasks queued as files in {folder}, not consumed"


def _template_name(options) -> str:
    return f"{options.prefix}_template_{options.accounts}_{options.funds}"


def _one(options, server, celery: bool) -> float:
    database = f"{options.prefix}_run"
    template = _template_name(options)
    if options.prepare_template:
        database = template
    if options.from_template:
        database_clone(server, database, template)
    else:
        database_recreate(server, database)
    url = database_url(server, database)
    broker = f"redis://127.0.0.1:6379/{options.redis_db}" if celery else None
    _setup_django(url, broker)
    from django.db import connections

    started = time.time()
    if not options.from_template:
        _prepare(options.accounts, options.funds)
        print(
            f"prepared {options.accounts} accounts x 3 subscriptions"
            f"{f', {options.funds} EUR of funds each' if options.funds else ''} "
            f"in {time.time() - started:.0f} s"
        )
    if options.prepare_template:
        connections.close_all()
        return 0.0
    load = os.getloadavg()
    if celery:
        took, run_id, peaks = _run_celery(url, broker, options.workers)
        memory = f"runner {_peak_mb():.0f} MB, workers " + ", ".join(f"{p:.0f} MB" for p in peaks)
        label = f"Celery, {options.workers} worker processes"
    else:
        took, run_id = _run_in_process(options.profile)
        memory = f"{_peak_mb():.0f} MB"
        label = "in-process"
    print(
        f"bill run ({label}): {options.accounts} accounts in {took:.1f} s = "
        f"{options.accounts / took:.0f} accounts/s; peak RSS {memory}; "
        f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print("  " + _check_books(options.accounts, run_id))
    print("  " + _pending_documents(broker))
    connections.close_all()
    if options.result_file:
        with open(options.result_file, "a") as results:
            results.write(f"{'celery' if celery else 'in-process'} {took:.3f}\n")
    return took


def _runs(options) -> None:
    """--runs N: the accounts prepared once into a template database, then N runs of each
    mode alternately, each on a fresh copy of it; the median wall time of each mode last."""
    own, args = [], iter(sys.argv[1:])
    for arg in args:
        if arg == "--runs":
            next(args)  # its value
        elif not arg.startswith("--runs="):
            own.append(arg)
    own = [a for a in own if a != "--reuse-template"]
    if not options.reuse_template:
        subprocess.run([sys.executable, __file__, *own, "--prepare-template"], check=True)
    modes = [m for m in ("--in-process", "--celery") if m in own] or ["--in-process", "--celery"]
    own = [a for a in own if a not in modes]
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as results:
        for n in range(options.runs):
            for mode in modes:
                print(f"== run {n + 1} of {options.runs}, {mode[2:]}", flush=True)
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        *own,
                        mode,
                        "--from-template",
                        "--result-file",
                        results.name,
                    ],
                    check=True,
                )
        times: dict[str, list[float]] = {}
        for line in results.read().splitlines():
            mode, took = line.split()
            times.setdefault(mode, []).append(float(took))
    for mode, took in times.items():
        shown = ", ".join(f"{t:.1f}" for t in took)
        print(
            f"median of {len(took)} {mode} runs: {statistics.median(took):.1f} s "
            f"({options.accounts / statistics.median(took):.0f} accounts/s; runs: {shown} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--funds", type=int, default=0, help="EUR of business funds each")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--celery", action="store_true", help="only the Celery run")
    parser.add_argument("--in-process", action="store_true", help="only the in-process run")
    parser.add_argument("--prefix", default="bt_billbench")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB, help="for the Celery run")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, in-process run")
    parser.add_argument("--skip-pgbench", action="store_true", help="no reference run")
    parser.add_argument("--seconds", type=int, default=20, help="pgbench's duration")
    parser.add_argument("--runs", type=int, default=0, help="N runs of each mode, median")
    parser.add_argument(
        "--reuse-template", action="store_true", help="with --runs: the template made before"
    )
    parser.add_argument("--prepare-template", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--from-template", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    server = server_from_url(url)
    if options.runs:
        _runs(options)
        return
    if options.prepare_template:
        _one(options, server, celery=False)
        return
    if not (options.celery or options.in_process or options.profile):
        # Each run in its own process: Django reads the database and broker once.
        for flag in ("--in-process", "--celery"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], flag], check=True)
        return
    pgbench_db = f"{options.prefix}_pgbench"
    if not options.skip_pgbench:
        pgbench_init(server, pgbench_db, 10)
    _one(options, server, celery=options.celery and not options.profile)
    if not options.skip_pgbench:
        tps = pgbench_tps(server, pgbench_db, clients=2, seconds=options.seconds)
        print(
            f"  reference: pgbench tpcb-like, scale 10, 2 clients, {options.seconds} s: "
            f"{tps:.0f} tps"
        )


if __name__ == "__main__":
    main()
