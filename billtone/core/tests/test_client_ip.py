"""Login throttling behind a reverse proxy: each client counted by its own address."""

import pytest
from django.test import Client, RequestFactory

from billtone.core.client_ip import client_ip

PROXY = "127.0.0.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", PROXY),  # no proxy configured: the header is the client's own words
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # what the client wrote itself is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "2001:db8::1", "2001:db8::1"),
        (2, "203.0.113.9", PROXY),  # not through both proxies
        (1, "", PROXY),
        (1, "not-an-address", PROXY),
    ],
)
def test_client_ip_is_the_address_our_outermost_proxy_saw(settings, proxies, forwarded, expected):
    settings.BILLTONE_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _login(client: Client, email: str, password: str, forwarded: str) -> int:
    response = client.post(
        "/login/",
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response.status_code


def test_one_clients_failed_logins_behind_the_proxy_do_not_lock_out_another(settings, account):
    """Before: every request came from the proxy's 127.0.0.1, so an attacker's five wrong
    passwords locked the owner out of their own account from everywhere."""
    settings.BILLTONE_TRUSTED_PROXIES = 1
    email = account.memberships.get().user.email
    attacker, owner = Client(), Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, email, "wrong", "198.51.100.66")
    assert _login(attacker, email, "correct horse battery", "198.51.100.66") == 429
    assert _login(owner, email, "correct horse battery", "203.0.113.9") == 302
