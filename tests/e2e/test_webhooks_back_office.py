"""Webhooks in the back office as operator staff meet them: an endpoint added (its secret
shown), an event its receiver refuses with a 500 in the delivery log with that status, and
"Resend" once the receiver is fixed: delivered."""

import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from billtone.core import clock
from billtone.notifications.models import WebhookDelivery, WebhookEndpoint
from billtone.notifications.services import webhook_event_queue
from billtone.notifications.tests import test_webhooks
from billtone.notifications.tests.test_webhooks import PAYLOAD
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ZONED_TIME = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d (CET|CEST)")

# The operator's PBX: a local HTTP server (a thread) that verifies each request's signature
# and answers with the status codes it is given.
receiver = test_webhooks.receiver


def test_staff_add_an_endpoint_see_a_failed_delivery_and_resend_it(
    page, shot, staff, receiver, settings
):
    settings.BILLTONE_OPERATOR_TIME_ZONE = "Europe/Berlin"

    # An endpoint: its secret is made with it and shown.
    page.goto("/admin/notifications/webhookendpoint/add/")
    page.fill("#id_url", receiver.url)
    page.fill("#id_description", "PBX provisioning")
    page.get_by_label(re.compile("Phone users and numbers became active")).check()
    expect(page.locator("#content-main")).not_to_contain_text("whsec_")  # made when saved
    shot("endpoint-add")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["items.allocated"]
    expect(page.locator(".field-secret_shown")).to_contain_text(endpoint.secret)
    shot("endpoint-secret-shown")
    receiver.secret = endpoint.secret

    # An event the PBX refuses (500): pending, with the status code in the log.
    receiver.answers = [500]
    [delivery] = webhook_event_queue(
        event_type="items.allocated", payload=PAYLOAD, key="items.allocated:checkout:1"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", 500)
    page.goto("/admin/notifications/webhookdelivery/")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Pending, HTTP 500 (attempt 1)")
    expect(row).to_contain_text(ZONED_TIME)
    shot("delivery-log-failed-attempt")
    row.get_by_role("link").first.click()
    expect(page.locator(".field-last_error")).to_contain_text("HTTP 500")
    shot("delivery-failed-detail")

    # The PBX fixed a minute later, staff choose "Resend": delivered.
    with time_machine.travel(clock.now() + timedelta(minutes=1)):
        page.goto("/admin/notifications/webhookdelivery/")
        page.locator("#result_list input.action-select").first.check()
        page.select_option("select[name=action]", "resend")
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist")).to_have_text("1 of 1 chosen queued to be sent again.")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert delivery.last_status_code == 204 and len(receiver.events) == 2 and receiver.refused == []
    expect(page.locator("#result_list tbody tr").first).to_contain_text(
        "Delivered, HTTP 204 (attempt 2)"
    )
    shot("delivery-log-delivered")

    page.set_viewport_size(PHONE)
    page.goto(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/")
    expect(page.locator(".field-status")).to_contain_text(WebhookDelivery.Status.DELIVERED.label)
    expect(page.locator(".field-next_attempt")).to_contain_text("none: delivered")
    shot("delivery-phone")
