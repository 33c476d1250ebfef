"""The webhooks' back office: the secret shown is the one stored; Resend says what it did."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from billtone.core import clock
from billtone.notifications.models import WebhookDelivery, WebhookEndpoint
from billtone.notifications.tests.test_webhooks import queue

ADMIN = "/admin/notifications/"


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client


def test_the_secret_is_shown_once_made_never_before(staff):
    assert b"whsec_" not in staff.get(f"{ADMIN}webhookendpoint/add/").content
    added = staff.post(
        f"{ADMIN}webhookendpoint/add/",
        {"url": "https://pbx.example/hooks", "description": "PBX", "active": "on"},
    )
    assert added.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    shown = staff.get(f"{ADMIN}webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret.encode() in shown.content


@time_machine.travel(clock.now(), tick=False)  # the retry stays 5 s away
def test_resend_says_which_were_left_alone(staff, django_capture_on_commit_callbacks):
    # The endpoint refuses the connection: the first attempt failed, the retry due in 5 s.
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks", description="PBX")
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = queue()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    listed = staff.get(f"{ADMIN}webhookdelivery/")
    assert b"Pending, no answer (attempt 1)" in listed.content
    # A worker has just claimed its retry and is waiting for the endpoint.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(sending_since=clock.now())

    resent = staff.post(
        f"{ADMIN}webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
        follow=True,
    )
    shown = [str(m) for m in get_messages(resent.wsgi_request)]
    assert shown[0] == "0 of 1 chosen queued to be sent again."
    assert shown[1].startswith("1 left alone: an attempt at it is under way")
