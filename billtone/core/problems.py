"""RFC 9457 problem+json responses, the one error shape of the API."""

import json
from typing import Any

from django.http import HttpResponse

from billtone.core.errors import ApplicationError, problem_type

CONTENT_TYPE = "application/problem+json"


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    body = problem_body(
        status=status, slug=slug, title=title, detail=detail, instance=instance, errors=errors
    )
    return HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)


def problem_from_error(error: ApplicationError, *, instance: str | None = None) -> HttpResponse:
    return problem_response(
        status=error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        instance=instance,
        errors=error.errors,
    )
