"""BankEntry's funding_request and suggested_funding_request become bank_transfer and
suggested_bank_transfer, after the model they point at (banktransfers' 0009): the columns
are renamed with their values. Their labels are now the fields' own names. The audit log's
allocations name the bank transfer by its field's new name."""

from django.db import migrations, models
import django.db.models.deletion

ALLOCATE = "bank_entry.allocate"


def _changes_key_rename(apps, old: str, new: str) -> None:
    AuditEntry = apps.get_model("core", "AuditEntry")
    entries = AuditEntry.objects.filter(action=ALLOCATE, changes__has_key=old)
    for entry in entries.iterator(chunk_size=2000):
        entry.changes = {new if key == old else key: value for key, value in entry.changes.items()}
        entry.save(update_fields=["changes"])


def audit_changes_forwards(apps, schema_editor) -> None:
    _changes_key_rename(apps, "funding_request", "bank_transfer")


def audit_changes_backwards(apps, schema_editor) -> None:
    _changes_key_rename(apps, "bank_transfer", "funding_request")


class Migration(migrations.Migration):

    dependencies = [
        ("banktransfers", "0009_bank_transfer_model_name"),
        ("core", "0002_idempotency_key_scope_per_caller"),
        ("reconciliation", "0002_bank_transfer_field_names"),
    ]

    operations = [
        migrations.RenameField(
            model_name="bankentry", old_name="funding_request", new_name="bank_transfer"
        ),
        migrations.RenameField(
            model_name="bankentry",
            old_name="suggested_funding_request",
            new_name="suggested_bank_transfer",
        ),
        migrations.AlterField(
            model_name="bankentry",
            name="bank_transfer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bank_entries",
                to="banktransfers.banktransfer",
            ),
        ),
        migrations.AlterField(
            model_name="bankentry",
            name="suggested_bank_transfer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="banktransfers.banktransfer",
            ),
        ),
        migrations.RunPython(audit_changes_forwards, audit_changes_backwards),
    ]
