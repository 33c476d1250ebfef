"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server
(and, in test_production_server.py, against `billtone serve`).

Every test here is marked `e2e` and uses the `page` fixture: a fresh browser context (own
cookies) on a session-wide chromium, with relative URLs resolved against the live server. A
JavaScript error, an HTTP 5xx or a Content-Security-Policy violation on any page fails the test.
`login(page, email, password)` logs in through the real form; `shot(name)` saves a full-page
screenshot to test-artifacts/<test>/<NN>-<name>.png. A test that fails also leaves
`failure.png` there.
"""

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
OWNER_PASSWORD = "correct horse battery"  # what conftest.make_account gives every owner


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last on every worker.

    While Playwright's sync API is started, the main thread has a running asyncio loop: Django
    refuses ORM calls there without DJANGO_ALLOW_ASYNC_UNSAFE, and asyncio.run() fails. The
    browser lives for the rest of the session, so no other test may come after it. pytest-xdist
    hands each worker its tests in collection order, so moving them to the end is enough.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def artifacts(request) -> Path:
    """This test's screenshot folder, emptied first."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    folder = request.config.rootpath / "test-artifacts" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# Reports every Content-Security-Policy violation of the page (the browser's own event) to the
# test; init scripts are the browser's, not the page's, so the policy does not block this one.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.documentURI} (${event.sourceFile || ""}:${event.lineNumber})`
    + ` ${event.sample || ""}`
  );
}, true);
"""


@contextmanager
def browser_page(browser, base_url: str, request, artifacts):
    """A page in a fresh context; fails the test on a JavaScript error, an HTTP 5xx or a
    Content-Security-Policy violation."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    problems: list[str] = []
    context.expose_function(
        "reportCspViolation", lambda text: problems.append(f"CSP violation: {text}")
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"CSP violation: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} from {response.url}")
            if response.status >= 500
            else None
        ),
    )
    yield page
    if getattr(request.node, "e2e_failed", False):
        page.screenshot(path=artifacts / "failure.png", full_page=True)
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser, live_server, transactional_db, request, artifacts):
    """A page on pytest-django's live server (see browser_page)."""
    with browser_page(browser, live_server.url, request, artifacts) as page:
        yield page


def screenshotter(page, artifacts: Path):
    """take(name) saves a full-page screenshot of what the page shows now."""
    taken = 0

    def take(name: str) -> Path:
        nonlocal taken
        taken += 1
        path = artifacts / f"{taken:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def shot(page, artifacts):
    """shot(name) saves a full-page screenshot of what the page shows now."""
    return screenshotter(page, artifacts)


@pytest.fixture
def login():
    """login(page, email, password) posts the login form; returns the POST's response.

    Its status tells what happened: 302 logged in, 200 refused, 429 locked out.
    """

    def log_in(page, user_email: str, password: str = OWNER_PASSWORD):
        page.goto("/login/")
        page.fill("#id_username", user_email)
        page.fill("#id_password", password)
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/login/")
        ) as posted:
            page.click("main form button[type=submit]")
        page.wait_for_load_state()
        return posted.value

    return log_in


STAFF_PASSWORD = "operator-password-1"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def staff(page):
    """Operator staff (a superuser) logged in to the back office through its login form."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser(
        "operator", "staff@billtone.example", STAFF_PASSWORD
    )
    page.goto("/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return user
