"""`GET /api/v1/authorize` without Django's request cycle: the production server's lean path.

The switch asks before every call, hundreds of times a second, and waits. Through Django's
middleware stack, Ninja and its auth classes the request cost about 1.3 ms of CPU beyond
the authorization itself (bench/authorize_cpu.py; decision 0028, "The lean path").
`config/wsgi.py` hands this one route (GET, exact path) to `authorize_app`; everything
else, and the OpenAPI schema of this route, stays with Ninja (`cdr_api.authorize_get`).

The contract is the Ninja route's, from the same parts: the query validated by the same
schema (`AuthorizeQuery`), the operator token checked by the same `OperatorTokenAuth`, the
answer from the same `call_authorize` rendered by the same `authorization_body`, errors as
the same problem+json (401 with `WWW-Authenticate: Bearer`, 403, 404, 422 by field, 500
logged). tests check both paths answer alike, through the WSGI callable production runs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http import HTTPStatus

from django.conf import settings
from django.core import signals
from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict
from pydantic import ValidationError

from billtone.accounts.auth import OperatorTokenAuth
from billtone.core.errors import ApplicationError
from billtone.core.problems import (
    CONTENT_TYPE,
    problem_body,
    request_refused_body,
    validation_errors,
)
from billtone.rating.cdr_schemas import AuthorizeQuery
from billtone.rating.services.authorize import Authorization, call_authorize

PATH = "/api/v1/authorize"
logger = logging.getLogger("billtone.api")
_AUTH = OperatorTokenAuth()
_FIELDS = tuple(AuthorizeQuery.model_fields)
# Each field: (name, required, default, max_length): what AuthorizeQuery checks of a string.
_PLAIN = tuple(
    (
        name,
        field.is_required(),
        None if field.is_required() else field.default,
        min(m.max_length for m in field.metadata if hasattr(m, "max_length")),
    )
    for name, field in AuthorizeQuery.model_fields.items()
)
# A verified operator token is trusted again for this long without its lookup (one SQL
# round trip, ~0.3 ms of CPU): revoking it, deactivating its user or taking away staff
# counts on this route within TOKEN_TRUST_SECONDS (decision 0028). Only valid tokens are
# kept, so the table holds at most the operator's tokens.
TOKEN_TRUST_SECONDS = 5.0
_trusted: dict[str, float] = {}
_trusted_lock = threading.Lock()


def _operator_token_valid(token: str) -> bool:
    """OperatorTokenAuth's answer (PermissionDenied for a customer's token), kept briefly."""
    now = time.monotonic()
    if _trusted.get(token, 0.0) > now:
        return True
    if _AUTH.authenticate(None, token) is None:
        return False
    with _trusted_lock:
        if len(_trusted) > 1000:  # the operator's tokens are few; expired entries go
            for stale in [key for key, until in _trusted.items() if until <= now]:
                del _trusted[stale]
        _trusted[token] = now + TOKEN_TRUST_SECONDS
    return True


def authorization_body(found: Authorization) -> dict:
    """The answer as both paths send it (AuthorizeOut's fields, in its order)."""
    tariff = found.tariff
    return {
        "allowed": found.allowed,
        "max_seconds": found.max_seconds,
        "reason": found.reason,
        "destination": found.destination,
        "destination_name": found.destination_name,
        "prefix": found.prefix,
        "per_minute": format(tariff.per_minute, "f") if tariff else None,
        "connection_fee": format(tariff.connection_fee, "f") if tariff else None,
        "increments": (
            f"{tariff.initial_increment}/{tariff.subsequent_increment}" if tariff else None
        ),
        "currency": found.currency,
        "held": format(found.held, "f"),
        "included_seconds": found.included_seconds,
    }


def takes(environ: dict) -> bool:
    """Whether this request is the lean path's: a GET of exactly the route, and not one the
    SecurityMiddleware would redirect to HTTPS."""
    return (
        environ.get("PATH_INFO") == PATH
        and environ.get("REQUEST_METHOD") == "GET"
        and not (settings.SECURE_SSL_REDIRECT and not _secure(environ))
    )


def _secure(environ: dict) -> bool:
    header = settings.SECURE_PROXY_SSL_HEADER
    if header and header[0] in environ:
        return environ[header[0]].split(",")[0].strip() == header[1]
    return environ.get("wsgi.url_scheme") == "https"


def _headers(environ: dict) -> list[tuple[str, str]]:
    """The headers Django's middleware puts on this route's answers (a test compares)."""
    headers = [
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Content-Security-Policy", _csp()),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
        ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
    ]
    if settings.SECURE_HSTS_SECONDS and _secure(environ):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


_CSP: list[str] = []


def _csp() -> str:
    if not _CSP:  # the policy django-csp builds from the settings, built once
        from csp.utils import build_policy

        _CSP.append(build_policy())
    return _CSP[0]


def _problem(status: int, path: str, error: ApplicationError | None = None, **kw) -> tuple:
    if error is not None:
        kw = {"slug": error.slug, "title": error.title, "detail": error.detail}
        kw["errors"] = error.errors
    body = problem_body(status=status, instance=path, **kw)
    return status, CONTENT_TYPE, body


def _unauthenticated(path: str) -> tuple:
    return _problem(
        401,
        path,
        slug="unauthenticated",
        title="Authentication required",
        detail="Send a valid API token as `Authorization: Bearer <token>`.",
    )


def _plain_query(values: dict[str, str]) -> AuthorizeQuery | None:
    """The query as AuthorizeQuery validates it, built without its validation (a few percent
    of the request's CPU) when the strings plainly pass it: the required ones given, none
    longer than its field's max_length. Else None: the schema validates, and its errors
    are the 422's, as through Ninja."""
    plain = {}
    for name, required, default, max_length in _PLAIN:
        value = values.get(name)
        if value is None:
            if required:
                return None
            value = default
        elif len(value) > max_length:
            return None
        plain[name] = value
    return AuthorizeQuery.model_construct(**plain)


def _answer(environ: dict, path: str) -> tuple:
    """(status, content type, body) as the Ninja route would answer: auth first, then the
    query, then the authorization (Ninja's order)."""
    parts = environ.get("HTTP_AUTHORIZATION", "").split(" ")
    if parts[0].lower() != "bearer":  # as ninja's HttpBearer reads the header
        return _unauthenticated(path)
    try:
        if not _operator_token_valid(" ".join(parts[1:])):
            return _unauthenticated(path)
    except ApplicationError as error:
        return _problem(error.status, path, error)
    try:
        given = QueryDict(environ.get("QUERY_STRING", ""))
    except SuspiciousOperation as error:  # more fields than Django reads
        return 400, CONTENT_TYPE, request_refused_body(error, instance=path)
    values = {k: given[k] for k in _FIELDS if k in given}
    try:
        query = _plain_query(values) or AuthorizeQuery.model_validate(values)
    except ValidationError as error:
        return _problem(
            422,
            path,
            slug="validation-error",
            title="Invalid input",
            detail="Some fields are not valid.",
            errors=validation_errors(error.errors()),
        )
    try:
        found = call_authorize(
            account_code=query.account,
            destination=query.destination,
            user=query.user,
            call_id=query.call_id,
        )
    except ApplicationError as error:
        return _problem(error.status, path, error)
    return 200, "application/json; charset=utf-8", authorization_body(found)


def authorize_app(environ: dict, start_response):
    """The WSGI app of the one route: Django's request signals around it (they hand the
    thread's database connection back to the pool after), nothing else of its cycle."""
    path = environ.get("SCRIPT_NAME", "") + PATH
    signals.request_started.send(sender=None, environ=environ)
    try:
        try:
            status, content_type, body = _answer(environ, path)
        except Exception:
            logger.exception("Unhandled API error on GET %s", path)
            status, content_type, body = _problem(
                500,
                path,
                slug="internal-error",
                title="Internal error",
                detail="Something went wrong on our side; it has been logged.",
            )
    finally:
        signals.request_finished.send(sender=None)
    content = json.dumps(body).encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(content)))]
    if status == 401:
        headers.append(("WWW-Authenticate", "Bearer"))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers + _headers(environ))
    return [content]
