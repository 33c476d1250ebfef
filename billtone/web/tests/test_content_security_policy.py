"""Every page sends a Content-Security-Policy, and no page needs inline code to work under it.

The browser tests (tests/e2e) check the same in chromium: no violation on any page they visit.
"""

import re

from django.urls import URLResolver, get_resolver

from billtone.banktransfers.tests.funding import operator_banks_save

# Inline code the policy forbids: <script> without src (JSON data blocks are not code),
# <style>, style="" and on*="" attributes.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
    r"|<style[\s>]"
    r"|\sstyle=[\"']"
    r"|\son[a-z]+=[\"']",
    re.IGNORECASE,
)


def plain_paths(patterns=None, prefix: str = ""):
    """Every URL of the site that takes no parameter, e.g. /billing/profile/, /admin/."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from plain_paths(pattern.url_patterns, route)
        elif not re.search(r"[<^$()\[\]?*+\\]", route):
            yield "/" + route


def assert_policy(path: str, response) -> None:
    policy = response.get("Content-Security-Policy", "")
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in policy.split(";")) if part
    )
    assert directives.get("script-src") == "'self'", (path, policy)
    assert directives.get("style-src") == "'self'", (path, policy)
    assert directives.get("object-src") == "'none'", (path, policy)
    assert directives.get("frame-ancestors") == "'none'", (path, policy)
    if response.get("Content-Type", "").startswith("text/html"):
        inline = INLINE_CODE.findall(response.content.decode())
        assert not inline, (path, inline)


def test_every_page_sends_the_policy_and_has_no_inline_code(web, admin_client):
    operator_banks_save()  # so that Add Bank Transfer shows its form
    paths = sorted(set(plain_paths()))
    assert {"/", "/login/", "/billing/profile/", "/admin/", "/api/v1/docs"} <= set(paths)
    for path in paths:
        client = admin_client if path.startswith("/admin/") else web
        assert_policy(path, client.get(path))


def test_login_and_not_found_pages_send_the_policy(client):
    for path in ("/login/", "/no-such-page/", "/api/v1/no-such-route"):
        assert_policy(path, client.get(path))


def test_bank_transfer_instructions_have_no_inline_code(web, account):
    operator_banks_save()
    response = web.post(
        "/billing/payment-methods/bank-transfer/",
        {"amount_choice": "other", "custom_amount": "250"},
        follow=True,
    )
    assert response.redirect_chain, response.content.decode()[:500]
    assert b"Bank Transfer Instructions" in response.content
    assert_policy(response.redirect_chain[-1][0], response)
