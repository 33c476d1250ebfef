"""The operator's read-only view of the ledger. Corrections are reversing transactions, posted
by services, never edits here."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.clock import time_shown
from billtone.ledger.models import LedgerAccount, Posting, Transaction

RECENT_POSTINGS = 50


def _postings_table(postings) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><a href='{}'>#{}</a></td><td>{}</td><td>{}</td>"
        "<td style='text-align:right'>{}</td><td style='text-align:right'>{}</td></tr>",
        (
            (
                time_shown(p.created_at),
                reverse("admin:ledger_transaction_change", args=[p.transaction_id]),
                p.transaction_id,
                p.transaction.kind,
                p.transaction.memo,
                p.amount,
                p.balance_after,
            )
            for p in postings
        ),
    )
    return format_html(
        "<table><thead><tr><th>Posted</th><th>Transaction</th><th>Kind</th>"
        "<th>Description</th><th>Amount</th><th>Balance after</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "kind", "currency", "balance", "floor"]
    list_filter = ["kind", "currency"]
    search_fields = ["account__name", "=id"]
    list_select_related = ["account"]
    fields = [
        "account",
        "kind",
        "currency",
        "balance",
        "floor",
        "created_at",
        "recent_postings",
    ]
    readonly_fields = fields

    @admin.display(description="Owner")
    def owner(self, obj):
        return obj.account.name if obj.account_id else "Operator"

    @admin.display(description=f"Latest {RECENT_POSTINGS} postings")
    def recent_postings(self, obj):
        postings = list(
            obj.postings.select_related("transaction").order_by("-id")[:RECENT_POSTINGS]
        )
        link = reverse("admin:ledger_posting_changelist") + f"?ledger_account__id__exact={obj.pk}"
        return format_html(
            "{}<p><a href='{}'>All postings of this ledger account</a></p>",
            _postings_table(postings),
            link,
        )


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    fields = ["ledger_account", "amount", "currency", "balance_after"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "memo", "external_reference", "created_by"]
    list_filter = ["kind"]
    search_fields = ["memo", "external_reference", "statement_reference", "idempotency_key", "=id"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "memo",
        "statement_reference",
        "external_reference",
        "created_by",
        "idempotency_key",
        "reverses",
        "reversed_by",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [PostingInline]

    @admin.display(description="Reversed by")
    def reversed_by(self, obj):
        reversal = Transaction.objects.filter(reverses=obj).first()
        return reversal or "—"


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "ledger_account",
        "transaction",
        "amount",
        "currency",
        "balance_after",
    ]
    list_filter = ["currency", "ledger_account__kind"]
    list_select_related = ["ledger_account__account", "transaction"]
    raw_id_fields = ["ledger_account", "transaction"]
    fields = [
        "transaction",
        "ledger_account",
        "amount",
        "currency",
        "balance_after",
        "created_at",
    ]
    readonly_fields = fields
