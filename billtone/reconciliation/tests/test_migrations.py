"""The rename of FundingRequest to BankTransfer (banktransfers 0009, reconciliation 0003) on a
database that holds rows: they stay, linked, under the new names."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("banktransfers", "0008_bank_transfer_verbose_name"),
    ("reconciliation", "0002_bank_transfer_field_names"),
]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _old_rows(apps) -> dict:
    """A bank transfer, a statement entry that it was matched to and one suggested to, its
    content type and a permission a staff user holds on it, audited as before the rename."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    AuditEntry = apps.get_model("core", "AuditEntry")
    account = apps.get_model("accounts", "Account").objects.create(name="Acme", created_at=NOW)
    transfer = apps.get_model("banktransfers", "FundingRequest").objects.create(
        account=account,
        amount=Decimal("250.0000"),
        currency="EUR",
        reference="RF18539007547034",
        created_at=NOW,
        expires_at=NOW + timedelta(days=14),
        created_by_label="owner@acme.test",
        idempotency_key="checkout-1",
    )
    imported = apps.get_model("reconciliation", "StatementImport").objects.create(
        file_name="march.xml", sha256="0" * 64, format="camt053", started_at=NOW
    )
    entry = apps.get_model("reconciliation", "BankEntry").objects.create(
        statement_import=imported,
        identity="entry-1",
        amount=Decimal("240.0000"),
        currency="EUR",
        booking_date=date(2026, 12, 1),
        status="review",
        review_reason="no_reference",
        funding_request=transfer,
        suggested_funding_request=transfer,
        created_at=NOW,
    )
    # As on a database made before the rename: the content type under its old name only.
    ContentType.objects.filter(app_label="banktransfers", model="banktransfer").delete()
    content_type = ContentType.objects.get_or_create(
        app_label="banktransfers", model="fundingrequest"
    )[0]
    view = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_fundingrequest",
        defaults={"name": "Can view funding request"},
    )[0]
    staff = User.objects.create(username="operator", is_staff=True)
    staff.user_permissions.add(view)
    audit = AuditEntry.objects.create(
        actor_label="owner@acme.test",
        action="funding_request.create",
        object_type="banktransfers.FundingRequest",
        object_id=str(transfer.pk),
        changes={"reference": [None, transfer.reference]},
        created_at=NOW,
    )
    allocated = AuditEntry.objects.create(
        actor_label="operator",
        action="bank_entry.allocate",
        object_type="reconciliation.BankEntry",
        object_id=str(entry.pk),
        changes={"status": ["review", "allocated"], "funding_request": [None, "RF18"]},
        created_at=NOW,
    )
    return {
        "transfer": transfer.pk,
        "entry": entry.pk,
        "content_type": content_type.pk,
        "permission": view.pk,
        "staff": staff.pk,
        "audit": audit.pk,
        "allocated": allocated.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_bank_transfer_rename_keeps_the_rows_and_their_links():
    from django.contrib.contenttypes.models import ContentType

    from billtone.banktransfers.models import BankTransfer

    # As when another test in this process has looked it up: the content type in the cache.
    ContentType.objects.get_for_model(BankTransfer)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        others = [node for node in latest if node[0] not in {"banktransfers", "reconciliation"}]
        old = _old_rows(executor.loader.project_state(others + BEFORE).apps)
        # Forward as `billtone migrate` does: its pre_migrate signal is what adds Django's
        # RenameContentType after the RenameModel.
        call_command("migrate", verbosity=0)
    finally:
        MigrationExecutor(connection).migrate(latest)  # the suite's schema, whatever happened
        # The migration changed content types behind this process's cache (a new process,
        # as after `billtone migrate`, starts with an empty one).
        ContentType.objects.clear_cache()

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from billtone.core.models import AuditEntry
    from billtone.reconciliation.models import BankEntry

    transfer = BankTransfer.objects.get(pk=old["transfer"])
    assert (transfer.reference, transfer.amount, transfer.idempotency_key) == (
        "RF18539007547034",
        Decimal("250.0000"),
        "checkout-1",
    )
    assert list(transfer.account.bank_transfers.all()) == [transfer]
    entry = BankEntry.objects.get(pk=old["entry"])
    assert entry.bank_transfer == transfer and entry.suggested_bank_transfer == transfer
    assert list(transfer.bank_entries.all()) == [entry]

    content_type = ContentType.objects.get_for_model(BankTransfer)
    assert content_type.pk == old["content_type"]
    view = Permission.objects.get(content_type=content_type, codename="view_banktransfer")
    assert view.pk == old["permission"] and view.name == "Can view bank transfer"
    assert get_user_model().objects.get(pk=old["staff"]).has_perm("banktransfers.view_banktransfer")

    audit = AuditEntry.objects.get(pk=old["audit"])
    assert (audit.action, audit.object_type) == (
        "bank_transfer.create",
        "banktransfers.BankTransfer",
    )
    allocated = AuditEntry.objects.get(pk=old["allocated"]).changes
    assert allocated == {"status": ["review", "allocated"], "bank_transfer": [None, "RF18"]}
