"""API reads through the production server at a fixed rate, beside a hello-world floor.

GET /api/v1/balances and GET /api/v1/billing-profile, alternately, each with a customer's
bearer token (one of --accounts seeded accounts in turn), are sent open-loop at --rate
requests/s for --seconds: request i is due at start + i/rate whether or not earlier ones have
answered, and its latency is counted from that due time (so a stalled server is not hidden
by a client that waits for it). In the same round and on the same gunicorn configuration, a
hello-world WSGI app (`hello` below) gets the same load: the floor of server, client and
machine. Each round reports p50/p99/max latency, errors, the ratio to the floor, the
server's CPU per request it answered (master and workers, from psutil: Python CPU; answers
counted in its access log), the client's own CPU,
and the most PostgreSQL connections the server held (pg_stat_activity, sampled every 0.2 s).

The app server is `billtone serve` (`server_command`); the floor runs on gunicorn with the
very flags serve passes (`gunicorn_command`, docs/decisions/0012-production-server.md).
Not part of the test suite; needs the dev install (aiohttp comes with localstripe, psutil
and gunicorn). Results: docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/api_reads.py [--rounds 3] [--rate 200] [--seconds 20] \\
        [--workers 2] [--threads 4] [--accounts 100] [--reuse-db] [--code DIR]

The database bt_bench_reads is dropped and made again on that server (kept with
--reuse-db). Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DB_NAME = "bt_bench_reads"
PATHS = ["/api/v1/balances", "/api/v1/billing-profile"]
TARGET_P99_MS = 25.0
REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 120.0


def hello(environ, start_response):
    """The floor: a WSGI app that does nothing (gunicorn imports only this module's stdlib)."""
    body = b'{"hello": "world"}'
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def server_command(*, bind: str, workers: int, threads: int) -> list[str]:
    """THE place that says how the app server starts: `billtone serve`, as in production."""
    return [
        str(Path(sys.executable).with_name("billtone")),
        "serve",
        f"--bind={bind}",
        f"--workers={workers}",
        f"--threads={threads}",
    ]


def _gunicorn(app: str, *, bind: str, workers: int, threads: int) -> list[str]:
    """Another WSGI app on gunicorn exactly as `billtone serve` runs it (the floor, --code)."""
    from billtone.web.management.commands.serve import gunicorn_command

    return gunicorn_command(app, bind=bind, workers=workers, threads=threads)


# --- the database -------------------------------------------------------------------------


def _database_url(admin_url: str) -> str:
    parts = urlparse(admin_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (postgres://...).")
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("This benchmark only talks to a PostgreSQL server on this machine.")
    return urlunparse(parts._replace(path=f"/{DB_NAME}"))


def _prepare_database(admin_url: str, bench_url: str, *, accounts: int, reuse: bool) -> list[str]:
    """Migrate and seed the benchmark database; the customers' token secrets."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and not reuse:
            admin.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        if not exists or not reuse:
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')

    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from billtone.accounts.models import Account, ApiToken
    from billtone.accounts.services import account_create, api_token_create
    from billtone.core.services import Actor
    from billtone.ledger.services import customer_ledger_accounts

    call_command("migrate", verbosity=0)
    # Tokens are stored hashed: a rerun issues new ones, for the accounts already there too.
    ApiToken.objects.filter(name="bench").delete()
    for n in range(Account.objects.count(), accounts):
        account_create(
            name=f"Bench customer {n}",
            owner_email=f"owner{n}@bench{n}.example",
            owner_password=None,
            currency="EUR",
            timezone="Europe/Berlin",
        )
    secrets_ = []
    for account in Account.objects.order_by("id")[:accounts]:
        customer_ledger_accounts(account=account)
        owner = account.memberships.select_related("user", "account").get(role="owner")
        issued = api_token_create(membership=owner, name="bench", actor=Actor.system("bench"))
        secrets_.append(issued.secret)
    connections.close_all()
    return secrets_


class ConnectionSampler:
    """The most connections to the benchmark database, sampled every 0.2 s in a thread."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.wait(0.2):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
                ).fetchone()
                self.peak = max(self.peak, count)


# --- the servers --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int):
        self.name, self.port = name, port
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(ARTIFACTS / f"api_reads.{name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def served(self) -> int:
        """Requests the server has answered (its access log's lines), timed out ones too."""
        with open(self.log.name, "rb") as log:
            return sum(b'" ' in line and b"HTTP/1." in line for line in log)

    def cpu_seconds(self) -> float:
        """CPU used by the master, its live workers and the workers it has reaped."""
        import psutil

        master = psutil.Process(self.process.pid)
        times = master.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in master.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += child_times.user + child_times.system
        return total

    def wait_ready(self, path: str, headers: dict[str, str]) -> None:
        import urllib.request

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} server exited; see {self.log.name}")
            request = urllib.request.Request(  # noqa: S310
                f"http://127.0.0.1:{self.port}{path}", headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        sys.exit(f"{self.name} server did not answer within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- the load -----------------------------------------------------------------------------


async def _load(port: int, requests: list[tuple[str, dict]], rate: float) -> list[float | None]:
    """Send requests[i] at start + i/rate; each one's latency from that time (None: failed)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    results: list[float | None] = [None] * len(requests)
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)

    async def one(i: int, path: str, headers: dict, due: float) -> None:
        try:
            async with session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp:
                await resp.read()
                if resp.status == 200:
                    results[i] = loop.time() - due
        except (aiohttp.ClientError, TimeoutError):
            pass

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = loop.time() + 0.05
        tasks = []
        for i, (path, headers) in enumerate(requests):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, path, headers, due)))
        await asyncio.gather(*tasks)
    return results


def run_load(server: Server, requests: list[tuple[str, dict]], rate: float) -> dict:
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    served_before = server.served()
    wall_before = time.monotonic()
    results = asyncio.run(_load(server.port, requests, rate))
    wall = time.monotonic() - wall_before
    server_cpu = server.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_before
    time.sleep(1)  # the access log lines of the last answers
    served = server.served() - served_before
    latencies = sorted(r * 1000 for r in results if r is not None)
    if not latencies:
        sys.exit(f"every request to the {server.name} server failed; see {server.log.name}")
    return {
        "requests": len(results),
        "errors": sum(r is None for r in results),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "served": served,
        "server_cpu_ms": server_cpu / max(served, 1) * 1000,
        "client_cpu_pct": client_cpu / wall * 100,
        "achieved_rate": len(results) / wall,
    }


def _line(label: str, r: dict, floor: dict | None = None) -> str:
    ratio = f"  p99 x{r['p99'] / floor['p99']:.1f} of floor" if floor else ""
    return (
        f"  {label:6} p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  max {r['max']:8.2f} ms  "
        f"errors {r['errors']}/{r['requests']}  served {r['served']}  "
        f"server CPU {r['server_cpu_ms']:.2f} ms/req  "
        f"client CPU {r['client_cpu_pct']:.0f} %{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument(
        "--code",
        type=Path,
        help="serve another checkout's code (e.g. `git archive main` unpacked) with this venv",
    )
    args = parser.parse_args()
    if not (0 < args.rate <= 2000 and 0 < args.seconds <= 120 and 0 < args.rounds <= 20):
        sys.exit("--rate up to 2000, --seconds up to 120, --rounds up to 20.")

    admin_url = os.environ.get("DATABASE_URL", "")
    bench_url = _database_url(admin_url)
    print(f"Seeding {args.accounts} accounts in {DB_NAME} ...", flush=True)
    tokens = _prepare_database(admin_url, bench_url, accounts=args.accounts, reuse=args.reuse_db)

    env = dict(os.environ)
    env.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        BILLTONE_DEBUG="0",
        BILLTONE_SECRET_KEY=secrets.token_urlsafe(50),
        BILLTONE_HTTPS="0",  # plain HTTP on 127.0.0.1, as behind a proxy that ends TLS
        # What `billtone serve` sets for its workers (no effect where the setting is absent).
        BILLTONE_STATIC_MANIFEST="1",
        BILLTONE_DB_POOL_SIZE=str(args.threads),
    )
    flags = {"workers": args.workers, "threads": args.threads}
    app_port, floor_port = _free_port(), _free_port()
    app_cmd = server_command(bind=f"127.0.0.1:{app_port}", **flags)
    floor_cmd = _gunicorn("api_reads:hello", bind=f"127.0.0.1:{floor_port}", **flags)
    floor_cmd.insert(4, f"--pythonpath={ROOT / 'bench'}")
    print("app:   " + " ".join(app_cmd[1:]))
    print("floor: " + " ".join(floor_cmd[1:]), flush=True)

    count = int(args.rate * args.seconds)
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    app_requests = [(PATHS[i % len(PATHS)], auth[(i // 2) % len(auth)]) for i in range(count)]
    floor_requests = [("/", {}) for _ in range(count)]
    warmup = max(1, int(args.rate * 2))

    app_env = env
    if args.code:
        code = args.code.resolve()
        app_env = {**env, "PYTHONPATH": str(code)}
        app_cmd = _gunicorn("config.wsgi:application", bind=f"127.0.0.1:{app_port}", **flags)
        app_cmd.insert(4, f"--chdir={code}")
        print(f"app code from {code}: gunicorn directly")
    app = Server("app", app_cmd, app_env, app_port)
    floor = Server("floor", floor_cmd, env, floor_port)
    rows = []
    try:
        app.wait_ready(PATHS[0], auth[0])
        floor.wait_ready("/", {})
        run_load(app, app_requests[:warmup], args.rate)  # every worker connected and warm
        run_load(floor, floor_requests[:warmup], args.rate)
        for n in range(1, args.rounds + 1):
            floor_result = run_load(floor, floor_requests, args.rate)
            with ConnectionSampler(admin_url) as sampler:
                app_result = run_load(app, app_requests, args.rate)
            app_result["connections"] = sampler.peak
            print(f"round {n}: {count} requests at {args.rate:.0f}/s", flush=True)
            print(_line("floor", floor_result))
            print(_line("app", app_result, floor_result))
            print(f"         most PostgreSQL connections held: {sampler.peak}", flush=True)
            rows.append((floor_result, app_result))
    finally:
        app.stop()
        floor.stop()

    def med(side: int, key: str) -> float:
        return statistics.median(row[side][key] for row in rows)

    ratios = [app["p99"] / floor["p99"] for floor, app in rows]
    print(f"\nmedians of {len(rows)} rounds ({args.workers} workers x {args.threads} threads):")
    print("| | p50 ms | p99 ms | max ms | errors | server CPU ms/req | client CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for side, label in ((0, "hello-world floor"), (1, "GET balances + billing-profile")):
        print(
            f"| {label} | {med(side, 'p50'):.2f} | {med(side, 'p99'):.2f} | "
            f"{med(side, 'max'):.1f} | {sum(row[side]['errors'] for row in rows)} | "
            f"{med(side, 'server_cpu_ms'):.2f} | {med(side, 'client_cpu_pct'):.0f} % |"
        )
    print(
        f"p99 ratio to the floor (median of rounds): {statistics.median(ratios):.1f}; "
        f"most PostgreSQL connections: {max(r[1]['connections'] for r in rows)} "
        f"(bound: workers x threads = {args.workers * args.threads})"
    )
    met = med(1, "p99") < TARGET_P99_MS and not any(row[1]["errors"] for row in rows)
    print(f"target p99 < {TARGET_P99_MS:.0f} ms with 0 errors: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
