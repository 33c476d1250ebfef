"""Errors of rating, each with a stable problem type (RFC 9457)."""

from billtone.core.errors import ApplicationError


class RateDeckInvalid(ApplicationError):
    """A deck that cannot be imported: `errors["file"]` holds one message per bad line
    ("Line 7: ..."), `line_errors` the same as (line, message); other fields (name,
    currency, effective_from) their own. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]], line_errors: list | None = None):
        count = len(errors.get("file", []))
        detail = (
            f"The rate deck has {count} bad line{'s' if count != 1 else ''}; nothing was imported."
            if count
            else "The rate deck cannot be imported: " + " ".join(sum(errors.values(), []))
        )
        super().__init__(
            detail=detail,
            slug="rate-deck-invalid",
            title="Invalid rate deck",
            status=422,
            errors=errors,
        )
        self.line_errors = line_errors or []
