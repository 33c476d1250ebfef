"""Application errors with a stable problem type (RFC 9457).

Services raise these; the API turns them into problem+json bodies and the HTMX views into
form errors or messages. `field` names the input the error belongs to, where there is one.
"""

from dataclasses import dataclass, field

PROBLEM_BASE = "https://billtone.dev/problems/"


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


@dataclass
class ApplicationError(Exception):
    detail: str
    slug: str = "invalid-request"
    title: str = "The request could not be processed"
    status: int = 400
    errors: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


class ValidationFailed(ApplicationError):
    def __init__(self, errors: dict[str, list[str]], detail: str = "Some fields are not valid."):
        super().__init__(
            detail=detail, slug="validation-error", title="Invalid input", status=422, errors=errors
        )


class NotFound(ApplicationError):
    def __init__(self, detail: str = "Not found."):
        super().__init__(detail=detail, slug="not-found", title="Not found", status=404)


class PermissionDenied(ApplicationError):
    def __init__(self, detail: str = "You do not have permission to do this."):
        super().__init__(detail=detail, slug="forbidden", title="Forbidden", status=403)


class Conflict(ApplicationError):
    def __init__(self, detail: str, slug: str = "conflict", title: str = "Conflict"):
        super().__init__(detail=detail, slug=slug, title=title, status=409)
