"""Idempotency-Key on every API POST.

The same key with the same request replays the stored response; the same key with a
different request is refused (422); a key whose first request is still running answers 409.
The unique constraint on (scope, key) decides races, not a check-then-insert.
"""

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from billtone.core import clock
from billtone.core.models import IdempotencyKey
from billtone.core.problems import problem_response

HEADER = "Idempotency-Key"
METHODS = {"POST"}
MAX_KEY_LENGTH = 255


def _request_hash(request: HttpRequest) -> str:
    # Keyed (HMAC): request bodies may hold card data, whose plain hash must not be stored.
    digest = hmac.new(settings.SECRET_KEY.encode(), digestmod=hashlib.sha256)
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _scope_for(request: HttpRequest) -> str | None:
    from billtone.accounts.selectors import api_token_from_header

    token = api_token_from_header(request.headers.get("Authorization", ""))
    if token is None:
        return None
    if token.account_id is None:
        return f"operator:{token.pk}"
    return f"account:{token.account_id}"


def idempotency_keys_purge() -> int:
    cutoff = clock.now() - timedelta(hours=settings.BILLTONE_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method not in METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return problem_response(
                status=400,
                slug="idempotency-key-invalid",
                title="Invalid Idempotency-Key",
                detail=f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} characters.",
                instance=request.path,
            )
        scope = _scope_for(request)
        if scope is None:
            return self.get_response(request)  # the API answers 401

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
            return self._replay(request, scope=scope, key=key, request_hash=request_hash)

        try:
            response = self.get_response(request)
        except BaseException:
            record.delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            record.delete()
            return response
        record.state = IdempotencyKey.State.DONE
        record.response_status = response.status_code
        record.response_content_type = response.get("Content-Type", "")[:100]
        record.response_body = bytes(response.content)
        record.save(
            update_fields=["state", "response_status", "response_content_type", "response_body"]
        )
        return response

    def _replay(self, request: HttpRequest, *, scope: str, key: str, request_hash: str):
        record = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if record is None:  # purged between our insert and this read: ask for a retry
            return problem_response(
                status=409,
                slug="idempotency-key-in-progress",
                title="Request in progress",
                detail="A request with this Idempotency-Key is being processed; retry shortly.",
                instance=request.path,
            )
        if record.request_hash != request_hash:
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
            return problem_response(
                status=409,
                slug="idempotency-key-in-progress",
                title="Request in progress",
                detail="A request with this Idempotency-Key is being processed; retry shortly.",
                instance=request.path,
            )
        response = HttpResponse(
            bytes(record.response_body or b""),
            status=record.response_status,
            content_type=record.response_content_type or None,
        )
        response["Idempotent-Replayed"] = "true"
        return response
