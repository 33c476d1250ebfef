import json

from django import forms
from django.contrib import admin
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
    url = forms.URLField(max_length=500, assume_scheme="https")
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
    readonly_fields = ["secret", "created_at"]

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

    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
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
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload_shown",
    ]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_shown(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2))

    @admin.action(description="Resend (a fresh attempt now)", permissions=["resend"])
    def resend(self, request, queryset):
        count = webhook_delivery_resend(
            delivery_ids=list(queryset.values_list("pk", flat=True)), actor=_actor(request)
        )
        self.message_user(request, f"{count} webhook deliveries queued to be sent again.")

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_webhookdelivery")
