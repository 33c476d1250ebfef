"""RFC 9457 problem+json responses, the one error shape of the API."""

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

from billtone.core.errors import ApplicationError, problem_type
from billtone.core.schemas import Problem

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


def request_refused_body(error: Exception, *, instance: str | None = None) -> dict[str, Any]:
    """A request Django refuses to read (SuspiciousOperation: more query or form fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, a body over DATA_UPLOAD_MAX_MEMORY_SIZE): a 400 problem,
    never a 500."""
    return problem_body(
        status=400,
        slug="request-refused",
        title="Request refused",
        detail=f"This request cannot be read: {error}",
        instance=instance,
    )


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


_LOCATIONS = {"body", "query", "path", "header", "cookie", "form"}


def validation_errors(errors: list[dict]) -> dict[str, list[str]]:
    """Pydantic's errors by field, named as the client sends it: `page`, `amount` (not
    `query.page`). The API's 422 (config/api.py) and the authorization's lean path."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = list(error.get("loc", []))
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        loc = [str(part) for part in loc if part != "payload"]
        name = ".".join(loc) or "request"
        fields.setdefault(name, []).append(error.get("msg", "Invalid value."))
    return fields


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_PROBLEM_REF = "#/components/schemas/Problem"
_IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Kept per caller (the token's user and account). Replays the first response for the "
        "same key and body (compared as parsed JSON); the same key with another body is "
        "refused (422); a key whose first request is still running answers 409; a response "
        "that showed a secret is never kept: its replay is a 410 `secret-shown-once` problem "
        "with the created object's `id`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
}


def _implied_errors(method: str, operation: dict[str, Any], root: dict[str, Any]) -> set[int]:
    """The errors the API's handlers and idempotency give any such operation, declared or not."""
    parameters = operation.get("parameters", [])
    codes: set[int] = set()
    if operation.get("security"):
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in parameters):
        codes.add(404)
    if parameters or "requestBody" in operation:
        codes.add(422)
    if "requestBody" in operation:
        codes.add(400)  # a body that is not JSON
    if method == "post":
        codes |= {400, 409, 422}  # Idempotency-Key: invalid, in progress, reused
        if _shows_a_secret(operation, root):
            codes.add(410)  # Idempotency-Key: a replay of a response that showed a secret
    return codes


def _shows_a_secret(operation: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether a success response has a field typed ShownOnce (billtone/core/schemas.py)."""
    components = root.get("components", {}).get("schemas", {})
    for code, response in operation.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if str(code).startswith("2") and "$ref" in schema:
            properties = components.get(schema["$ref"].rsplit("/", 1)[-1], {}).get("properties")
            if any(field.get("x-shown-once") for field in (properties or {}).values()):
                return True
    return False


def openapi_document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI schema say what the API serves on errors.

    Ninja documents every response as application/json and only the codes a route declares;
    errors are problem+json, and the handlers in config/api.py and the Idempotency-Key rule
    (billtone/core/idempotency.py) answer some codes on any route (401/403 on every protected
    one, 422 on bad input, ...).
    """
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            parameters = operation.setdefault("parameters", [])
            if method == "post" and not any(
                p.get("name") == _IDEMPOTENCY_KEY_PARAMETER["name"] for p in parameters
            ):
                parameters.append(dict(_IDEMPOTENCY_KEY_PARAMETER))
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if str(code).isdigit()}
            for code in sorted(_implied_errors(method, operation, schema) - declared):
                responses[code] = {
                    "description": HTTPStatus(code).phrase,
                    "content": {CONTENT_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
                }
            for response in responses.values():
                content = response.get("content", {})
                json_content = content.get("application/json", {})
                if json_content.get("schema", {}).get("$ref") == _PROBLEM_REF:
                    response["content"] = {CONTENT_TYPE: content.pop("application/json")}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    return schema
