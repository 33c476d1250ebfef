"""The operator's read-only view of saved cards and card payments. Changes go through the
services (refunds, recovery), never edits here; no card number exists to show."""

from django.contrib import admin

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.payments.models import AutoPaymentSetting, Payment, SavedCard


@admin.register(SavedCard)
class SavedCardAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "brand",
        "last4",
        "exp_month",
        "exp_year",
        "holder_name",
        "is_default",
        "gateway",
        "created_at",
        "removed_at",
    ]
    list_filter = ["gateway", "brand", "is_default"]
    search_fields = ["account__name", "last4", "holder_name", "gateway_customer"]
    list_select_related = ["account"]


@admin.register(Payment)
class PaymentAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "kind",
        "status",
        "amount",
        "currency",
        "purpose",
        "on_session",
        "failure_code",
        "gateway_reference",
        "created_at",
    ]
    list_filter = ["status", "kind", "purpose", "gateway", "on_session"]
    search_fields = ["account__name", "gateway_reference", "idempotency_key"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"


@admin.register(AutoPaymentSetting)
class AutoPaymentSettingAdmin(ReadOnlyAdmin):
    list_display = ["account", "uses_default_card", "updated_at"]
    list_select_related = ["account"]
