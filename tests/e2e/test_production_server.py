"""The product as deployed: `billtone serve` (gunicorn, DEBUG off, static files through
WhiteNoise, the Content-Security-Policy on), driven in chromium through the customer's and the
operator's main pages.

The server is the real command in its own processes, on its own database (a file for SQLite, a
fresh database on the suite's PostgreSQL server), filled by `billtone migrate` and
`billtone demo`. The page fixture fails the test on any CSP violation.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import browser_page, screenshotter

pytestmark = pytest.mark.e2e

BILLTONE = [sys.executable, "-c", "import sys; from billtone.cli import main; sys.exit(main())"]
DEMO_PASSWORD = "billtone-demo"
WORKERS, THREADS = 2, 2
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_connection(parsed: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=parsed["HOST"] or None,
        port=parsed["PORT"] or None,
        user=parsed["USER"] or None,
        password=parsed["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture(scope="module")
def serve_database(tmp_path_factory):
    """A database of its own for the server: (DATABASE_URL, PostgreSQL settings or None)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp('serve') / 'billtone.sqlite3'}", None
        return
    parsed = dj_database_url.parse(url)
    name = f"{parsed['NAME']}_serve_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with _admin_connection(parsed) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}", {**parsed, "NAME": name}
    with _admin_connection(parsed) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SERVED: dict[str, int] = {}


@pytest.fixture(scope="module")
def production_server(serve_database, tmp_path_factory):
    """`billtone serve` on a free port with the demo data; yields its base URL."""
    database_url, _ = serve_database
    folder = tmp_path_factory.mktemp("served")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BILLTONE_", "DJANGO_"))
    }
    env.update(
        DATABASE_URL=database_url,
        BILLTONE_STATIC_ROOT=str(folder / "static"),
        BILLTONE_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    cwd = Path(__file__).resolve().parents[2]
    for command in (["migrate", "--noinput", "-v", "0"], ["demo"]):
        subprocess.run(BILLTONE + command, env=env, cwd=cwd, check=True, capture_output=True)
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [*BILLTONE, "serve", f"--bind=127.0.0.1:{port}", f"--workers={WORKERS}"]
        + [f"--threads={THREADS}"],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # collectstatic compresses every file: slow under load
    while True:
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=5)  # noqa: S310
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"billtone serve did not start:\n{(folder / 'server.log').read_text()}")
            time.sleep(0.5)
    SERVED["master"] = server.pid  # `billtone serve` became gunicorn's master in place
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture
def served_page(browser, production_server, request, artifacts):
    with browser_page(browser, production_server, request, artifacts) as page:
        yield page


def _log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).to_have_url("/")


def test_customer_and_operator_pages_under_the_production_server(
    served_page, serve_database, artifacts
):
    page = served_page
    shot = screenshotter(page, artifacts)
    # DEBUG is off: a missing page is our own 404, not Django's technical page.
    missing = page.goto("/no-such-page/")
    assert missing.status == 404 and "URLconf" not in page.content()
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    # Static files come from WhiteNoise: hashed names, cached for good, compressed.
    page.goto("/login/")
    stylesheet = page.locator("link[rel=stylesheet]").first.get_attribute("href")
    assert re.fullmatch(r"/static/web/billtone\.[0-9a-f]{12}\.css", stylesheet)
    css = page.request.get(stylesheet, headers={"Accept-Encoding": "gzip"})
    assert css.ok and "immutable" in css.headers["cache-control"]
    assert css.headers.get("content-encoding") == "gzip"
    document = page.request.get("/login/")
    policy = document.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy

    # The customer: htmx swaps, the QR code (a data: image), the print script.
    _log_in(page, "owner@acme.example")
    expect(page.get_by_role("heading", name="Billing panel")).to_be_visible()
    shot("overview")
    page.goto("/billing/profile/")
    page.fill("#id_city", "Wien")
    page.click("#save-profile")
    expect(page.get_by_role("status")).to_have_text("Billing profile saved.")
    shot("profile-saved")
    page.goto("/billing/balances/")
    expect(page.get_by_role("heading", name="Balances")).to_be_visible()
    shot("balances")
    page.goto("/billing/payment-methods/bank-transfer/")
    page.locator("#id_custom_amount").fill("75")
    expect(page.get_by_label("Other amount", exact=True)).to_be_checked()  # banktransfers.js
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Bank Transfer Instructions")).to_be_visible()
    expect(page.locator("#epc-qr img")).to_have_js_property("complete", True)
    assert page.locator("#epc-qr img").evaluate("img => img.naturalWidth") > 0
    shot("instructions")
    page.set_viewport_size(PHONE)
    shot("instructions-phone")
    page.goto("/")
    shot("overview-phone")
    page.goto("/billing/payment-methods/")
    shot("payment-methods-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/billing/payment-methods/top-up/")
    expect(page.locator("form").first).to_be_visible()
    shot("top-up")
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    shot("api-docs")

    # The operator's back office.
    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    shot("admin-index")
    for path in (
        "/admin/reconciliation/bankentry/",
        "/admin/banktransfers/banktransfer/",
        "/admin/reconciliation/statementimport/upload/",
        "/admin/accounts/account/",
        "/admin/auth/user/add/",
        "/admin/ledger/transaction/",
    ):
        assert page.goto(path).ok, path
    page.goto("/admin/accounts/account/")
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("#content-main form")).to_be_visible()
    shot("admin-account")

    # Connections stay within workers x threads (each worker's pool holds at most --threads).
    _, postgres = serve_database
    if postgres:
        with _admin_connection(postgres) as admin:
            (connections,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [postgres["NAME"]]
            ).fetchone()
        assert 0 < connections <= WORKERS * THREADS


def test_the_preloading_master_holds_no_database_connection(production_server, serve_database):
    """gunicorn's master loads the app once (--preload) and forks the workers from it: a
    connection or a database file it opened would be shared by every worker after the fork."""
    import psutil

    for _ in range(10):  # reads that reach the database (a token lookup), on either worker
        request = urllib.request.Request(
            f"{production_server}/api/v1/balances",
            headers={"Authorization": "Bearer bt_nosuchprefix_secret"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        assert refused.value.code == 401
    master = psutil.Process(SERVED["master"])
    workers = master.children()
    assert len(workers) == WORKERS
    database_url, postgres = serve_database
    if postgres is not None:
        port = int(postgres["PORT"] or 5432)
        assert [c for c in master.net_connections("tcp") if c.raddr and c.raddr.port == port] == []
        # while the workers that served the pages hold theirs
        served = [c for w in workers for c in w.net_connections("tcp") if c.raddr]
        assert any(c.raddr.port == port for c in served)
    else:
        database = database_url.removeprefix("sqlite:///")
        assert database not in [f.path for f in master.open_files()]
