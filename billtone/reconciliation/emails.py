"""The "funds received" email, one per credited bank entry, keyed by the entry.

A statement import (tens of thousands at once, once it has committed: funds_emails_queue.py)
and staff allocations store it unrendered, with the entry's identity as its context
(`funds_received_queued`); `funds_received_render` renders it when it is sent, from the
entry (matched or allocated), its funding request and the account's billing profile as they
are then (registered in apps.py).

`EmailRenderer` renders each template once per shape (which values are empty) with markers
in place of the values, then fills the markers in per email, where Django's template engine
and Babel would cost most of a send. The text is the same as `render_to_string`'s (tests
compare them); a template whose output it cannot reproduce (a filter on a value) is rendered
by Django every time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from billtone.banktransfers.references import reference_format
from billtone.core.money import Money, locale_for
from billtone.notifications.renderers import EmailGone, RenderedEmail
from billtone.reconciliation.models import BankEntry

TEMPLATE = "funds_received"
KEY_PREFIX = "funds-received:"
CONTEXT_FIELD = "entry"


def funds_received_key(identity: str) -> str:
    return KEY_PREFIX + identity


def funds_received_queued(identity: str) -> dict[str, str]:
    """The context of an unrendered "funds received" delivery: the entry's identity."""
    return {CONTEXT_FIELD: identity}


def funds_received_render(context: dict[str, object]) -> RenderedEmail:
    """The email of a credited entry, as `funds_received_queued` named it; EmailGone when
    the entry is no longer there or not credited."""
    identity = context.get(CONTEXT_FIELD)
    entry = (
        BankEntry.objects.select_related("funding_request", "account__billing_profile")
        .filter(
            identity=identity,
            status__in=[BankEntry.Status.MATCHED, BankEntry.Status.ALLOCATED],
        )
        .first()
        if isinstance(identity, str)
        else None
    )
    if entry is None:
        raise EmailGone(f"No credited bank entry {identity!r}.")
    request = entry.funding_request
    profile = entry.account.billing_profile
    return _renderer().render(
        funds_received_context(
            company_name=profile.company_name,
            locale=locale_for(language=settings.LANGUAGE_CODE, country=profile.country),
            amount=Money(entry.amount, entry.currency),
            reference=request.reference if request is not None else entry.reference,
            booking_date=entry.booking_date,
            payer=entry.payer_name,
            requested=Money(request.amount, request.currency) if request is not None else None,
        )
    )


@lru_cache(maxsize=1)
def _renderer() -> EmailRenderer:
    return EmailRenderer(TEMPLATE)


def funds_received_context(
    *,
    company_name: str,
    locale: str,
    amount: Money,
    reference: str,
    booking_date: date,
    payer: str,
    requested: Money | None,
) -> dict[str, str | bool]:
    """Plain strings and flags only, so that EmailRenderer can fill them in."""
    return {
        "company_name": company_name,
        "amount": money_format(amount, locale),
        "reference": _reference_display(reference),
        "booking_date": booking_date.isoformat(),
        "payer": payer,
        "requested": money_format(requested, locale) if requested is not None else "",
        "different": requested is not None and requested != amount,
    }


@lru_cache(maxsize=65536)
def _reference_display(reference: str) -> str:
    return reference_format(reference) if reference else "(none)"


def money_format(money: Money, locale: str) -> str:
    """Money.format(locale), at a fraction of its cost: see _formatter."""
    shown = money._shown()
    fast = _formatter(money.currency, locale)
    if fast is not None and shown >= 0:
        return fast(shown)
    return _babel(shown, money.currency, locale)


def _babel(amount: Decimal, currency: str, locale: str) -> str:
    loc = _locale(locale)
    return loc.currency_formats["standard"].apply(
        amount, loc, currency=currency, decimal_quantization=False
    )


@lru_cache(maxsize=256)
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


_SAMPLES = [Decimal(v) for v in ("0.5", "7", "12.34", "999.99", "1000", "12345.6", "1234567.891")]


@lru_cache(maxsize=256)
def _formatter(currency: str, locale: str) -> Callable[[Decimal], str] | None:
    """Babel's layout of positive amounts in this currency and locale (symbol, group and
    decimal separators), read once from its output for 1234567.891 and checked against it
    on sample amounts; None where the layout is not that simple (then Babel formats)."""
    text = _babel(Decimal("1234567.891"), currency, locale)
    found = re.fullmatch(r"(\D*)1(?P<group>\D+)234(?P=group)567(\D+)891(\D*)", text)
    if found is None:
        return None
    prefix, group, point, suffix = found.groups()

    def fast(amount: Decimal) -> str:
        whole, _, fraction = format(amount, "f").partition(".")
        grouped = f"{int(whole):,}".replace(",", group)
        return (
            f"{prefix}{grouped}{point}{fraction}{suffix}"
            if fraction
            else (f"{prefix}{grouped}{suffix}")
        )

    for sample in _SAMPLES:
        shown = Money(sample, currency)._shown()
        if fast(shown) != _babel(shown, currency, locale):
            return None
    return fast


_MARK = re.compile("\x00(<|&lt;)([a-z_]+)(>|&gt;)\x00")


class EmailRenderer:
    """notifications/email/<template>.{subject,txt,html} for many contexts of one layout."""

    def __init__(self, template: str) -> None:
        base = f"notifications/email/{template}"
        self.templates = [get_template(f"{base}.subject"), get_template(f"{base}.txt")]
        try:
            self.templates.append(get_template(f"{base}.html"))
        except TemplateDoesNotExist:
            self.templates.append(None)
        self.shapes: dict[tuple, list | None] = {}

    def render(self, context: dict[str, object]) -> RenderedEmail:
        context = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}
        # The layout depends on which values are empty (and on the empty values themselves,
        # should a template print one).
        shape = tuple(
            (name, True) if value else (name, type(value), value) for name, value in context.items()
        )
        parts = self.shapes.get(shape, False)
        if parts is False:
            parts = self.shapes[shape] = self._compile(context)
        if parts is None or not all(type(v) in (str, bool) for v in context.values()):
            texts = [t.render(context) if t is not None else "" for t in self.templates]
        else:
            texts = [_fill(p, context) if p is not None else "" for p in parts]
        return RenderedEmail(
            subject=" ".join(texts[0].split())[:250], body_text=texts[1], body_html=texts[2]
        )

    def _compile(self, context: dict[str, object]) -> list | None:
        marked = {name: f"\x00<{name}>\x00" if value else value for name, value in context.items()}
        compiled = []
        for template in self.templates:
            if template is None:
                compiled.append(None)
                continue
            text = template.render(marked)
            pieces: list = []
            last = 0
            for match in _MARK.finditer(text):
                if match.group(2) not in context:
                    return None
                pieces.append(text[last : match.start()])
                pieces.append((match.group(2), match.group(1) == "&lt;"))
                last = match.end()
            pieces.append(text[last:])
            if any("\x00" in p for p in pieces if isinstance(p, str)):
                return None  # a filter changed a marker: render with Django
            compiled.append(pieces)
        return compiled


def _fill(pieces: list, context: dict[str, object]) -> str:
    """The text with its markers filled in; escaped where Django escaped them (autoescape
    on: django.utils.html.escape is html.escape of the text)."""
    return "".join(
        piece
        if type(piece) is str
        else (html.escape(str(context[piece[0]])) if piece[1] else str(context[piece[0]]))
        for piece in pieces
    )
