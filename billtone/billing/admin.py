"""Bill runs in the back office: the list with each run's counts, "Start a bill run" (a
confirmation, refused while one is running) and a run's page, its progress polled live."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from billtone.billing.models import BillRun, Dunning
from billtone.billing.selectors import accounts_due, bill_run_live
from billtone.billing.services import BillRunRunning, bill_run_start
from billtone.billing.services.run import STALE_AFTER
from billtone.core import clock
from billtone.core.admin import ReadOnlyAdmin
from billtone.core.services import Actor

FAILURES_SHOWN = 200


@admin.register(BillRun)
class BillRunAdmin(ReadOnlyAdmin):
    change_list_template = "admin/billing/billrun/change_list.html"
    change_form_template = "admin/billing/billrun/change_form.html"
    list_display = [
        "__str__",
        "status",
        "at",
        "started_at",
        "finished_at",
        "started_by",
        "due",
        "invoiced",
        "skipped",
        "failed",
        "paid_from_funds",
        "paid_by_card",
        "left_unpaid",
    ]
    list_filter = ["status"]
    fields = ["at", "started_at", "finished_at", "started_by", "fanned_out", "error"]
    readonly_fields = fields

    def _may_start(self, request) -> bool:
        return request.user.has_perm("billing.add_billrun")

    def changelist_view(self, request, extra_context=None):
        extra = {"may_start": self._may_start(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = BillRun.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = {**self._progress_context(run), **(extra_context or {})} if run else {}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _progress_context(self, run: BillRun) -> dict:
        return {
            "run": run,
            "finished": run.status != BillRun.Status.RUNNING,
            "failures": run.failures.select_related("account")[:FAILURES_SHOWN],
            "progress_url": reverse("admin:billing_billrun_progress", args=[run.pk]),
        }

    def progress_view(self, request, run_id: int):
        """The run's counts and failures alone, for its page to poll."""
        run = BillRun.objects.filter(pk=run_id).first()
        if run is None or not self.has_view_permission(request, run):
            raise Http404("No such bill run.")
        return TemplateResponse(
            request, "admin/billing/billrun/_progress.html", self._progress_context(run)
        )

    def start_view(self, request):
        """GET: what a run would bill now, and a button; POST: start it (once at a time)."""
        if not self._may_start(request):
            raise PermissionDenied
        if request.method == "POST":
            actor = Actor(label=request.user.get_username(), user_id=request.user.pk)
            try:
                run = bill_run_start(actor=actor)
            except BillRunRunning as running:
                messages.error(request, running.detail)
                return HttpResponseRedirect(
                    reverse("admin:billing_billrun_change", args=[running.run.pk])
                )
            messages.success(request, f"Bill run #{run.pk} started.")
            return HttpResponseRedirect(reverse("admin:billing_billrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a bill run",
            "opts": self.model._meta,
            "due": len(accounts_due(at=clock.now())),
            "live": bill_run_live(stale_after=STALE_AFTER),
        }
        return TemplateResponse(request, "admin/billing/billrun/start.html", context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="billing_billrun_start"),
            path(
                "<id:run_id>/progress/", wrap(self.progress_view), name="billing_billrun_progress"
            ),
            *super().get_urls(),
        ]


@admin.register(Dunning)
class DunningAdmin(ReadOnlyAdmin):
    """Bills a collection try failed for: tries made, the next one, why the last failed, and
    whether the account was suspended for it. Changed by dunning's tries and by payments."""

    list_display = [
        "invoice",
        "account",
        "tries",
        "last_try_at",
        "next_try_at",
        "suspended",
        "settled_at",
        "last_failure",
    ]
    list_filter = ["suspended", ("settled_at", admin.EmptyFieldListFilter)]
    search_fields = ["invoice__number", "account__name"]
    list_select_related = ["invoice", "account"]
    readonly_fields = [f.name for f in Dunning._meta.fields]
