"""The back office's rate decks: the decks and their state, a deck's rates (read only), and
the upload of a new deck, which names every bad line and changes nothing then."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billtone.core import clock
from billtone.core.admin import ReadOnlyAdmin
from billtone.core.services import Actor
from billtone.rating.errors import RateDeckInvalid
from billtone.rating.forms import RateDeckUploadForm
from billtone.rating.models import Rate, RateDeck
from billtone.rating.selectors import rate_deck_state, rate_decks_with_state
from billtone.rating.services import rate_deck_import

LINE_ERRORS_SHOWN = 1000


@admin.register(RateDeck)
class RateDeckAdmin(ReadOnlyAdmin):
    list_display = ["name", "currency", "effective_from", "rates", "state", "created_by"]
    list_filter = ["currency"]
    search_fields = ["name", "source_name"]
    fields = [
        "name",
        "currency",
        "effective_from",
        "state",
        "rates",
        "source_name",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return rate_decks_with_state(now=clock.now())

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("rating.add_ratedeck")

    @admin.display(description="State")
    def state(self, obj):
        return rate_deck_state(obj, now=clock.now())

    @admin.display(description="Rates", ordering="rate_count")
    def rates(self, obj):
        url = reverse("admin:rating_rate_changelist") + f"?deck__id__exact={obj.pk}"
        return format_html("<a href='{}'>{}</a>", url, f"{obj.rate_count:,}")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="rating_ratedeck_upload"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:rating_ratedeck_upload"))

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RateDeckUploadForm(request.POST or None, request.FILES or None)
        line_errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                deck = rate_deck_import(
                    data=data["file"].read(),
                    name=data["name"],
                    currency=data["currency"],
                    effective_from=data["effective_from"],
                    source_name=data["file"].name,
                    actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
                    sub_units=data["sub_units"],
                    column_map=data["column_map"],
                )
            except RateDeckInvalid as error:
                line_errors = error.errors.get("file", [])
                for field in ("name", "currency", "effective_from"):
                    for message in error.errors.get(field, []):
                        form.add_error(field, message)
                if line_errors:
                    form.add_error("file", error.detail)
            else:
                self.message_user(
                    request, f"Imported {deck.name}: {deck.rate_count:,} rates in {deck.currency}."
                )
                return HttpResponseRedirect(reverse("admin:rating_ratedeck_change", args=[deck.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a rate deck",
            "opts": self.model._meta,
            "form": form,
            "line_errors": line_errors[:LINE_ERRORS_SHOWN],
            "line_errors_count": len(line_errors),
            "line_errors_more": max(0, len(line_errors) - LINE_ERRORS_SHOWN),
        }
        return TemplateResponse(request, "admin/rating/ratedeck/upload.html", context)


@admin.register(Rate)
class RateAdmin(ReadOnlyAdmin):
    list_display = [
        "prefix_shown",
        "destination",
        "per_minute",
        "connection_fee",
        "increments",
        "deck",
    ]
    list_filter = ["deck"]
    list_select_related = ["deck"]
    search_fields = ["^prefix", "destination"]
    readonly_fields = [
        "deck",
        "prefix",
        "destination",
        "per_minute",
        "connection_fee",
        "initial_increment",
        "subsequent_increment",
    ]
    fields = readonly_fields
    show_full_result_count = False  # decks hold hundreds of thousands of rates

    @admin.display(description="Prefix", ordering="prefix")
    def prefix_shown(self, obj):
        return f"+{obj.prefix}"

    @admin.display(description="Increments")
    def increments(self, obj):
        return f"{obj.initial_increment}/{obj.subsequent_increment}"

    def get_search_results(self, request, queryset, search_term):
        """'+44 20' and '0044' find prefix 4420 and 44 as typed in a deck."""
        term = search_term.strip()
        digits = term.lstrip("+").replace(" ", "")
        if digits.startswith("00"):
            digits = digits[2:]
        if digits.isdigit():
            search_term = digits
        return super().get_search_results(request, queryset, search_term)
