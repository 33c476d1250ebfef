"""What the import and review pages share."""

from billtone.core.errors import ApplicationError
from billtone.core.services import Actor


def staff_actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def form_errors(form, error: ApplicationError, default_field: str | None = None) -> None:
    """Put a service's error on the form: its fields where they exist, else the whole form."""
    placed = False
    for name, texts in (error.errors or {}).items():
        field = name if name in form.fields else default_field
        for message in texts:
            form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(default_field, error.detail)
