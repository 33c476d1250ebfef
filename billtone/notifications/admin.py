from django.contrib import admin
from django.utils.html import format_html

from billtone.notifications.models import EmailDelivery
from billtone.notifications.renderers import EmailGone
from billtone.notifications.services import email_render


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
