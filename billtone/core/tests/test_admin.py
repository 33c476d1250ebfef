"""The back office's read-only pages, written once (core.admin.ReadOnlyAdmin): the ledger's,
payments' and bank transfers' pages and the audit log use it."""

from django.contrib import admin
from django.test import RequestFactory

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.models import AuditEntry


def test_a_read_only_admin_shows_rows_and_refuses_every_change_even_to_a_superuser(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[AuditEntry]

    assert isinstance(model_admin, ReadOnlyAdmin)
    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
