import logging
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from billtone.accounts.models import Account, BillingProfile
from billtone.accounts.selectors import billing_profile_get
from billtone.core import clock
from billtone.core.rows import ModelColumns
from billtone.notifications.models import EmailDelivery
from billtone.notifications.renderers import (
    EmailGone,
    RenderedEmail,
    email_template_render,
    email_templates_render,
)

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
    email = email_templates_render(template, context)
    return _stored(
        key=key,
        account=account,
        to_email=to_email,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
    )


def billing_email_queue_unrendered(
    *,
    account: Account,
    key: str,
    template: str,
    context: dict[str, Any],
    key_is_new: bool = False,
) -> EmailDelivery:
    """A billing notification stored unrendered: `template` names a registered renderer
    (notifications.renderers) and `context` (JSON) what it needs. It is rendered when sent,
    to the account's billing email of that moment. Queuing the same key again returns the
    first delivery (the unique key refuses the second). `key_is_new`: the key names a row
    the caller made in this same transaction (an invoice just issued), so no delivery can
    hold it yet; inside that transaction, with no savepoint."""
    return _stored(
        key=key, key_is_new=key_is_new, account=account, template=template, context=context
    )


def email_queue_bulk(*, template: str, emails: QuerySet) -> list[int]:
    """Store many billing notifications unrendered at once (a statement import's tens of
    thousands), as `billing_email_queue_unrendered` stores one: a pending delivery of
    `template` for every row of `emails`, the caller's query as `values()` with the names
    `key`, `account_id` and `context` (JSON). A key stored already is skipped. Returns the
    ids of the deliveries stored, in ascending order; sending them is the caller's to
    schedule, after commit.

    On PostgreSQL the rows go from the caller's query into the table in one statement,
    none through Python (90,000 in about a second, docs/benchmarks.md)."""
    now = clock.now()
    pending = EmailDelivery.Status.PENDING
    if connection.vendor != "postgresql":
        EmailDelivery.objects.bulk_create(
            [
                EmailDelivery(
                    key=row["key"],
                    account_id=row["account_id"],
                    template=template,
                    context=row["context"],
                    status=pending,
                    created_at=now,
                    next_attempt_at=now,
                )
                for row in emails.iterator(chunk_size=2_000)
            ],
            batch_size=2_000,
            ignore_conflicts=True,
        )
        # Those stored now (a key stored before keeps its own time): the keys as a subquery,
        # not as parameters (SQLite caps their number).
        made = EmailDelivery.objects.filter(created_at=now, key__in=emails.values("key"))
        return sorted(made.values_list("pk", flat=True))
    select, params = emails.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EmailDelivery._meta.db_table} (key, account_id, template, "  # noqa: S608
            "context, to_email, subject, body_text, body_html, status, attempts, last_error, "
            "created_at, next_attempt_at) "
            "SELECT e.key, e.account_id, %s, e.context, '', '', '', '', %s, 0, '', %s, %s "
            f"FROM ({select}) AS e ON CONFLICT (key) DO NOTHING RETURNING id",
            [template, pending, now, now, *params],
        )
        return sorted(pk for (pk,) in cursor.fetchall())


_DELIVERY_ROWS = ModelColumns(EmailDelivery, "e")


def _stored(*, key: str, key_is_new: bool = False, **fields: Any) -> EmailDelivery:
    """Store a pending delivery under `key`, to be sent after commit; one stored meanwhile
    under the same key (the unique constraint) is returned instead. `key_is_new`: no other
    delivery can hold the key, so no savepoint (2 statements of a card checkout's ~50)."""
    now = clock.now()
    try:
        with nullcontext() if key_is_new else transaction.atomic():
            # Written once (core/rows.py): every invoice queues one (decision 0021).
            delivery = _DELIVERY_ROWS.insert(
                EmailDelivery(key=key, created_at=now, next_attempt_at=now, **fields)
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


def email_render(*, delivery: EmailDelivery) -> tuple[str, RenderedEmail]:
    """The address and text `delivery` is sent with now: as stored, or rendered by its
    template's renderer (EmailGone when what it is about is gone), to the account's billing
    email where it names no address."""
    if not delivery.template:
        return delivery.to_email, RenderedEmail(
            delivery.subject, delivery.body_text, delivery.body_html
        )
    email = email_template_render(delivery.template, delivery.context)
    to_email = delivery.to_email
    if not to_email:
        if delivery.account_id is None:
            raise EmailGone("It has neither an address nor an account.")
        try:
            to_email = billing_profile_get(account=delivery.account).billing_email
        except BillingProfile.DoesNotExist:
            to_email = ""
        if not to_email:
            raise EmailGone("The account has no billing email.")
    return to_email, email


def email_send(*, delivery_id: int) -> EmailDelivery:
    """Send one stored email, rendering it first when it was stored unrendered. Safe to run
    twice: only the run that claims it sends it."""
    now = clock.now()
    claimed = EmailDelivery.objects.filter(
        pk=delivery_id, status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=EmailDelivery.Status.SENDING, claimed_at=now)
    delivery = EmailDelivery.objects.get(pk=delivery_id)
    if not claimed:
        return delivery
    try:
        to_email, email = email_render(delivery=delivery)
    except EmailGone as gone:  # nothing to send, now or later
        EmailDelivery.objects.filter(pk=delivery_id).update(
            status=EmailDelivery.Status.FAILED,
            attempts=delivery.attempts + 1,
            last_error=f"Not sent: {gone}"[:2000],
        )
        logger.warning("Email %s not sent: %s", delivery_id, gone)
        delivery.refresh_from_db()
        return delivery
    except Exception as error:  # a renderer's bug or a database hiccup: retry later
        logger.exception("Email %s could not be rendered", delivery_id)
        _attempt_failed(delivery, f"Rendering failed: {type(error).__name__}: {error}")
        delivery.refresh_from_db()
        return delivery
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        to=[to_email],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    # A row stored unrendered keeps what was sent; until then it is rendered at each attempt.
    sent = (
        {
            "to_email": to_email,
            "subject": email.subject,
            "body_text": email.body_text,
            "body_html": email.body_html,
        }
        if delivery.template
        else {}
    )
    try:
        message.send()
    except Exception as error:  # SMTP refused, timed out, DNS...: retry later
        _attempt_failed(delivery, f"{type(error).__name__}: {error}")
        logger.warning(
            "Email %s not sent (attempt %s): %s", delivery_id, delivery.attempts + 1, error
        )
    else:
        EmailDelivery.objects.filter(pk=delivery_id).update(
            status=EmailDelivery.Status.SENT,
            attempts=delivery.attempts + 1,
            sent_at=clock.now(),
            last_error="",
            **sent,
        )
    delivery.refresh_from_db()
    return delivery


def _attempt_failed(delivery: EmailDelivery, error: str) -> None:
    """Pending again after a backoff; failed after MAX_ATTEMPTS."""
    attempts = delivery.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=EmailDelivery.Status.FAILED if gave_up else EmailDelivery.Status.PENDING,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=clock.now() + _backoff(attempts),
    )


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
