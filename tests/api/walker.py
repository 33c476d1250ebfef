"""Walk every operation of the API's OpenAPI schema and build a request for it.

Path parameters are filled from the factories in objects.py (or an enum's first value),
required query parameters and bodies with the smallest values the schema accepts, or with the
body in objects.BODIES. Anything the walker cannot fill is a failure that says what to add.
"""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client

from billtone.accounts.models import Membership

from .objects import BODIES, OBJECTS

SCHEMA_URL = "/api/v1/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
OPERATOR_SCHEME = "OperatorTokenAuth"
CUSTOMER_SCHEME = "CustomerTokenAuth"


class CannotFill(Exception):
    pass


@dataclass
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    root: dict[str, Any] = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def schemes(self) -> set[str]:
        return {name for requirement in self.spec.get("security", []) for name in requirement}

    @property
    def is_operator(self) -> bool:
        return OPERATOR_SCHEME in self.schemes

    def parameters(self, location: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == location]

    @property
    def object_parameters(self) -> list[str]:
        """Path parameters that name an object (not an enum of kinds)."""
        return [
            p["name"]
            for p in self.parameters("path")
            if "enum" not in resolve(p.get("schema", {}), self.root)
        ]


def operations(client: Client) -> list[Operation]:
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200, response.content
    root = response.json()
    found = [
        Operation(method=method, path=path, spec=spec, root=root)
        for path, item in root["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    assert found, "the OpenAPI schema lists no operations"
    return found


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def minimal(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The smallest value `schema` accepts, where that is easy to tell."""
    schema = resolve(schema, root)
    for key in ("const", "default", "example"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(o, root) for o in schema[key]]
            usable = [o for o in options if o.get("type") != "null"] or options
            return minimal(usable[0], root)
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in (resolve(p, root) for p in schema["allOf"]):
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return minimal(merged, root)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        return {name: minimal(properties.get(name, {}), root) for name in required}
    if kind == "array":
        return [minimal(schema.get("items", {}), root)] * schema.get("minItems", 0)
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        return min(value, schema.get("maximum", value))
    if kind == "string":
        return _minimal_string(schema)
    raise CannotFill(f"cannot build a value for schema {schema}")


_FORMATS = {
    "email": "walker@example.com",
    "date": "2025-01-31",
    "date-time": "2025-01-31T12:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
}


def _minimal_string(schema: dict[str, Any]) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "pattern" in schema:
        raise CannotFill(f"a string with pattern {schema['pattern']!r}")
    return "x" * max(schema.get("minLength", 1), 1)


@dataclass
class Request:
    method: str
    url: str
    body: Any = None


def build_request(operation: Operation, owner: Membership, made: dict[str, Any]) -> Request:
    """A request for `operation` on objects of `owner`'s account (made once, kept in `made`)."""
    path = operation.path
    for parameter in operation.parameters("path"):
        name = parameter["name"]
        schema = resolve(parameter.get("schema", {}), operation.root)
        if "enum" in schema:
            value = schema["enum"][0]
        elif name in OBJECTS:
            if name not in made:
                made[name] = OBJECTS[name](owner)
            value = made[name]
        else:
            raise CannotFill(
                f"no factory for path parameter {{{name}}}: add one to OBJECTS in "
                "tests/api/objects.py (make an object in the given account, return its id)"
            )
        path = path.replace(f"{{{name}}}", str(value))
    query = {
        p["name"]: _query_value(minimal(p.get("schema", {}), operation.root))
        for p in operation.parameters("query")
        if p.get("required")
    }
    url = f"{path}?{urlencode(query)}" if query else path
    body = None
    if "requestBody" in operation.spec:
        key = (operation.method.upper(), operation.path)
        if key in BODIES:
            body = BODIES[key]
        else:
            content = operation.spec["requestBody"].get("content", {})
            if "application/json" not in content:
                raise CannotFill(
                    f"a body of type {sorted(content)}: add one to BODIES in tests/api/objects.py"
                )
            try:
                body = minimal(content["application/json"].get("schema", {}), operation.root)
            except CannotFill as error:
                raise CannotFill(f"{error}: add a body to BODIES in tests/api/objects.py") from None
    return Request(method=operation.method.upper(), url=url, body=body)


def _query_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def send(client: Client, request: Request, authorization: str | None):
    """The response, its body read whole even when streamed (a CSV export), as `content`."""
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if request.body is None:
        response = client.generic(request.method, request.url, **headers)
    else:
        response = client.generic(
            request.method,
            request.url,
            json.dumps(request.body),
            content_type="application/json",
            **headers,
        )
    if not response.streaming:
        return response
    whole = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
    for name, value in response.items():
        whole[name] = value
    return whole
