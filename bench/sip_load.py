"""SIP calls through Kamailio at a fixed rate, each authorized by Billtone and its CDR rated
(issue 20 item 3).

sipp places --rate calls per second for --seconds (each held --hold-ms, answered by a sipp UAS
behind Kamailio) from --accounts seeded GBP accounts in turn, to a London, a national or a
mobile number. Kamailio runs integrations/kamailio/kamailio.cfg, asks `billtone serve` (on
PostgreSQL) GET /api/v1/authorize for every INVITE and POSTs each call's CDR when it ends.
Reports the calls placed, answered, authorized (Kamailio's log), rated (the CDR table), the
authorization's and the CDR batches' round trip as Kamailio timed them (p50/p99/max), and
whether the ledger balances afterwards (every currency's postings sum to zero, every cached
balance is the sum of its postings, the call credits lost exactly what their CDRs charged).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/sip_load.py [--rate 50] [--seconds 60] [--hold-ms 2000] \\
        [--accounts 100] [--workers 2] [--threads 4] [--database bt_bench_sip]

The database is dropped and made again on that server (authorize.py's seed). Needs Debian's
kamailio, kamailio-utils-modules and sip-tester. Traffic stays on 127.0.0.1. Not part of the
test suite. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import api_reads  # noqa: E402
import authorize  # noqa: E402

from tests.sip.conftest import (  # noqa: E402
    INTEGRATION,
    SIPP,
    _missing,
    free_port,
    kamailio_start,
    stop,
    uas_start,
)


def _percentiles(values: list[int]) -> str:
    if not values:
        return "none"
    ms = sorted(v / 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"


def _sipp_count(output: str, counter: str) -> int:
    found = re.findall(rf"{counter}\s*\|[^|]*\|\s*(\d+)", output)
    return int(found[-1]) if found else -1


def _ledger_report(account_ids: list[int], credit: str) -> tuple[bool, dict]:
    from decimal import Decimal

    from django.db.models import Sum

    from billtone.ledger.models import LedgerAccount, Posting
    from billtone.rating.cdr_models import Cdr

    by_currency = Posting.objects.values("ledger_account__currency").annotate(s=Sum("amount"))
    zero_sum = all(row["s"] == 0 for row in by_currency)
    sums = dict(Posting.objects.values_list("ledger_account").annotate(s=Sum("amount")).order_by())
    cached = all(ledger.balance == sums.get(ledger.pk, 0) for ledger in LedgerAccount.objects.all())
    credits = LedgerAccount.objects.filter(
        account_id__in=account_ids, kind=LedgerAccount.Kind.CALL_CREDIT
    ).aggregate(s=Sum("balance"))["s"]
    charged = Cdr.objects.aggregate(s=Sum("charged"))["s"] or Decimal(0)
    spent = Decimal(credit) * len(account_ids) - credits
    return zero_sum and cached and spent == charged, {
        "postings sum to zero per currency": zero_sum,
        "cached balances = their postings": cached,
        "call credit spent": spent,
        "CDRs charged": charged,
    }


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--hold-ms", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--kamailio-workers", type=int, default=8)
    parser.add_argument("--database", default="bt_bench_sip")
    args = parser.parse_args()
    if _missing():
        sys.exit(_missing())
    if not (0 < args.rate <= 500 and 0 < args.seconds <= 600):
        sys.exit("--rate up to 500, --seconds up to 600.")
    admin_url = os.environ.get("DATABASE_URL", "")
    parts = urlparse(admin_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("This benchmark only talks to a PostgreSQL server on this machine.")
    authorize.DB_NAME = args.database
    bench_url = urlunparse(parts._replace(path=f"/{args.database}"))
    print(f"Seeding {args.accounts} accounts in {args.database} ...", flush=True)
    secret, ids = authorize._prepare(admin_url, bench_url, accounts=args.accounts)

    env = dict(os.environ)
    env.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        BILLTONE_DEBUG="0",
        BILLTONE_SECRET_KEY=secrets.token_urlsafe(50),
        BILLTONE_HTTPS="0",
        BILLTONE_STATIC_MANIFEST="1",
        BILLTONE_DB_POOL_SIZE=str(args.threads),
    )
    port = api_reads._free_port()
    command = api_reads.server_command(
        bind=f"127.0.0.1:{port}", workers=args.workers, threads=args.threads
    )
    api_reads.START_TIMEOUT_S = 600.0  # collectstatic is slow on a busy shared machine
    server = api_reads.Server("sip_load", command, env, port)
    folder = Path(tempfile.mkdtemp(prefix="sip_load."))
    calls = args.rate * args.seconds
    # Caller and number per call, in turn (sipp's -inf: [field0], [field1]).
    numbers = [n.replace(" ", "") for n in authorize.DESTINATIONS]
    (folder / "calls.csv").write_text(
        "SEQUENTIAL\n"
        + "".join(f"{ids[i % len(ids)]}-100;{numbers[i % 3]};\n" for i in range(calls))
    )
    scenario = (INTEGRATION / "sipp" / "call.xml").read_text()
    scenario = scenario.replace("[caller]", "[field0]").replace("[service]", "[field1]")
    (folder / "call_load.xml").write_text(scenario)
    uas = kamailio = None
    try:
        server.wait_ready(
            f"/api/v1/authorize?account={ids[0]}&destination=112",
            {"Authorization": f"Bearer {secret}"},
        )
        uas, uas_port = uas_start(folder)
        kamailio, kamailio_port, log = kamailio_start(
            folder,
            billtone_url=f"http://127.0.0.1:{port}",
            token=secret,
            upstream_port=uas_port,
            workers=args.kamailio_workers,
        )
        load_before = os.getloadavg()
        started = time.monotonic()
        import subprocess

        done = subprocess.run(  # noqa: S603
            [
                str(SIPP),
                f"127.0.0.1:{kamailio_port}",
                "-sf",
                str(folder / "call_load.xml"),
                "-inf",
                str(folder / "calls.csv"),
                "-r",
                str(args.rate),
                "-m",
                str(calls),
                "-l",
                str(calls),
                "-d",
                str(args.hold_ms),
                "-i",
                "127.0.0.1",
                "-p",
                str(free_port()),
                "-mp",
                str(free_port()),
                "-timeout",
                f"{args.seconds + 120}s",
                "-nostdin",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        output = done.stdout + done.stderr
        (folder / "sipp.log").write_text(output)
        from billtone.rating.cdr_models import Cdr

        deadline = time.monotonic() + 60
        answered = _sipp_count(output, "Successful call")
        while Cdr.objects.count() < answered and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for process in (kamailio, uas):
            if process is not None:
                stop(process)
        server.stop()

    text = log.read_text(errors="replace")
    asked = re.findall(r"billtone authorize .*? rc=(\d+) allowed=(\w+) .*? us=(-?\d+)", text)
    posted = re.findall(r"billtone cdrs rc=(\d+) us=(-?\d+)", text)
    queued = text.count("billtone cdr queued ")
    rated = Cdr.objects.filter(status="rated").count()
    balanced, ledger = _ledger_report(ids, "100000")
    print(f"\nKamailio log and sipp output: {folder}")
    print(
        f"{args.rate} calls/s for {args.seconds} s ({elapsed:.0f} s), calls held {args.hold_ms} ms"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(
        f"placed {_sipp_count(output, 'Total Calls created')}, answered {answered}, "
        f"failed {_sipp_count(output, 'Failed call')}"
    )
    print(
        f"authorized {sum(a[1] == 'true' for a in asked)} of {len(asked)} asked "
        f"(HTTP 200: {sum(a[0] == '200' for a in asked)}); "
        f"{_percentiles([int(a[2]) for a in asked])}"
    )
    print(
        f"CDRs queued {queued}, posted in {len(posted)} requests "
        f"(HTTP 200: {sum(p[0] == '200' for p in posted)}); "
        f"{_percentiles([int(p[1]) for p in posted])}"
    )
    print(
        f"CDRs stored {Cdr.objects.count()}, rated {rated}, "
        f"credit short {Cdr.objects.filter(credit_short=True).count()}"
    )
    print(f"ledger balances: {balanced} {ledger}")


if __name__ == "__main__":
    main()
