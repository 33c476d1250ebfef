"""The auto top-up's emails, stored unrendered and rendered when sent (decision 0006) to the
billing email of that moment: a top-up made or failed, auto top-up turned off after
failures, paused by the operator's caps, and the customer's low-credit warning."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.money import Money
from billtone.ledger.selectors import account_locale
from billtone.notifications.renderers import EmailGone, RenderedEmail, email_templates_render
from billtone.notifications.services import billing_email_queue_unrendered

TEMPLATE = "rating.auto_top_up"
NOT_SENT = "The payment did not reach the payment provider. Nothing was charged."


def _queue(*, account: Account, key: str, context: dict) -> None:
    billing_email_queue_unrendered(account=account, key=key, template=TEMPLATE, context=context)


def top_up_queue(*, top_up, event: str) -> None:
    _queue(
        account=top_up.account,
        key=f"auto-top-up:{top_up.pk}:{event}",
        context={"event": event, "top_up_id": top_up.pk},
    )


def turned_off_queue(*, setting) -> None:
    _queue(
        account=setting.account,
        key=f"auto-top-up-off:{setting.account_id}:{setting.turned_off_at.isoformat()}",
        context={"event": "turned_off", "account_id": setting.account_id},
    )


def capped_queue(*, setting, reason: str) -> None:
    """Once per pause: the key carries the reason and the day (a cap hit again tomorrow is
    said again)."""
    day = clock.now().date().isoformat()
    _queue(
        account=setting.account,
        key=f"auto-top-up-cap:{setting.account_id}:{day}:{reason}"[:200],
        context={"event": "capped", "account_id": setting.account_id, "reason": reason},
    )


def low_credit_queue(*, setting, credit: Money) -> None:
    _queue(
        account=Account.objects.get(pk=setting.account_id),
        key=f"low-credit:{setting.account_id}:{clock.now().isoformat()}",
        context={
            "event": "low_credit",
            "account_id": setting.account_id,
            "credit": credit.plain(),
            "level": Money(setting.low_credit_level, setting.currency).plain(),
            "currency": setting.currency,
        },
    )


def page_url() -> str:
    return settings.BILLTONE_PANEL_URL + reverse("topup:auto-top-up")


def auto_top_up_email_render(context: dict[str, object]) -> RenderedEmail:
    from billtone.rating.models import AutoTopUp, TopUp

    event = context.get("event")
    values: dict[str, object] = {"page_url": page_url(), "event": event}
    if event in ("succeeded", "failed"):
        top_up = TopUp.objects.select_related("account", "invoice").filter(
            pk=context.get("top_up_id")
        )
        top_up = top_up.first()
        if top_up is None:
            raise EmailGone(f"No top-up {context.get('top_up_id')!r}.")
        locale = account_locale(account=top_up.account)
        values |= {
            "top_up": top_up,
            "amount": Money(top_up.amount, top_up.currency).format(locale),
            "gross": Money(top_up.gross, top_up.currency).format(locale),
            "paid_by": top_up.get_paid_by_display(),
            "invoice": top_up.invoice.number if top_up.invoice else "",
            "reason": top_up.failure_message,
        }
    else:
        setting = AutoTopUp.objects.select_related("account").filter(
            account_id=context.get("account_id")
        )
        setting = setting.first()
        if setting is None:
            raise EmailGone(f"No auto top-up settings for {context.get('account_id')!r}.")
        locale = account_locale(account=setting.account)
        currency = str(context.get("currency") or setting.currency)
        values |= {
            "setting": setting,
            "reason": context.get("reason") or setting.turned_off_reason,
            "credit": _formatted(context.get("credit"), currency, locale),
            "level": _formatted(context.get("level"), currency, locale),
        }
    if event not in ("succeeded", "failed", "turned_off", "capped", "low_credit"):
        raise EmailGone(f"Unknown auto top-up email {event!r}.")
    email = email_templates_render(f"auto_top_up_{event}", values)
    return RenderedEmail(subject=email.subject, body_text=email.body_text, body_html="")


def _formatted(amount: object, currency: str, locale: str) -> str:
    if not amount:
        return ""
    return Money(Decimal(str(amount)), currency).format(locale)
