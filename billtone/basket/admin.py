"""The operator's read-only view of checkouts and of the store orders to ship. Changes go
through the services (a checkout is paid or refused, never edited here)."""

from django.contrib import admin

from billtone.basket.models import Checkout, Order, OrderLine
from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin


@admin.register(Checkout)
class CheckoutAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "method",
        "status",
        "gross",
        "currency",
        "payment",
        "invoice",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "method", "currency"]
    search_fields = ["account__name", "idempotency_key", "invoice__number"]
    list_select_related = ["account", "payment", "invoice"]
    date_hierarchy = "created_at"


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["product", "description", "quantity", "unit_price", "currency"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "checkout", "created_at"]
    search_fields = ["account__name"]
    list_select_related = ["account", "checkout"]
    inlines = [OrderLineInline]
