"""Webhooks against a local HTTP receiver that verifies every request with the
`standardwebhooks` package (the receiver's code, not ours)."""

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from standardwebhooks import Webhook, WebhookVerificationError

from billtone.core import clock
from billtone.core.models import AuditEntry
from billtone.core.services import Actor
from billtone.notifications import tasks
from billtone.notifications.models import WebhookDelivery, WebhookEndpoint
from billtone.notifications.services import (
    RETRY_DELAYS,
    webhook_delivery_resend,
    webhook_event_queue,
    webhook_retry_due,
    webhook_send,
)

Status = WebhookDelivery.Status
PAYLOAD = {
    "account_id": 7,
    "users": [
        {
            "id": 3,
            "name": "Ada",
            "email": "ada@acme.example",
            "extension": "201",
            "plan": "national",
        }
    ],
    "numbers": [{"id": 9, "e164": "+31201234567"}],
}


class Receiver(ThreadingHTTPServer):
    """The PBX's side: verifies each request; answers 400 to one that does not verify, else
    the next of `answers` (then 204)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = ""
        self.answers: list[int] = []
        self.requests: list[tuple[bytes, dict[str, str]]] = []  # every one, as received
        self.events: list[dict] = []  # the verified ones
        self.refused: list[str] = []
        self.delay = 0.0  # seconds before each answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        receiver: Receiver = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = dict(self.headers.items())
        receiver.requests.append((body, headers))
        time.sleep(receiver.delay)
        try:
            event = Webhook(receiver.secret).verify(body, headers)
        except WebhookVerificationError as error:
            receiver.refused.append(str(error))
            status = 400
        else:
            receiver.events.append(event)
            status = receiver.answers.pop(0) if receiver.answers else 204
        self.send_response(status)
        self.end_headers()
        if status >= 300:
            self.wfile.write(b"not taken")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    made = WebhookEndpoint.objects.create(url=receiver.url, description="PBX")
    receiver.secret = made.secret
    return made


def queue(key="items.allocated:checkout:1", event_type="items.allocated", payload=PAYLOAD):
    return webhook_event_queue(event_type=event_type, payload=payload, key=key)


def post_again(receiver, body: bytes, headers: dict[str, str]) -> int:
    """Send a request to the receiver as an attacker or a replay would."""
    request = urllib.request.Request(receiver.url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_an_event_is_sent_after_commit_and_its_signature_verifies(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
        assert receiver.requests == []  # not before commit
    assert receiver.refused == []
    [event] = receiver.events
    assert event["type"] == "items.allocated" and event["data"] == PAYLOAD
    _, headers = receiver.requests[0]
    assert headers["Webhook-Id"] == delivery.msg_id and delivery.msg_id.startswith("msg_")
    assert headers["Webhook-Signature"].startswith("v1,")
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 204 and delivery.delivered_at is not None


def test_a_tampered_body_or_an_old_timestamp_is_refused_by_the_receiver(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queue()
    body, headers = receiver.requests[0]
    tampered = body.replace(b"+31201234567", b"+31209999999")
    assert tampered != body
    assert post_again(receiver, tampered, headers) == 400
    assert receiver.refused == ["No matching signature found"]
    with time_machine.travel(clock.now() + timedelta(minutes=6)):  # a replay, later
        assert post_again(receiver, body, headers) == 400
    assert receiver.refused[-1] == "Message timestamp too old"
    assert len(receiver.events) == 1
    with pytest.raises(WebhookVerificationError):  # another endpoint's secret
        Webhook(WebhookEndpoint(url=receiver.url).secret).verify(body, headers)


def _attempt_until_delivered(delivery, receiver) -> list[timedelta]:
    """Run the periodic task at each due time (and once just before it: nothing is sent then);
    the waits between attempts, as the delivery was scheduled."""
    waits = []
    with time_machine.travel(clock.now(), tick=False) as traveller:
        while delivery.status == Status.PENDING:
            waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
            sent = len(receiver.requests)
            traveller.move_to(delivery.next_attempt_at - timedelta(seconds=1))
            tasks.webhook_retry()
            assert len(receiver.requests) == sent  # not due yet
            traveller.move_to(delivery.next_attempt_at)
            tasks.webhook_retry()
            assert len(receiver.requests) == sent + 1
            delivery.refresh_from_db()
    return waits


def test_a_failing_receiver_gets_retries_with_growing_delays_then_none_once_delivered(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 500, 500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "not taken" in delivery.last_error
    waits = _attempt_until_delivered(delivery, receiver)
    assert waits == list(RETRY_DELAYS[:4])
    assert waits == sorted(waits) and len(set(waits)) == 4  # each wait longer than the last
    assert delivery.status == Status.DELIVERED and delivery.attempts == 5
    assert delivery.last_error == "" and delivery.last_status_code == 204
    ids = {headers["Webhook-Id"] for _, headers in receiver.requests}
    assert ids == {delivery.msg_id}  # every retry is the same message
    with time_machine.travel(clock.now() + timedelta(days=3)):
        tasks.webhook_retry()
        tasks.webhook_retry()
        webhook_send(delivery_id=delivery.pk)
    assert len(receiver.requests) == 5 and receiver.refused == []


def test_a_delivered_event_is_not_sent_again_when_the_tasks_run_twice(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
    tasks.webhook_deliver(delivery.pk)
    tasks.webhook_retry()
    tasks.webhook_retry()
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.status == Status.DELIVERED


def test_a_delivery_being_sent_is_not_sent_by_a_second_run(endpoint, receiver):
    [delivery] = queue()  # not committed: no attempt yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=clock.now() + timedelta(minutes=1),
        last_attempt_at=clock.now(),
        sending_since=clock.now(),
    )  # as the claim of a run still waiting for the endpoint leaves it
    assert webhook_retry_due() == []
    assert webhook_send(delivery_id=delivery.pk).attempts == 0
    assert webhook_delivery_resend(delivery_ids=[delivery.pk], actor=Actor.system()) == 0
    assert receiver.requests == []


def test_a_resend_right_after_a_failed_attempt_is_queued(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    """The retry is not due yet, but no attempt is under way: Resend sends it now."""
    receiver.answers = [500]
    [delivery] = queue()
    webhook_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.next_attempt_at > clock.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_delivery_resend(delivery_ids=[delivery.pk], actor=Actor.system()) == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.attempts == 2


def test_it_gives_up_after_the_schedule_and_a_resend_starts_a_new_one(
    endpoint, receiver, admin_client, django_capture_on_commit_callbacks
):
    receiver.answers = [500] * (len(RETRY_DELAYS) + 2)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
    with time_machine.travel(clock.now(), tick=False) as traveller:
        for _ in RETRY_DELAYS:
            delivery.refresh_from_db()
            traveller.move_to(delivery.next_attempt_at)
            tasks.webhook_retry()
        traveller.shift(timedelta(days=2))
        tasks.webhook_retry()
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED and delivery.attempts == len(RETRY_DELAYS) + 1
    assert len(receiver.requests) == len(RETRY_DELAYS) + 1

    changelist = reverse("admin:notifications_webhookdelivery_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist, {"action": "resend", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.attempts == len(RETRY_DELAYS) + 2
    assert delivery.next_attempt_at - delivery.last_attempt_at == RETRY_DELAYS[0]
    assert AuditEntry.objects.filter(action="webhook_delivery.resend").count() == 1
    with time_machine.travel(delivery.next_attempt_at, tick=False):
        tasks.webhook_retry()  # the receiver takes it now
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    page = admin_client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    )
    assert "+31201234567" in page.content.decode() and delivery.msg_id in page.content.decode()


def test_queuing_in_a_rolled_back_transaction_sends_nothing(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IntegrityError),
        transaction.atomic(),
    ):
        queue()
        raise IntegrityError("the checkout failed")
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_one_delivery_per_active_endpoint_taking_the_event_and_the_same_key_twice(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    cancelled_only = WebhookEndpoint.objects.create(
        url=receiver.url, event_types=["items.cancelled"]
    )
    WebhookEndpoint.objects.create(url=receiver.url, active=False)
    allocated = WebhookEndpoint.objects.create(url=receiver.url, event_types=["items.allocated"])
    first = queue()
    assert [d.endpoint_id for d in first] == [endpoint.pk, allocated.pk]
    assert [d.pk for d in queue()] == [d.pk for d in first]
    assert [d.endpoint_id for d in queue(key="c:1", event_type="items.cancelled")] == [
        endpoint.pk,
        cancelled_only.pk,
    ]
    assert WebhookDelivery.objects.count() == 4
    with pytest.raises(IntegrityError), transaction.atomic():  # the constraint, not a check
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            key=first[0].key,
            event_type="items.allocated",
            payload={},
            created_at=clock.now(),
            next_attempt_at=clock.now(),
        )
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        queue(key="x", event_type="items.exploded")


def test_an_endpoint_that_does_not_answer_is_retried(db, django_capture_on_commit_callbacks):
    server = Receiver()  # bound, never listening: the connection is refused
    url = server.url
    server.server_close()
    WebhookEndpoint.objects.create(url=url)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "refused" in delivery.last_error.lower()


def test_a_redirect_or_a_slow_answer_is_a_failed_attempt(
    endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    receiver.answers = [302]
    with django_capture_on_commit_callbacks(execute=True):
        [redirected] = queue(key="r")
    redirected.refresh_from_db()
    assert redirected.status == Status.PENDING and redirected.last_status_code == 302
    settings.BILLTONE_WEBHOOK_TIMEOUT = 0.2
    receiver.delay = 0.5
    with django_capture_on_commit_callbacks(execute=True):
        [slow] = queue(key="s")
    slow.refresh_from_db()
    assert slow.status == Status.PENDING and slow.last_status_code is None
    assert "timed out" in slow.last_error
    assert len(receiver.requests) == 2


def test_the_back_office_makes_an_endpoint_with_a_secret_and_shows_it(admin_client, receiver):
    add = reverse("admin:notifications_webhookendpoint_add")
    response = admin_client.post(
        add,
        {
            "url": receiver.url,
            "description": "PBX",
            "event_types": ["items.allocated"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    made = WebhookEndpoint.objects.get()
    assert made.secret.startswith("whsec_") and made.event_types == ["items.allocated"]
    Webhook(made.secret)  # a secret the package takes
    page = admin_client.get(reverse("admin:notifications_webhookendpoint_change", args=[made.pk]))
    assert made.secret in page.content.decode()
    assert AuditEntry.objects.filter(action="webhook_endpoint.create").count() == 1
    refused = admin_client.post(add, {"url": "ftp://pbx.example/hooks", "active": "on"})
    assert refused.status_code == 200 and WebhookEndpoint.objects.count() == 1
    assert json.dumps(made.event_types) == '["items.allocated"]'


def _at_once(run, times: int = 4) -> list:
    """`run` in `times` threads at once, each on its own database connection."""
    barrier = threading.Barrier(times)
    results, errors = [], []

    def go():
        try:
            barrier.wait()
            results.append(run())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency")
@pytest.mark.django_db(transaction=True)
def test_periodic_runs_at_once_send_each_due_delivery_once(receiver):
    endpoint = WebhookEndpoint.objects.create(url=receiver.url)
    receiver.secret = endpoint.secret
    receiver.delay = 0.2  # the runs overlap while the receiver answers
    now = clock.now()
    for n in range(3):
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            key=f"k{n}",
            event_type="items.allocated",
            payload=PAYLOAD,
            created_at=now,
            next_attempt_at=now,
        )
    _at_once(tasks.webhook_retry)
    assert len(receiver.requests) == 3 and receiver.refused == []
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(Status.DELIVERED, 1)}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency")
@pytest.mark.django_db(transaction=True)
def test_one_key_queued_at_once_is_stored_and_sent_once(receiver):
    endpoint = WebhookEndpoint.objects.create(url=receiver.url)
    receiver.secret = endpoint.secret

    def queue_committed():
        with transaction.atomic():
            return [d.pk for d in queue()]

    results = _at_once(queue_committed)
    assert len(results) == 4 and len({tuple(pks) for pks in results}) == 1
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1
