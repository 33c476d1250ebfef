import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor
from billtone.notifications.models import (
    WEBHOOK_EVENT_TYPES,
    EmailDelivery,
    WebhookDelivery,
    WebhookEndpoint,
)
from billtone.notifications.renderers import EmailGone
from billtone.notifications.services import (
    WebhookEndpointInput,
    email_render,
    webhook_delivery_resend,
    webhook_endpoint_clean,
    webhook_endpoint_save,
)
from billtone.notifications.services.webhooks import LEASE


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "title", "status", "attempts", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to_email", "subject", "key"]
    readonly_fields = [f.name for f in EmailDelivery._meta.fields] + ["preview"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="to", ordering="to_email")
    def recipient(self, delivery: EmailDelivery) -> str:
        return delivery.to_email or "(billing email, when sent)"

    @admin.display(description="subject", ordering="subject")
    def title(self, delivery: EmailDelivery) -> str:
        return delivery.subject or "(rendered when sent)"

    @admin.display(description="as it would be sent now")
    def preview(self, delivery: EmailDelivery) -> str:
        if not delivery.template or delivery.status == EmailDelivery.Status.SENT:
            return "(as stored above)"
        try:
            to_email, email = email_render(delivery=delivery)
        except EmailGone as gone:
            return f"Not sendable: {gone}"
        except Exception as error:  # a page, not the sender: show why
            return f"Rendering failed: {type(error).__name__}: {error}"
        return format_html(
            "To: {}<br>Subject: {}<pre>{}</pre>", to_email, email.subject, email.body_text
        )


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=sorted(WEBHOOK_EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event, those added later included.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "active"]

    def clean(self):
        data = super().clean()
        try:
            webhook_endpoint_clean(_input(data))
        except ValidationFailed as error:
            for name, messages in error.errors.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return data


def _input(data) -> WebhookEndpointInput:
    return WebhookEndpointInput(
        url=data.get("url") or "",
        event_types=list(data.get("event_types") or []),
        active=bool(data.get("active")),
        description=data.get("description") or "",
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Saved through webhook_endpoint_save (audited). The secret is made with the endpoint and
    shown here: the receiver verifies our signatures with it. An endpoint with deliveries is
    deactivated, not deleted (its delivery log stays)."""

    form = WebhookEndpointForm
    list_display = ["url", "description", "events", "active", "created_at"]
    list_filter = ["active"]

    def get_readonly_fields(self, request, obj=None):
        # Not on the add page: the secret is made when the endpoint is saved, and an unsaved
        # one's default there was not the one stored (copied, it would not verify).
        return ["secret_shown", "created_at"] if obj is not None else []

    @admin.display(description="secret")
    def secret_shown(self, endpoint: WebhookEndpoint) -> str:
        return format_html(
            "<code>{}</code><br>The receiver verifies our signatures with it (Standard Webhooks).",
            endpoint.secret,
        )

    @admin.display(description="event types")
    def events(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types) or "all"

    def save_model(self, request, obj, form, change):
        saved = webhook_endpoint_save(
            data=_input(form.cleaned_data),
            actor=_actor(request),
            endpoint_id=obj.pk,
        )
        obj.pk, obj.secret = saved.pk, saved.secret


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log. "Resend" queues a fresh attempt (same webhook-id, new schedule)."""

    list_display = ["created_at", "event", "outcome", "next_attempt"]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["key", "msg_id"]
    actions = ["resend"]
    fields = [
        "endpoint",
        "event_type",
        "key",
        "msg_id",
        "status",
        "attempts",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "next_attempt",
        "delivered_at",
        "created_at",
        "payload_shown",
    ]
    readonly_fields = fields

    @admin.display(description="event", ordering="event_type")
    def event(self, delivery: WebhookDelivery) -> str:
        return format_html("{}<br>to {}", delivery.event_type, delivery.endpoint)

    @admin.display(description="status", ordering="status")
    def outcome(self, delivery: WebhookDelivery) -> str:
        """The status and the last attempt's answer: "Pending, HTTP 500 (attempt 1)"."""
        if not delivery.attempts:
            return f"{delivery.get_status_display()}, not sent yet"
        code = delivery.last_status_code
        answer = f"HTTP {code}" if code else "no answer"
        return f"{delivery.get_status_display()}, {answer} (attempt {delivery.attempts})"

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: WebhookDelivery):
        if delivery.status == WebhookDelivery.Status.DELIVERED:
            return "none: delivered"
        if delivery.status == WebhookDelivery.Status.FAILED:
            return "none: gave up (Resend tries again)"
        return delivery.next_attempt_at

    @admin.display(description="payload")
    def payload_shown(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2))

    @admin.action(description="Resend (a fresh attempt now)", permissions=["resend"])
    def resend(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True))
        count = webhook_delivery_resend(delivery_ids=chosen, actor=_actor(request))
        self.message_user(request, f"{count} of {len(chosen)} chosen queued to be sent again.")
        if count < len(chosen):
            self.message_user(
                request,
                f"{len(chosen) - count} left alone: an attempt at it is under way or began less "
                f"than {LEASE.seconds // 60} minutes ago and its retry is not due yet. Try again "
                "in a few minutes.",
                level=messages.WARNING,
            )

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_webhookdelivery")
