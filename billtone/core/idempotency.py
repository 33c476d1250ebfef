"""Idempotency-Key on every API POST, applied after authentication (decision 0008).

`install(api)` hooks two halves of one rule into the NinjaAPI (config/api.py):

- before the endpoint, once Ninja has authenticated the caller, checked its rights and parsed
  the request (`_claim_or_replay`, an "operation" decorator): the key is claimed for the
  caller — `request.auth.idempotency_scope`, the account and the user acting in it — by
  inserting a (scope, key) row. The unique constraint decides races, not a check-then-insert.
  A key already claimed by this caller replays its stored response if the request is the
  same (method, path and body, the body compared as parsed JSON), is refused with 422 if it
  is another, and answers 409 while the first is still running.
- after it (`_store_outcome`, a "view" decorator around the whole operation): the response is
  stored for replays, unless it is a 5xx, a 401/403/429 or a stream, which free the key. A
  response that showed a secret (a `ShownOnce` field) is never stored: a 410 problem naming
  the created object is stored in its place.

A request refused before its endpoint ran (no or a bad token, no billing rights, an invalid
body) stores nothing, so another caller's or an earlier answer is never replayed to anyone,
and a corrected request may use the same key (as Stripe does).
"""

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from billtone.core import clock
from billtone.core.models import IdempotencyKey
from billtone.core.problems import CONTENT_TYPE, problem_body, problem_response
from billtone.core.schemas import secrets_shown

HEADER = "Idempotency-Key"
METHODS = {"POST"}
MAX_KEY_LENGTH = 255
NEVER_STORED = {401, 403, 429}  # about the caller or the moment, not about this request
SECRET_SHOWN_ONCE = 410
_CLAIM = "_billtone_idempotency_claim"


def install(api) -> None:
    """Apply the Idempotency-Key rule to every operation of `api`."""
    api.add_decorator(_store_outcome, mode="view")
    api.add_decorator(_claim_or_replay, mode="operation")


def idempotency_keys_purge() -> int:
    cutoff = clock.now() - timedelta(hours=settings.BILLTONE_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _claim_or_replay(endpoint: Callable) -> Callable:
    @functools.wraps(endpoint)
    def wrapper(request: HttpRequest, *args, **kwargs):
        key = request.headers.get(HEADER)
        scope = getattr(getattr(request, "auth", None), "idempotency_scope", None)
        if key is None or request.method not in METHODS or scope is None:
            return endpoint(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return problem_response(
                status=400,
                slug="idempotency-key-invalid",
                title="Invalid Idempotency-Key",
                detail=f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} characters.",
                instance=request.path,
            )
        request_hash = _request_hash(request)
        ttl_cutoff = clock.now() - timedelta(hours=settings.BILLTONE_IDEMPOTENCY_TTL_HOURS)
        IdempotencyKey.objects.filter(scope=scope, key=key, created_at__lt=ttl_cutoff).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=request_hash,
                    created_at=clock.now(),
                )
        except IntegrityError:
            return _replay(request, scope=scope, key=key, request_hash=request_hash)
        setattr(request, _CLAIM, record)
        return endpoint(request, *args, **kwargs)

    return wrapper


def _store_outcome(run: Callable) -> Callable:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            record = getattr(request, _CLAIM, None)
            if record is not None:
                record.delete()
            raise
        record = getattr(request, _CLAIM, None)
        if record is not None:
            delattr(request, _CLAIM)
            _store(request, record, response)
        return response

    return wrapper


def _store(request: HttpRequest, record: IdempotencyKey, response: HttpResponseBase) -> None:
    status = response.status_code
    if status >= 500 or status in NEVER_STORED or getattr(response, "streaming", False):
        record.delete()
        return
    if secrets_shown(request):
        response = _secret_shown_once(request, response)
    record.state = IdempotencyKey.State.DONE
    record.response_status = response.status_code
    record.response_content_type = response.get("Content-Type", "")[:100]
    record.response_body = bytes(response.content)
    record.save(
        update_fields=["state", "response_status", "response_content_type", "response_body"]
    )


def _secret_shown_once(request: HttpRequest, response: HttpResponseBase) -> HttpResponse:
    """What a replay of a response that showed a secret answers instead: the object's id."""
    try:
        created_id = json.loads(response.content).get("id")
    except (ValueError, AttributeError):
        created_id = None
    created = f"created the object with id {created_id}" if created_id is not None else "acted"
    body = problem_body(
        status=SECRET_SHOWN_ONCE,
        slug="secret-shown-once",
        title="Secret shown once",
        detail=(
            f"The first request with this {HEADER} succeeded (HTTP {response.status_code}) and "
            f"{created}. Its secret was shown once, in that response, and is not kept, so it "
            "cannot be shown again. If it was lost, revoke that object and create another."
        ),
        instance=request.path,
    )
    body["id"] = created_id
    return HttpResponse(json.dumps(body), status=SECRET_SHOWN_ONCE, content_type=CONTENT_TYPE)


def _replay(request: HttpRequest, *, scope: str, key: str, request_hash: str) -> HttpResponse:
    record = IdempotencyKey.objects.filter(scope=scope, key=key).first()
    if record is None:  # purged between our insert and this read: ask for a retry
        return _in_progress(request)
    if not hmac.compare_digest(record.request_hash, request_hash):
        return problem_response(
            status=422,
            slug="idempotency-key-reused",
            title="Idempotency-Key reused",
            detail=(
                f"This {HEADER} was already used with a different request. "
                "Use a new key for a new request."
            ),
            instance=request.path,
        )
    if record.state != IdempotencyKey.State.DONE:
        return _in_progress(request)
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.response_status,
        content_type=record.response_content_type or None,
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _in_progress(request: HttpRequest) -> HttpResponse:
    return problem_response(
        status=409,
        slug="idempotency-key-in-progress",
        title="Request in progress",
        detail=f"A request with this {HEADER} is being processed; retry shortly.",
        instance=request.path,
    )


def _request_hash(request: HttpRequest) -> str:
    # Keyed (HMAC): request bodies may hold card data, whose plain hash must not be stored.
    digest = hmac.new(settings.SECRET_KEY.encode(), digestmod=hashlib.sha256)
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(_canonical_body(request.body))
    return digest.hexdigest()


def _canonical_body(body: bytes) -> bytes:
    """The body as parsed JSON: spacing and key order do not count, every value does (a
    number as written, `10.0` is not `10.00` nor `"10.0"`). A body that is not JSON counts
    byte for byte."""
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        return b"bytes:" + body
    return b"json:" + repr(_sorted(parsed)).encode()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return ("object", sorted((key, _sorted(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", [_sorted(item) for item in value])
    return value
