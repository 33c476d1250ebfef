"""Take the README's screenshot of the Billing panel: docs/img/billing-panel.png.

Starts the development server on a throwaway SQLite database with the demo data, logs in as
the Acme owner in Debian's chromium and saves the overview page twice: on a desktop (1280x800,
OUTPUT) and on a phone (390x844, OUTPUT with "-phone" before its suffix), where the sidebar is a
menu.

    .venv/bin/python scripts/readme_screenshot.py [OUTPUT.png]
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOGIN, PASSWORD = "owner@acme.example", "billtone-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"{log.read_text()}\nthe development server stopped ({server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the development server did not answer on port {port}")


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "billing-panel.png"
    phone = output.with_name(f"{output.stem}-phone{output.suffix}")
    with tempfile.TemporaryDirectory(prefix="billtone-screenshot-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "BILLTONE_DEBUG": "1",
            "BILLTONE_LOG_LEVEL": "WARNING",
        }
        # The commands are this repository's own manage.py with fixed arguments.
        subprocess.run(manage("migrate", "--noinput", "-v", "0"), env=env, check=True)  # noqa: S603
        subprocess.run(manage("demo"), env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        port = free_port()
        log = Path(tmp) / "server.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(  # noqa: S603
                manage("runserver", f"127.0.0.1:{port}", "--noreload"),
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(port, server, log)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(
                    base_url=f"http://127.0.0.1:{port}", viewport={"width": 1280, "height": 800}
                )
                page.goto("/login/")
                page.fill("#id_username", LOGIN)
                page.fill("#id_password", PASSWORD)
                page.click("main form button[type=submit]")
                expect(page.get_by_role("heading", name="Billing panel")).to_be_visible()
                page.wait_for_load_state("networkidle")
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=output)
                page.set_viewport_size({"width": 390, "height": 844})
                page.reload(wait_until="networkidle")
                page.screenshot(path=phone)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(output, phone)


if __name__ == "__main__":
    main()
