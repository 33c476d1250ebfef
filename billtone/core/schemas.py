import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from billtone.core import dates, money
from billtone.core.rows import ROW_ID_MAX, is_row_id

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # Pydantic alone also takes numbers as Unix timestamps (`?to=0` is 1970-01-01), which the
    # schema (a string of format date) does not allow.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", "Enter a date as YYYY-MM-DD.")


def _date_in_range(value: date) -> date:
    if not dates.date_in_range(value):
        raise PydanticCustomError("date_range", dates.OUT_OF_RANGE)
    return value


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_date_in_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": dates.ISO_DATE_PATTERN}),
]
"""A date in the API's input: only YYYY-MM-DD, as the OpenAPI schema says, from
dates.FIRST_DATE to dates.LAST_DATE."""


NO_SUCH_ROW = "no_such_row"  # the error type config/api.py answers with a 404
_ROW_ID = re.compile(r"[0-9]{1,19}")


def _row_id(value: Any) -> int:
    # Before pydantic's int: an id typed into a URL may be any size (a 500 where a written
    # query hands it to the database), and "abc" or "-1" names no object either.
    if isinstance(value, str) and _ROW_ID.fullmatch(value) and is_row_id(int(value)):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and is_row_id(value):
        return value
    raise PydanticCustomError(NO_SUCH_ROW, "No object has this id.")


RowId = Annotated[
    int,
    BeforeValidator(_row_id),
    Path(ge=1, le=ROW_ID_MAX, description="The object's id: 1 to 2^63 - 1."),
]
"""An object's id in an API path (`/payment-methods/{card_id}`). One that no row can have
(not 1 to 2^63 - 1 in ASCII digits) is a 404, as another account's object is (config/api.py:
the `no_such_row` error), never a 422 or, beyond 64 bits, a 500; the OpenAPI schema gives the
bounds."""


def _amount_in(value: Any) -> Any:
    # The JSON types only; money.amount_parse applies the rules once the currency is known.
    if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        raise PydanticCustomError("amount_exponent", money.NO_EXPONENT)
    raise PydanticCustomError("amount_type", money.NOT_AN_AMOUNT)


AMOUNT_PATTERN = rf"^-?[0-9]{{1,{money.MAX_AMOUNT_DIGITS}}}(\.[0-9]{{1,4}})?$"
_AMOUNT_LIMIT = float(Decimal(10) ** money.MAX_AMOUNT_DIGITS)
AMOUNT_NOTATION = "decimal string or number in plain notation, no exponent, no locale formatting"
AMOUNT_IN_DESCRIPTION = (
    f'A {AMOUNT_NOTATION} ("1250.50" or 1250.5; not "1e3", not "1.250,50"), with at most the '
    "currency's minor unit of decimals."
)
AmountIn = Annotated[
    Any,
    PlainValidator(_amount_in),
    WithJsonSchema(
        {
            "description": AMOUNT_IN_DESCRIPTION,
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN},
                {
                    "type": "number",
                    "exclusiveMinimum": -_AMOUNT_LIMIT,
                    "exclusiveMaximum": _AMOUNT_LIMIT,
                },
            ],
        }
    ),
]
"""An amount in the API's input: a decimal string in plain notation ("1250.50") or a JSON
number written plainly (1250.5), never with an exponent; at most MAX_AMOUNT_DIGITS digits
before the point and the currency's minor unit after it (money.amount_parse, which the route
calls with the account's currency)."""


def _json_float(text: str) -> Decimal | float:
    return float(text) if "e" in text or "E" in text else Decimal(text)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON.")


class ExactJsonParser(Parser):
    """Request bodies as JSON with each number read exactly as written: one with a fraction is
    a Decimal (99.95 stays 99.95, never a binary float); one with an exponent stays a float,
    which amount fields refuse; NaN and Infinity, which are not JSON, make the body a 400."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_float=_json_float, parse_constant=_no_constant)
        _text_storable(data, ["body"])
        return data


# A NUL character or half a surrogate pair, which JSON's \u escapes can spell, is text that no
# database column can hold (PostgreSQL refuses it): refused here, once for every route.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = "Text may not contain NUL characters or unpaired surrogates."


def _text_storable(value: Any, loc: list) -> None:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise NinjaValidationError([{"loc": loc, "msg": UNSTORABLE_TEXT}])
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_storable(key, loc)
            _text_storable(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text_storable(item, [*loc, index])


_SHOWN_ONCE = "_billtone_secrets_shown"


def _shown_once(value: str, info: SerializationInfo) -> str:
    request = (info.context or {}).get("request")
    if request is not None:
        secrets = getattr(request, _SHOWN_ONCE, None)
        if secrets is None:
            secrets = []
            setattr(request, _SHOWN_ONCE, secrets)
        secrets.append(value)
    return value


ShownOnce = Annotated[
    str,
    PlainSerializer(_shown_once, return_type=str),
    Field(json_schema_extra={"x-shown-once": True}),
]
"""A secret in an API response, shown in that response only (an API token's secret).

Type every such field so: when Ninja renders it, the request notes the secret, and the
Idempotency-Key store (billtone/core/idempotency.py) then keeps no copy of the response.
tests/api/test_secrets_never_stored.py fails on a response field that looks secret and is not
typed so, and scans every table after every route that shows one.
"""


def secrets_shown(request: HttpRequest) -> list[str]:
    """The ShownOnce values rendered in the response to `request`."""
    return getattr(request, _SHOWN_ONCE, [])


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: dict[str, list[str]] | None = None


class AuditEntryOut(Schema):
    id: int
    created_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict

    @staticmethod
    def resolve_created_at(obj) -> str:
        return obj.created_at.isoformat()

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label
