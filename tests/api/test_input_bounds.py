"""Every number, date and page a person or client sends is bounded where it is parsed (issue 14,
finding 3): a clear 422 problem or inline form error, nothing written, never a 500.

The named cases are the ones the adversarial pass found; the hypothesis tests at the end feed
extreme numbers and dates to the same routes and forms.
"""

import contextlib
import json
import re
import string
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billtone.accounts.models import ApiToken
from billtone.accounts.services import api_token_create, operator_token_create
from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.core.money import Money
from billtone.core.rows import ROW_ID_MAX
from billtone.payments.models import Payment, SavedCard
from billtone.payments.services import card_charge
from billtone.payments.tests.conftest import ACTOR, add_card

from . import walker

BANK_TRANSFERS = "/api/v1/bank-transfers"
PAYMENTS = "/api/v1/payments"
STATEMENT = "/api/v1/ledger/business_funds/statement"
BALANCES_PAGE = "/billing/balances/business_funds/"
TOP_UP_PAGE = "/billing/payment-methods/top-up/"
TRANSFER_PAGE = "/billing/payment-methods/bank-transfer/"

# Each was a 500 (decimal.InvalidOperation) or, for "1e3", read as 1000.00.
EXPONENTS = ["1e3", "1E+2", "1e30", "2.5e307", "1.5e2"]
MALFORMED = ["NaN", "Infinity", "-Infinity", "sNaN", "+5", " 5", "5 ", "1_000", "٥", "１０", ".5"]
TOO_LONG = ["1" * 13, "1" * 400, "0." + "0" * 5000 + "1"]


@pytest.fixture
def banks(db):
    operator_banks_save()


@pytest.fixture
def card(account):
    return add_card(account)


@pytest.fixture
def payment(account, card):
    return card_charge(
        account=account,
        card=card,
        amount=Money("40.00", "EUR"),
        purpose="business_funds",
        on_session=True,
        idempotency_key="bounds-charge",
        actor=ACTOR,
    )


def refused(response, *fields: str) -> dict:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert set(fields) <= set(problem.get("errors", {})), problem
    return problem


def post_json(api, path: str, text: str):
    return api.generic("POST", path, text, content_type="application/json")


# --- Amounts in the API -------------------------------------------------------------------


@pytest.mark.parametrize("amount", EXPONENTS + MALFORMED + TOO_LONG)
def test_bank_transfer_amounts_out_of_notation_or_range_are_422(api, banks, amount):
    problem = refused(api.post(BANK_TRANSFERS, {"amount": amount}), "amount")
    assert not BankTransfer.objects.exists(), problem


@pytest.mark.parametrize("amount", EXPONENTS + MALFORMED + TOO_LONG)
def test_payment_amounts_out_of_notation_or_range_are_422(api, card, amount):
    body = {"card_id": card.pk, "amount": amount, "purpose": "business_funds"}
    refused(api.post(PAYMENTS, body), "amount")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", EXPONENTS + MALFORMED + TOO_LONG)
def test_refund_amounts_out_of_notation_or_range_are_422(api, payment, amount):
    refused(api.post(f"{PAYMENTS}/{payment.pk}/refunds", {"amount": amount}), "amount")
    assert Payment.objects.count() == 1


def test_the_exponent_is_named_in_the_message(api, banks):
    problem = refused(api.post(BANK_TRANSFERS, {"amount": "1e3"}), "amount")
    assert problem["errors"]["amount"] == [
        "Write the amount out in plain decimal notation, such as 1000.00, not 1e3."
    ]


@pytest.mark.parametrize("number", ["1e3", "1E3", "1e30", "2.5e307", "1e-2", "1e400"])
def test_json_numbers_with_an_exponent_are_422(api, card, number):
    body = f'{{"card_id": {card.pk}, "amount": {number}, "purpose": "business_funds"}}'
    refused(post_json(api, PAYMENTS, body), "amount")
    assert not Payment.objects.exists()


def test_json_numbers_written_plainly_are_read_exactly(api, card):
    body = f'{{"card_id": {card.pk}, "amount": 0.3, "purpose": "business_funds"}}'
    response = post_json(api, PAYMENTS, body)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "0.30"


@pytest.mark.parametrize(
    "body", ['{"amount": NaN}', '{"amount": Infinity}', '{"amount": 1' + "1" * 5000 + "}"]
)
def test_json_that_is_not_json_is_a_400(api, banks, body):
    response = post_json(api, BANK_TRANSFERS, body)
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert not BankTransfer.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "４２４２４２４２４２４２４２４２"},  # fullwidth digits
        {"number": "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"},  # Arabic-Indic digits
        {"cvc": "١٢٣"},
    ],
)
def test_card_numbers_are_ascii_digits(api, changes):
    body = {
        "number": "4242424242424242",
        "exp_month": 12,
        "exp_year": 2040,
        "cvc": "123",
        "holder_name": "Ada Lovelace",
        **changes,
    }
    refused(api.post("/api/v1/payment-methods", body), *changes)
    assert not SavedCard.objects.exists()


# --- Amounts in forms ---------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e3", "1e30", "2.5e307", "NaN", "inf", "+5", "٥", "1" * 30])
def test_top_up_form_refuses_them_inline(web, card, amount):
    response = web.post(
        TOP_UP_PAGE, {"amount": amount, "card_id": card.pk, "purpose": "business_funds"}
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", ["1e3", "1e30", "2.5e307", "NaN", "inf", "+5", "٥", "1" * 30])
def test_bank_transfer_form_refuses_them_inline(web, banks, amount):
    response = web.post(TRANSFER_PAGE, {"amount_choice": "other", "custom_amount": amount})
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not BankTransfer.objects.exists()


def test_forms_read_amounts_as_people_write_them(web, banks, card):
    web.post(TRANSFER_PAGE, {"amount_choice": "other", "custom_amount": " 1,234.50 "})
    assert BankTransfer.objects.get().amount == Decimal("1234.50")


# --- Dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-01"},
        {"from": "2200-01-01"},
    ],
)
def test_statement_dates_out_of_range_are_422(api, query):
    problem = refused(api.get(STATEMENT, query))
    assert any(
        "Enter a date from 1900-01-01 to 2199-12-31." in m
        for ms in problem["errors"].values()
        for m in ms
    )


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "9999-12-31", "date_to": "9999-12-31"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
    ],
)
def test_statement_page_refuses_dates_out_of_range_inline(web, account, query):
    response = web.get(BALANCES_PAGE, query)
    assert response.status_code == 200
    assert "Enter a date from 1900-01-01 to 2199-12-31." in response.content.decode()


# --- Pages ----------------------------------------------------------------------------------


def test_statement_page_past_the_last_is_refused(web, api, payment):
    response = web.get(BALANCES_PAGE, {"page": "922337203685477580"})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 1000000." in response.content.decode()

    html = web.get(BALANCES_PAGE, {"page": "7"}).content.decode()
    assert "There is no page 7: this list has 1 page of 50." in html

    problem = refused(api.get(STATEMENT, {"page": 7}), "page")
    assert problem["errors"]["page"] == ["There is no page 7: this list has 1 page of 50."]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payments",
        "/api/v1/bank-transfers",
        "/api/v1/payment-methods",
        "/api/v1/api-tokens",
        "/api/v1/audit-log",
    ],
)
def test_api_lists_refuse_a_page_past_the_last(api, path):
    assert api.get(path, {"page": 1}).status_code == 200
    problem = refused(api.get(path, {"page": 1_000_000, "page_size": 200}), "page")
    assert problem["errors"]["page"][0].startswith("There is no page 1000000")
    refused(api.get(path, {"page": 1_000_001}), "page")


def test_web_lists_keep_to_their_pages(web, banks):
    response = web.get("/billing/payment-methods/", {"page": "922337203685477580"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payments/99999999999999999999999",
        "/api/v1/payment-methods/9223372036854775808",
        "/api/v1/bank-transfers/9223372036854775808",
        "/api/v1/api-tokens/9223372036854775808",
    ],
)
def test_ids_beyond_64_bits_are_404(api, path):
    assert api.get(path).status_code == 404


# --- Extreme numbers and dates, generated ---------------------------------------------------

_numbers_as_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "e")),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(lambda d: format(d, "f")),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(alphabet=string.digits + "٠١٢３.,eE+-_ \u00a0", max_size=40),
    st.sampled_from(EXPONENTS + MALFORMED + ["-0", "0", "0.00", "999999999999.99", "1" * 13]),
)
_raw_json_amounts = st.one_of(
    _numbers_as_text.map(json.dumps),  # a JSON string
    st.integers(min_value=-(10**40), max_value=10**40).map(str),  # a JSON integer
    st.floats(allow_nan=False, allow_infinity=False).map(repr),  # a JSON number: 1e+300, 0.1
)
_dates = st.one_of(
    st.dates(min_value=date.min, max_value=date.max).map(date.isoformat),
    st.sampled_from(["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01", "2026-02-30"]),
)
GENERATED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _answered(response) -> int:
    assert response.status_code < 500, response.content
    return response.status_code


def _rows() -> tuple[int, int]:
    return Payment.objects.count(), BankTransfer.objects.count()


@GENERATED
@given(raw=_raw_json_amounts)
@example(raw='"1e30"')
@example(raw="2.5e307")
def test_money_routes_never_fail_on_extreme_amounts(api, payment, card, banks, raw):
    """A 2xx takes the amount exactly as sent; anything else is a 4xx problem that writes
    nothing."""
    sent = json.loads(raw, parse_float=Decimal)
    routes = [
        (BANK_TRANSFERS, f'{{"amount": {raw}}}'),
        (PAYMENTS, f'{{"card_id": {card.pk}, "amount": {raw}, "purpose": "call_credit"}}'),
        (f"{PAYMENTS}/{payment.pk}/refunds", f'{{"amount": {raw}}}'),
    ]
    for path, body in routes:
        before = _rows()
        response = post_json(api, path, body)
        if _answered(response) >= 400:
            assert response["Content-Type"] == "application/problem+json"
            assert _rows() == before
        else:
            assert Decimal(response.json()["amount"]) == Decimal(sent)


@GENERATED
@given(text=_numbers_as_text)
@example(text="1e30")
@example(text="2.5e307")
def test_amount_forms_never_fail_on_extreme_amounts(web, card, banks, text):
    """Each form answers with its page (an inline error) or a redirect to what it made."""
    forms = [
        (TOP_UP_PAGE, {"amount": text, "card_id": card.pk, "purpose": "call_credit"}),
        (TRANSFER_PAGE, {"amount_choice": "other", "custom_amount": text}),
    ]
    for path, data in forms:
        before = _rows()
        status = _answered(web.post(path, data))
        assert status in (200, 302)
        if status == 200:
            assert _rows() == before


@GENERATED
@given(date_from=_dates, date_to=_dates, page=st.integers(min_value=-(2**70), max_value=2**70))
@example(date_from="9999-12-31", date_to="9999-12-31", page=1)
@example(date_from="2026-01-01", date_to="2026-01-31", page=922337203685477580)
def test_statements_never_fail_on_extreme_dates_and_pages(
    api, web, payment, date_from, date_to, page
):
    api_query = {"from": date_from, "to": date_to, "page": page}
    response = api.get(STATEMENT, api_query)
    if _answered(response) != 200:
        refused(response)
    page_query = {"date_from": date_from, "date_to": date_to, "page": page}
    assert _answered(web.get(BALANCES_PAGE, page_query)) == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/reconciliation/bankentry/",
        "/admin/banktransfers/banktransfer/",
        "/admin/ledger/transaction/",
        "/admin/payments/payment/",
    ],
)
@pytest.mark.parametrize(
    "query",
    [
        "__year=9999",
        "__year=9999&{f}__month=12",
        "__year=9999&{f}__month=12&{f}__day=31",
        "__year=99999",
    ],
)
def test_back_office_date_drilldowns_at_the_end_of_the_calendar(admin_client, path, query):
    field = "booking_date" if "bankentry" in path else "created_at"
    response = admin_client.get(f"{path}?{field}{query.format(f=field)}")
    assert response.status_code in (200, 302)  # Django's ?e=1 for a lookup it cannot use


# --- Text no database column can hold -------------------------------------------------------


@pytest.mark.parametrize("escape", ["\\u0000", "\\udc9f"])
def test_a_nul_or_half_a_surrogate_pair_in_json_text_is_422(api, escape):
    # PostgreSQL refused the NUL when storing the token (schemathesis found the 500).
    before = ApiToken.objects.count()
    problem = refused(post_json(api, "/api/v1/api-tokens", f'{{"name": "ci{escape}"}}'), "name")
    assert "NUL" in problem["errors"]["name"][0]
    assert ApiToken.objects.count() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/checkouts/9223372036854775808/complete",
        "/api/v1/payments/9223372036854775808/confirm",
        "/api/v1/basket/lines/9223372036854775808",
    ],
)
def test_ids_beyond_64_bits_are_404_on_writes_too(api, path):
    send = api.delete if "/lines/" in path else api.post
    assert send(path).status_code == 404


# --- Ids in the path ------------------------------------------------------------------------

# Ids no row can have: 0, negative, one past 64 bits, far beyond (each was a 500 on a written
# query on SQLite or PostgreSQL, or reached the services), and not a number at all.
IMPOSSIBLE_IDS = ["0", "-1", str(2**63), str(10**20), "abc"]


def _id_operations(client):
    """Every operation of the schema with an integer path parameter naming an object."""
    found = []
    for operation in walker.operations(client):
        names = [
            p["name"]
            for p in operation.parameters("path")
            if walker.resolve(p.get("schema", {}), operation.root).get("type") == "integer"
        ]
        if names:
            found.append((operation, names))
    return found


def test_every_id_in_an_api_path_is_a_row_id_and_its_bounds_are_in_the_schema(client):
    operations = _id_operations(client)
    assert len(operations) >= 25, [operation.label for operation, _names in operations]
    for operation, names in operations:
        for parameter in operation.parameters("path"):
            if parameter["name"] in names:
                schema = walker.resolve(parameter["schema"], operation.root)
                assert (schema.get("minimum"), schema.get("maximum")) == (1, ROW_ID_MAX), (
                    f"{operation.label}: type {{{parameter['name']}}} as core.schemas.RowId"
                )


def test_ids_no_row_can_have_are_404_on_every_route_and_other_methods_405(client, owner):
    """The rule: an id in the path no object can have is a 404 not-found problem, as another
    account's object is, for each method the route takes (whatever the body, which is not
    read); a method the path does not take is a 405, whatever the id. Never a 500."""
    staff = get_user_model().objects.create_user("fx-staff", "staff@example.com", is_staff=True)
    tokens = {
        walker.CUSTOMER_SCHEME: api_token_create(membership=owner, name="ids", actor=ACTOR),
        walker.OPERATOR_SCHEME: operator_token_create(user=staff, name="ids"),
    }
    made: dict = {}
    failures: list[str] = []
    methods_by_path: dict[str, set[str]] = {}
    for operation, names in _id_operations(client):
        methods_by_path.setdefault(operation.path, set()).add(operation.method)
        (scheme,) = operation.schemes
        authorization = f"Bearer {tokens[scheme].secret}"
        request = walker.build_request(operation, owner, made)
        query = request.url.partition("?")[1:]
        for name in names:
            for bad in IMPOSSIBLE_IDS:
                url = operation.path
                for other in names:  # the other ids real, this one not
                    url = url.replace(f"{{{other}}}", bad if other == name else str(made[other]))
                url += "".join(query)
                sent = walker.Request(request.method, url, request.body)
                response = walker.send(client, sent, authorization)
                problem = response["Content-Type"] == "application/problem+json"
                slug = response.json().get("type", "") if problem else ""
                if response.status_code != 404 or not slug.endswith("/not-found"):
                    failures.append(f"{operation.label} as {url}: {response.status_code} {slug}")
    for path, methods in methods_by_path.items():
        for method in {"get", "post", "delete", "patch", "put"} - methods:
            url = path
            for bad_path_parameter in re.findall(r"\{(\w+)\}", path):
                url = url.replace(f"{{{bad_path_parameter}}}", str(2**63))
            status = client.generic(method.upper(), url).status_code
            if status != 405:
                failures.append(f"{method.upper()} {url}: {status}, expected 405")
    assert not failures, "\n".join(failures)


def _url_patterns(patterns=None, prefix=""):
    """(route as written, its converters) of every URL pattern, includes flattened."""
    from django.urls import URLResolver, get_resolver

    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _url_patterns(pattern.url_patterns, route)
        else:
            converters = dict(getattr(pattern.pattern, "converters", {}))
            yield route, converters


def test_every_id_in_a_page_url_is_a_row_id():
    """The panel's and back office's URLs take ids by `<id:…>` (core.converters): a number no
    row can have does not match them (a 404), where `<int:…>` took any number of digits."""
    from django.urls import Resolver404, resolve
    from django.urls.converters import IntConverter

    from billtone.core.converters import RowIdConverter

    ours = [
        (r, c) for r, c in _url_patterns() if any(isinstance(v, RowIdConverter) for v in c.values())
    ]
    assert len(ours) >= 25  # the panel's and back office's own
    for route, converters in _url_patterns():
        assert not any(
            isinstance(v, IntConverter) for v in converters.values()
        ) or not route.startswith(("billing/", "admin/")), route
    for route, _ in ours:
        for bad in [str(2**63), str(10**20), "0"]:
            url = "/" + re.sub(r"<id:\w+>", bad, route)
            # No match, or another pattern's (the admin's catch-all `<path:object_id>/`).
            with contextlib.suppress(Resolver404):
                assert resolve(url).route != route, url
        fine = "/" + re.sub(r"<id:\w+>", str(ROW_ID_MAX), route)
        assert resolve(fine).kwargs and set(resolve(fine).kwargs.values()) == {ROW_ID_MAX}


@pytest.mark.parametrize(
    "path",
    [
        "/billing/invoices/9223372036854775808/pdf/",
        "/billing/payment-methods/cards/100000000000000000000/remove/",
        "/billing/users-numbers/users/9223372036854775808/cancel/",
    ],
)
def test_page_ids_beyond_64_bits_are_404(web, path):
    assert web.get(path).status_code == 404
    assert web.post(path).status_code == 404


def test_more_query_fields_than_django_reads_is_a_400_problem(api):
    query = "&".join(f"x{n}=1" for n in range(1001))
    response = api.get(f"{PAYMENTS}?{query}")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/request-refused")
