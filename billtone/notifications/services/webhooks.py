"""Events for the operator's systems (the PBX), sent as Standard Webhooks
(https://www.standardwebhooks.com): one stored delivery per endpoint that takes the event,
sent after commit, signed with the `standardwebhooks` package, retried with growing delays
until the endpoint answers 2xx."""

import functools
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from standardwebhooks import Webhook

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor, audit_record, changes_between
from billtone.notifications.models import WEBHOOK_EVENT_TYPES, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# The wait after each failed attempt; after the last one the delivery has failed (a resend in
# the back office starts the schedule again). About 28 hours in all, as Svix retries.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# While an attempt is under way the delivery is not due (well beyond the HTTP timeout).
LEASE = timedelta(minutes=2)
ANSWER_KEPT = 500  # characters of a refusing endpoint's answer kept in last_error

Status = WebhookDelivery.Status


@functools.cache
def _endpoints_query() -> tuple[str, ModelColumns]:
    """The active endpoints, each row ending with whether the key was queued already."""
    columns = ModelColumns(WebhookEndpoint, "e")
    sql = (
        f"SELECT {columns.select}, EXISTS(SELECT 1 FROM notifications_webhookdelivery d "  # noqa: S608 (names from the model)
        f"WHERE d.key = %s) FROM {columns.table} WHERE e.active ORDER BY e.id"
    )
    return sql, columns


def webhook_event_queue(
    *, event_type: str, payload: dict[str, Any], key: str
) -> list[WebhookDelivery]:
    """Store `event_type` with `payload` (JSON) for every active endpoint that takes it; they
    are sent after the surrounding transaction commits, and nothing is sent if it rolls back.
    `key` names the event: queuing it again returns the deliveries stored the first time
    (none when no endpoint is active any more: nothing is queued then either)."""
    if event_type not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {event_type!r}")
    # One query for the endpoints and whether the key was queued already (decision 0021).
    # Written once (core/rows.py): every card checkout tells the PBX (decision 0021).
    sql, columns = _endpoints_query()
    using = router.db_for_read(WebhookEndpoint)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [key])
        rows = cursor.fetchall()
    endpoints = [columns.instance(row, 0, using=using) for row in rows]
    if rows and rows[0][len(columns)]:
        return list(WebhookDelivery.objects.filter(key=key).order_by("endpoint_id"))
    now = clock.now()
    deliveries = []
    for endpoint in endpoints:
        if not endpoint.takes(event_type):
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    endpoint=endpoint,
                    key=key,
                    event_type=event_type,
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
        except IntegrityError:  # queued meanwhile by another transaction under the same key
            delivery = WebhookDelivery.objects.get(endpoint=endpoint, key=key)
        else:
            transaction.on_commit(partial(_schedule, delivery.pk))
        deliveries.append(delivery)
    return deliveries


def _schedule(delivery_id: int) -> None:
    from billtone.notifications.tasks import webhook_deliver

    try:
        webhook_deliver.delay(delivery_id)
    except Exception:  # broker down: the periodic retry task will send it
        logger.warning("Could not schedule webhook delivery %s; it stays pending", delivery_id)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The body every attempt sends, in the shape the Standard Webhooks spec recommends."""
    event = {
        "type": delivery.event_type,
        "timestamp": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(delivery: WebhookDelivery, body: bytes, at: datetime) -> dict[str, str]:
    signature = Webhook(delivery.endpoint.secret).sign(
        msg_id=delivery.msg_id, timestamp=at, data=body
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": "Billtone-Webhooks/1",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


@dataclass(frozen=True)
class _Answer:
    status_code: int | None  # None: no HTTP answer (refused, timed out, DNS...)
    error: str  # empty when the endpoint took it (2xx)


def _opener_build() -> urllib.request.OpenerDirector:
    """http and https only (any other scheme is an error, file: included), and no redirects:
    urllib would follow one as a bodiless GET, so a 3xx is an answer other than 2xx."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


_opener = _opener_build()


def _post(delivery: WebhookDelivery, at: datetime) -> _Answer:
    body = webhook_body(delivery)
    request = urllib.request.Request(  # noqa: S310 (_opener opens http(s) only)
        delivery.endpoint.url,
        data=body,
        headers=webhook_headers(delivery, body, at),
        method="POST",
    )
    try:
        with _opener.open(request, timeout=settings.BILLTONE_WEBHOOK_TIMEOUT) as response:
            return _Answer(response.status, "")
    except urllib.error.HTTPError as error:  # answered, but not 2xx
        return _Answer(error.code, f"HTTP {error.code} {error.reason}: {_text(error)}".strip(" :"))
    except Exception as error:  # refused, timed out, DNS, TLS, a bad URL: retried later
        return _Answer(None, f"{type(error).__name__}: {error}")


def _text(error: urllib.error.HTTPError) -> str:
    """The start of a refusing endpoint's answer, for the delivery log."""
    try:
        return error.read(ANSWER_KEPT).decode(errors="replace").strip()
    except Exception:  # the body did not come (timed out, cut): the status says enough
        return ""


def webhook_send(*, delivery_id: int) -> WebhookDelivery:
    """Make one attempt at a pending delivery that is due. Safe to run twice: only the run
    whose conditional update claims it sends it, and a delivered one is never sent again."""
    now = clock.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE, last_attempt_at=now, sending_since=now)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not claimed:
        return delivery
    done = WebhookDelivery.objects.filter(pk=delivery_id)
    if not delivery.endpoint.active:
        done.update(
            status=Status.FAILED,
            last_error="Not sent: the endpoint is inactive.",
            sending_since=None,
        )
    else:
        answer = _post(delivery, now)
        if not answer.error:
            done.update(
                status=Status.DELIVERED,
                attempts=F("attempts") + 1,
                last_status_code=answer.status_code,
                last_error="",
                delivered_at=clock.now(),
                sending_since=None,
            )
        else:
            _attempt_failed(delivery, answer, began=now)
    delivery.refresh_from_db()
    return delivery


def _attempt_failed(delivery: WebhookDelivery, answer: _Answer, *, began: datetime) -> None:
    """Due again the next delay of the schedule after the attempt began; failed after the last."""
    attempts = delivery.attempts + 1
    made = attempts - delivery.schedule_from  # attempts in this schedule
    gave_up = made > len(RETRY_DELAYS)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED if gave_up else Status.PENDING,
        attempts=attempts,
        last_status_code=answer.status_code,
        last_error=answer.error[:2000],
        next_attempt_at=began if gave_up else began + RETRY_DELAYS[made - 1],
        sending_since=None,
    )
    logger.warning(
        "Webhook %s to %s failed (attempt %s%s): %s",
        delivery.msg_id,
        delivery.endpoint.url,
        attempts,
        ", gave up" if gave_up else "",
        answer.error,
    )


def webhook_retry_due(*, limit: int = 500) -> list[int]:
    """The pending deliveries due now, the longest waiting first."""
    return list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_delivery_resend(*, delivery_ids: list[int], actor: Actor) -> int:
    """Queue a fresh attempt at each delivery (the back office's "Resend"), delivered or not,
    with the same `webhook-id` (the receiver can tell it has seen it) and a new retry
    schedule; sent after commit. One whose attempt is under way is left alone. Returns how
    many were queued."""
    now = clock.now()
    in_flight = Q(status=Status.PENDING, sending_since__gt=now - LEASE)
    resent = 0
    chosen = WebhookDelivery.objects.filter(pk__in=delivery_ids).exclude(in_flight)
    for delivery in chosen.order_by("pk"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING,
            next_attempt_at=now,
            schedule_from=F("attempts"),
            sending_since=None,
        )
        audit_record(actor=actor, action="webhook_delivery.resend", obj=delivery)
        transaction.on_commit(partial(_schedule, delivery.pk))
        resent += 1
    return resent


@dataclass(frozen=True)
class WebhookEndpointInput:
    url: str
    event_types: list[str]
    active: bool = True
    description: str = ""


def webhook_endpoint_clean(data: WebhookEndpointInput) -> dict[str, Any]:
    """The endpoint's fields as stored, or ValidationFailed naming the wrong ones."""
    errors = {}
    unknown = sorted(set(data.event_types) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        errors["event_types"] = [f"Unknown event type: {', '.join(unknown)}."]
    if not data.url.lower().startswith(("https://", "http://")):
        errors["url"] = ["Enter an http:// or https:// URL."]
    if errors:
        raise ValidationFailed(errors)
    return {
        "url": data.url,
        "event_types": sorted(set(data.event_types)),
        "active": data.active,
        "description": data.description,
    }


def webhook_endpoint_save(
    *, data: WebhookEndpointInput, actor: Actor, endpoint_id: int | None = None
) -> WebhookEndpoint:
    """An endpoint made (with a new secret) or changed, and audited (the secret is not)."""
    values = webhook_endpoint_clean(data)
    if endpoint_id is None:
        endpoint, action, before = WebhookEndpoint(), "webhook_endpoint.create", {}
    else:
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        action = "webhook_endpoint.update"
        before = {name: getattr(endpoint, name) for name in values}
    changes = changes_between(before, values)
    if not changes:
        return endpoint
    for name, value in values.items():
        setattr(endpoint, name, value)
    endpoint.save()
    audit_record(actor=actor, action=action, obj=endpoint, changes=changes)
    return endpoint
