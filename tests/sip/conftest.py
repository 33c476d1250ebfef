"""A real SIP switch in the call path: Billtone served on loopback, Debian's Kamailio with
integrations/kamailio/kamailio.cfg in front of a sipp UAS (the "upstream switch"), and sipp UACs
placing calls through it (issue 20, decision 0030).

Every test here is marked `sip` and skipped when /usr/sbin/kamailio (with http_client, from
kamailio-utils-modules) or /usr/bin/sipp (sip-tester) is missing; scripts/install.sh --dev
installs them. Billtone is served by Django's live server thread on the test database: one
thread at a time on SQLite (the in-memory test database is one shared connection), a thread
per request on PostgreSQL, where the concurrent authorizations are really concurrent.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "integrations" / "kamailio"
KAMAILIO = Path("/usr/sbin/kamailio")
SIPP = Path("/usr/bin/sipp")
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


def pytest_collection_modifyitems(config, items):
    """Run these after every other test but the browser tests (tests/e2e runs those last): a
    live server needs a transactional database, whose flush empties the rows migrations made
    (the emergency numbers), and no ORM call may follow a browser test on a worker."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("e2e") is not None,
            item.get_closest_marker("sip") is not None,
        )
    )


def _missing() -> str:
    if not KAMAILIO.exists() or not SIPP.exists():
        return f"{KAMAILIO} or {SIPP} is missing: install Debian's kamailio and sip-tester"
    if not (MODULES / "http_client.so").exists():
        return f"{MODULES}/http_client.so is missing: install Debian's kamailio-utils-modules"
    return ""


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@contextmanager
def billtone_serving(port: int = 0):
    """Billtone on a loopback port (a free one by default), on the test database; yields its
    base URL."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import WSGIServer
    from django.db import connections
    from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

    from billtone.rating import selectors

    selectors._TABLES.clear()  # a flushed database gives a deck's id again
    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}

    class Thread(LiveServerThread):
        def _create_server(self, connections_override=None):
            if not shared:
                return super()._create_server(connections_override)
            return WSGIServer((self.host, self.port), QuietWSGIRequestHandler)

    thread = Thread("127.0.0.1", StaticFilesHandler, connections_override=shared, port=port)
    thread.daemon = True
    for connection in shared.values():
        connection.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        for connection in shared.values():
            connection.dec_thread_sharing()


@pytest.fixture
def billtone_url(transactional_db):
    with billtone_serving() as url:
        yield url


@pytest.fixture
def operator_token(transactional_db) -> str:
    from django.contrib.auth import get_user_model

    from billtone.accounts.services import operator_token_create

    staff = get_user_model().objects.create_user("switch", password=None, is_staff=True)
    return operator_token_create(user=staff, name="kamailio").secret


@dataclass
class Placed:
    """What one sipp UAC run did: its exit status (0: every call went as its scenario
    says), its seconds on the clock and its output."""

    returncode: int
    seconds: float
    output: str


@dataclass
class Switch:
    port: int
    folder: Path
    log: Path

    def call(
        self,
        scenario: str,
        *,
        caller: str,
        destination: str,
        calls: int = 1,
        rate: int = 10,
        hold_ms: int = 1000,
        timeout_s: int = 30,
    ) -> Placed:
        """Place `calls` calls with a sipp UAC scenario of integrations/kamailio/sipp, all at
        once up to `rate` per second."""
        command = [
            str(SIPP),
            f"127.0.0.1:{self.port}",
            "-sf",
            str(INTEGRATION / "sipp" / scenario),
            "-s",
            destination,
            "-key",
            "caller",
            caller,
            "-m",
            str(calls),
            "-l",
            str(calls),
            "-r",
            str(rate),
            "-d",
            str(hold_ms),
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-mp",
            str(free_port()),
            "-timeout",
            f"{timeout_s}s",
            "-timeout_error",
            "-nostdin",
        ]
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=timeout_s + 15
        )
        return Placed(done.returncode, time.monotonic() - started, done.stdout + done.stderr)

    def wait_logged(self, text: str, timeout_s: float = 10) -> bool:
        """Whether Kamailio logs `text` within `timeout_s` seconds."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def logged(self, word: str) -> list[dict[str, str]]:
        """Kamailio's `billtone <word> key=value ...` log lines, as dicts."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            _, marker, rest = line.partition(f"billtone {word} ")
            if marker:
                found.append(dict(p.split("=", 1) for p in rest.split(" ") if "=" in p))
        return found


def kamailio_start(
    folder: Path, *, billtone_url: str, token: str, upstream_port: int, workers: int = 4
) -> tuple[subprocess.Popen, int, Path]:
    """Kamailio with the integration's cfg on a free loopback port; returns it, the port and
    its log (stderr)."""
    port = free_port()
    log = folder / "kamailio.log"
    run = folder / "run"
    run.mkdir(exist_ok=True)
    command = [
        str(KAMAILIO),
        "-DD",
        "-E",
        "-f",
        str(INTEGRATION / "kamailio.cfg"),
        "-L",
        str(MODULES),
        "-Y",
        str(run),
        "-P",
        str(run / "kamailio.pid"),
        "-m",
        "64",
        "-A",
        f"LISTEN=udp:127.0.0.1:{port}",
        "-A",
        f'UPSTREAM="127.0.0.1:{upstream_port}"',
        "-A",
        f'BILLTONE_URL="{billtone_url}"',
        "-A",
        f"WORKERS={workers}",
    ]
    env = {**os.environ, "BILLTONE_TOKEN": token}
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 20
    while not _bound(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Kamailio did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    return process, port, log


def uas_start(folder: Path, scenario: str = "uas.xml") -> tuple[subprocess.Popen, int]:
    """The upstream switch: sipp with a scenario of sipp/ on a free loopback port."""
    port = free_port()
    with (folder / "uas.log").open("w") as out:
        process = subprocess.Popen(
            [
                str(SIPP),
                "-sf",
                str(INTEGRATION / "sipp" / scenario),
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
                "-nostdin",
            ],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 10
    while not _bound(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"sipp UAS did not start:\n{(folder / 'uas.log').read_text()}")
        time.sleep(0.05)
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def switch_running(folder: Path, *, billtone_url: str, token: str, uas: str = "uas.xml"):
    """Kamailio in front of a sipp UAS (`uas`: its scenario), asking Billtone at
    `billtone_url`."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    uas, uas_port = uas_start(folder, uas)
    try:
        kamailio, port, log = kamailio_start(
            folder, billtone_url=billtone_url, token=token, upstream_port=uas_port
        )
    except Exception:
        stop(uas)
        raise
    try:
        yield Switch(port=port, folder=folder, log=log)
    finally:
        stop(kamailio)
        stop(uas)
        if os.environ.get("BILLTONE_SIP_KEEP_LOGS"):
            shutil.copytree(folder, ROOT / "test-artifacts" / folder.name, dirs_exist_ok=True)


@pytest.fixture
def switch(billtone_url, operator_token, tmp_path):
    """Kamailio in front of a sipp UAS, asking the live Billtone."""
    with switch_running(tmp_path, billtone_url=billtone_url, token=operator_token) as running:
        yield running
