"""Emails stored unrendered and rendered when they are sent.

An app that queues many emails at once (the statement import: tens of thousands) stores each
with the name of a renderer and a small JSON context instead of its text; the sender renders
it then, from the data as it is at that moment. Apps register their renderers in their
AppConfig.ready(): notifications cannot import them (they depend on notifications).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (an invoice's PDF): made by the renderer at each attempt,
    never stored on the delivery row."""

    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str
    attachments: tuple[Attachment, ...] = ()


class EmailGone(Exception):
    """What the email is about no longer exists (or no longer holds): it is never sent, and
    its delivery is marked failed with this message."""


Renderer = Callable[[dict[str, Any]], RenderedEmail]

_renderers: dict[str, Renderer] = {}


def email_template_register(name: str, render: Renderer) -> None:
    """Make `render(context)` the renderer of deliveries stored with template `name`."""
    if not name or len(name) > 100:
        raise ValueError(f"A template name of 1 to 100 characters, not {name!r}.")
    registered = _renderers.setdefault(name, render)
    if registered is not render:
        raise ValueError(f"The email template {name!r} has a renderer already: {registered!r}.")


def email_template_render(name: str, context: dict[str, Any]) -> RenderedEmail:
    """The email of template `name` for `context`; LookupError when nothing renders it."""
    render = _renderers.get(name)
    if render is None:
        raise LookupError(f"No renderer is registered for the email template {name!r}.")
    return render(context)


def email_templates_render(template: str, context: dict[str, Any]) -> RenderedEmail:
    """notifications/email/<template>.{subject,txt,html} rendered for `context` (and the
    operator's name); the .html is optional."""
    context = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}
    base = f"notifications/email/{template}"
    subject = render_to_string(f"{base}.subject", context)
    body_text = render_to_string(f"{base}.txt", context)
    try:
        body_html = render_to_string(f"{base}.html", context)
    except TemplateDoesNotExist:
        body_html = ""
    return RenderedEmail(" ".join(subject.split())[:250], body_text, body_html)
