from django.test import Client

from billtone.accounts.models import BillingProfile
from billtone.core.services import Actor

FORM = {
    "company_name": "Acme Telecom GmbH",
    "billing_email": "billing@acme.example",
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "address_line1": "Friedrichstraße 68",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "tax_id": "",
}


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_overview_shows_the_profile(web, account):
    response = web.get("/")
    assert response.status_code == 200
    assert b"Acme Telecom GmbH" in response.content


def test_member_without_billing_rights_gets_403_on_the_panel(member):
    client = Client()
    client.force_login(member.user)
    for path in ("/", "/billing/profile/", "/billing/api-tokens/"):
        assert client.get(path).status_code == 403


def test_profile_page_saves_and_confirms(web, account):
    response = web.post("/billing/profile/", FORM, follow=True)
    assert b"Billing profile saved." in response.content
    assert BillingProfile.objects.get(account=account).city == "Berlin"


def test_profile_page_shows_errors_inline_and_changes_nothing(web, account):
    response = web.post(
        "/billing/profile/",
        {**FORM, "billing_email": "nope", "timezone": "Mars/Base", "country": ""},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="error-billing_email"' in html and 'id="error-timezone"' in html
    assert 'id="error-country"' in html
    assert BillingProfile.objects.get(account=account).city == ""


def test_login_is_throttled_after_repeated_failures(account):
    client = Client()
    username = account.memberships.get().user.username
    for _ in range(5):
        client.post("/login/", {"username": username, "password": "wrong"})
    response = client.post("/login/", {"username": username, "password": "correct horse battery"})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content


def test_login_and_logout(account):
    client = Client()
    username = account.memberships.get().user.username
    response = client.post("/login/", {"username": username, "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_api_tokens_page_creates_shows_once_and_revokes(web, account):
    response = web.post("/billing/api-tokens/", {"name": "PBX"})
    assert b"it will not be shown again" in response.content
    token = account.api_tokens.get(name="PBX")
    assert b"bt_" + token.prefix.encode() in response.content
    web.post(f"/billing/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_favicon_is_found(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".svg")


def test_a_member_learns_who_manages_billing_and_the_refusal_is_one_log_line(member, account):
    """Before: a bare "Not allowed" and a full traceback on the server console per page."""
    import io
    import logging

    from billtone.accounts.services import member_add

    admin = member_add(
        account=account,
        email="billing@customer.example",
        password="correct horse battery",
        role="billing_admin",
        actor=Actor.system("test"),
    )
    client = Client()
    client.force_login(member.user)
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    logged = io.StringIO()
    previous = console.setStream(logged)
    try:
        response = client.get("/")
    finally:
        console.setStream(previous)

    assert response.status_code == 403
    html = response.content.decode()
    admins = html[html.index('id="billing-admins"') : html.index("</ul>")]
    owner = account.memberships.get(role="owner").user.email
    assert owner in admins and f"mailto:{admin.user.email}" in admins
    assert admins.index(owner) < admins.index(admin.user.email)  # owners first
    assert member.user.email not in admins
    assert "You are a <strong>member</strong> of" in html
    assert logged.getvalue().splitlines() == ["Forbidden (Permission denied): /"]
