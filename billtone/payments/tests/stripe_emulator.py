"""localstripe, run as a subprocess for the tests (localstripe_server.py explains the few
changes it needs), and a Stripe HTTP client that records what the gateway sends."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import stripe

API_KEY = "sk_test_billtone"
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def localstripe_running(log_path: Path) -> Iterator[str]:
    """localstripe on a free port, from scratch; yields its base URL."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "billtone.payments.tests.localstripe_server",
                "--port",
                str(port),
                "--from-scratch",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    probe = urllib.request.Request(
        f"{base}/v1/customers", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"localstripe exited: {log_path.read_text()}")
            try:
                with urllib.request.urlopen(probe, timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    log = log_path.read_text()
                    raise RuntimeError(f"localstripe did not answer: {log}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


class RecordingClient(stripe.RequestsClient):
    """Stripe's own HTTP client, noting each request's method, URL and headers."""

    def __init__(self, *, lose_answer_to: str = ""):
        super().__init__()
        self.recorded: list[tuple[str, str, dict[str, str]]] = []
        self.lose_answer_to = lose_answer_to

    def request(self, method, url, headers, post_data=None):
        self.recorded.append((method.upper(), url, dict(headers or {})))
        answer = super().request(method, url, headers, post_data)
        if self.lose_answer_to and method.upper() == "POST" and url.endswith(self.lose_answer_to):
            # Stripe did the work; the answer never reaches us (timeout, process death).
            raise stripe.APIConnectionError("connection reset after the request was sent")
        return answer
