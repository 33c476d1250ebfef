"""Walk every route of the OpenAPI schema: scoping, rights and authentication hold on all.

New routes are covered as they are added; a route with a path parameter the walker cannot
fill fails with a message that says what to add to tests/api/objects.py.
"""

import pytest

from billtone.accounts.models import ApiToken, Membership
from billtone.accounts.services import api_token_create
from conftest import owner_of

from . import walker
from .objects import ACTOR, MARKER


def bearer(membership: Membership) -> str:
    return f"Bearer {api_token_create(membership=membership, name='walker', actor=ACTOR).secret}"


def problem_mismatch(response, status: int, slug: str | None = None) -> str | None:
    """Why `response` is not the problem+json `status` (and type `slug`), or None if it is."""
    if response.status_code != status:
        return f"answered {response.status_code}, expected {status}: {response.content[:200]!r}"
    if response["Content-Type"] != "application/problem+json":
        return f"answered {status} as {response['Content-Type']}, not application/problem+json"
    problem = response.json()
    if problem.get("status") != status:
        return f"problem body says status {problem.get('status')}"
    if slug and not problem.get("type", "").endswith(f"/{slug}"):
        return f"problem type {problem.get('type')!r}, expected …/{slug}"
    return None


def account_data(account) -> list[str]:
    """Strings of `account` that no other account may ever see."""
    owner = owner_of(account)
    values = [
        MARKER,
        account.name,
        account.billing_profile.billing_email,
        owner.user.get_username(),
        owner.user.email,
        *ApiToken.objects.filter(account=account).values_list("prefix", flat=True),
    ]
    return list(dict.fromkeys(values))


@pytest.fixture
def owner_a(make_account):
    return owner_of(make_account(f"{MARKER} GmbH"))


def requests_for(client, owner: Membership, failures: list[str]):
    """Every operation with a request on objects of `owner`'s account, made up front."""
    made: dict = {}
    built = []
    for operation in walker.operations(client):
        try:
            built.append((operation, walker.build_request(operation, owner, made)))
        except walker.CannotFill as error:
            failures.append(f"{operation.label}: {error}")
    return built


# The routes the operator's switch calls, at the paths issue 19 names: operator tokens,
# outside /api/v1/operator/ (which holds the back office's own API).
SWITCH_ROUTES = {"/api/v1/cdrs", "/api/v1/authorize"}


def test_another_accounts_objects_are_404_on_every_route(client, owner_a, other_account):
    failures: list[str] = []
    a_auth = bearer(owner_a)
    b_auth = bearer(owner_of(other_account))
    requests = requests_for(client, owner_a, failures)
    a_data = account_data(owner_a.account)

    for operation, request in requests:
        where = operation.label
        if request.url != operation.path:
            where += f" as {request.url}"
        under_operator = operation.path.startswith("/api/v1/operator/")
        if operation.path in SWITCH_ROUTES:
            if not operation.is_operator:
                failures.append(f"{where}: a switch's route takes the operator's token")
        elif operation.is_operator != under_operator:
            failures.append(f"{where}: operator routes live under /api/v1/operator/, only there")
        response = walker.send(client, request, b_auth)
        # decoded leniently: an invoice's PDF is bytes
        leaked = [value for value in a_data if value in response.content.decode(errors="replace")]
        if leaked:
            failures.append(f"{where}: another account's token sees {leaked}")
        if operation.is_operator:
            mismatch = problem_mismatch(response, 403, "forbidden")
        elif operation.object_parameters:
            mismatch = problem_mismatch(response, 404, "not-found")
        elif response.status_code >= 500 or response.status_code in (401, 403, 404):
            mismatch = f"answered {response.status_code}: {response.content[:200]!r}"
        else:
            mismatch = None
        if mismatch:
            failures.append(f"{where} with another account's token: {mismatch}")

    # Controls: the same requests reach real objects and real data with the owner's own token.
    seen_own_data = False
    for operation, request in requests:
        if operation.method != "get" or operation.is_operator:
            continue
        response = walker.send(client, request, a_auth)
        if response.status_code != 200:
            failures.append(f"{operation.label} with the owner's token: {response.status_code}")
        seen_own_data |= any(value in response.content.decode(errors="replace") for value in a_data)
    assert seen_own_data, "no route shows the account its own data: the leak check proves nothing"
    assert not failures, "\n".join(failures)


def test_member_without_billing_rights_gets_403_on_every_route(client, member):
    failures: list[str] = []
    member_auth = bearer(member)
    for operation, request in requests_for(client, owner_of(member.account), failures):
        mismatch = problem_mismatch(walker.send(client, request, member_auth), 403, "forbidden")
        if mismatch:
            failures.append(f"{operation.label} by a member without billing rights: {mismatch}")
    assert not failures, "\n".join(failures)


def test_every_route_but_the_schema_and_docs_needs_a_token(client, owner):
    failures: list[str] = []
    wrong_secret = bearer(owner)[:-4] + "nope"
    for operation, request in requests_for(client, owner, failures):
        for label, authorization in (("no token", None), ("a wrong token", wrong_secret)):
            response = walker.send(client, request, authorization)
            mismatch = problem_mismatch(response, 401, "unauthenticated")
            if mismatch is None and response.get("WWW-Authenticate") != "Bearer":
                mismatch = "no `WWW-Authenticate: Bearer` header"
            if mismatch:
                failures.append(f"{operation.label} with {label}: {mismatch}")
    assert not failures, "\n".join(failures)
    assert client.get(walker.SCHEMA_URL).status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/v1/no-such-route"),
        ("POST", "/api/v1/no-such-route"),
        ("DELETE", "/api/v1/api-tokens/1/no-such-part"),
        ("GET", "/api/v1/api-tokens/"),
        ("GET", "/api/v1"),
        ("GET", "/api/v2/billing-profile"),
    ],
)
def test_unknown_api_paths_are_problem_404s(client, owner, method, path):
    for authorization in (None, bearer(owner)):
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        response = client.generic(method, path, b"{}", content_type="application/json", **headers)
        assert problem_mismatch(response, 404, "not-found") is None, response.content
        assert response.json()["instance"] == path
