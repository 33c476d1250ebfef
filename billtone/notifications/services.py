import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_get
from billtone.core import clock
from billtone.notifications.models import EmailDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_SENDING = timedelta(minutes=10)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 240))


def email_queue(
    *,
    key: str,
    to_email: str,
    template: str,
    context: dict[str, Any],
    account: Account | None = None,
) -> EmailDelivery:
    """Store an email rendered from notifications/email/<template>.{subject,txt,html};
    it is sent after the surrounding transaction commits. Queuing the same key again returns
    the first delivery."""
    existing = EmailDelivery.objects.filter(key=key).first()
    if existing is not None:
        return existing
    context = {"operator_name": settings.BILLTONE_OPERATOR_NAME, **context}
    subject = render_to_string(f"notifications/email/{template}.subject", context)
    body_text = render_to_string(f"notifications/email/{template}.txt", context)
    try:
        body_html = render_to_string(f"notifications/email/{template}.html", context)
    except TemplateDoesNotExist:
        body_html = ""
    now = clock.now()
    try:
        with transaction.atomic():
            delivery = EmailDelivery.objects.create(
                key=key,
                account=account,
                to_email=to_email,
                subject=" ".join(subject.split())[:250],
                body_text=body_text,
                body_html=body_html,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return EmailDelivery.objects.get(key=key)
    transaction.on_commit(lambda: _schedule(delivery.pk))
    return delivery


def billing_email_queue(
    *, account: Account, key: str, template: str, context: dict[str, Any]
) -> EmailDelivery:
    """A billing notification: always to the account's billing email."""
    profile = billing_profile_get(account=account)
    return email_queue(
        key=key,
        to_email=profile.billing_email,
        template=template,
        account=account,
        context={"account": account, "profile": profile, **context},
    )


def _schedule(delivery_id: int) -> None:
    from billtone.notifications.tasks import email_deliver

    try:
        email_deliver.delay(delivery_id)
    except Exception:  # broker down: the periodic retry task will send it
        logger.warning("Could not schedule email delivery %s; it stays pending", delivery_id)


def email_send(*, delivery_id: int) -> EmailDelivery:
    """Send one stored email. Safe to run twice: only the run that claims it sends it."""
    now = clock.now()
    claimed = EmailDelivery.objects.filter(
        pk=delivery_id, status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=EmailDelivery.Status.SENDING, claimed_at=now)
    delivery = EmailDelivery.objects.get(pk=delivery_id)
    if not claimed:
        return delivery
    message = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body_text,
        to=[delivery.to_email],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )
    if delivery.body_html:
        message.attach_alternative(delivery.body_html, "text/html")
    try:
        message.send()
    except Exception as error:  # SMTP refused, timed out, DNS...: retry later
        attempts = delivery.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        status = EmailDelivery.Status.FAILED if gave_up else EmailDelivery.Status.PENDING
        EmailDelivery.objects.filter(pk=delivery_id).update(
            status=status,
            attempts=attempts,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            next_attempt_at=clock.now() + _backoff(attempts),
        )
        logger.warning("Email %s not sent (attempt %s): %s", delivery_id, attempts, error)
    else:
        EmailDelivery.objects.filter(pk=delivery_id).update(
            status=EmailDelivery.Status.SENT,
            attempts=delivery.attempts + 1,
            sent_at=clock.now(),
            last_error="",
        )
    delivery.refresh_from_db()
    return delivery


def email_retry_due() -> list[int]:
    """Release deliveries stuck in `sending` (a worker died) and return the ids due now."""
    now = clock.now()
    EmailDelivery.objects.filter(
        status=EmailDelivery.Status.SENDING, claimed_at__lt=now - STALE_SENDING
    ).update(status=EmailDelivery.Status.PENDING)
    return list(
        EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:500]
    )
