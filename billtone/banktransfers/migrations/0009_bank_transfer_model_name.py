"""FundingRequest becomes BankTransfer, the one name of the concept (docs/architecture.md,
Glossary): the table is renamed (banktransfers_fundingrequest -> banktransfers_banktransfer)
with its rows, and the content type follows (Django's migrate adds RenameContentType after a
RenameModel), so the admin's history keeps its links. Its permissions keep their rows, and
so whoever holds them, under the new codenames (view_banktransfer...: Django renames the
content type, not the permissions, and would make new ones that nobody holds). The index and
the constraints get names after the model; the audit log's entries about bank transfers are
renamed with it, so that one action and one object type name each."""

from django.db import migrations, models
import django.db.models.deletion

STATUS_VALID = models.Q(
    models.Q(
        ("received_amount__isnull", True),
        ("received_at__isnull", True),
        ("status__in", ["awaiting_funds", "expired"]),
    ),
    models.Q(
        ("received_amount__gt", 0),
        ("received_at__isnull", False),
        ("status__in", ["received", "received_different_amount"]),
    ),
    _connector="OR",
)
REFERENCE_ISO11649 = models.Q(("reference__regex", "^RF[0-9]{2}[0-9A-Z]{1,21}$"))
CURRENCY_ISO = models.Q(("currency__regex", "^[A-Z]{3}$"))
AMOUNT_POSITIVE = models.Q(("amount__gt", 0))
EXPIRES_AFTER_CREATED = models.Q(("expires_at__gt", models.F("created_at")))
IDEMPOTENCY_KEY_SET = models.Q(("idempotency_key__isnull", False))

CHECKS = [
    ("reference_iso11649", REFERENCE_ISO11649),
    ("currency_iso", CURRENCY_ISO),
    ("amount_positive", AMOUNT_POSITIVE),
    ("status_valid", STATUS_VALID),
    ("expires_after_created", EXPIRES_AFTER_CREATED),
]
AUDIT_NAMES = [  # (field, old, new)
    ("action", "funding_request.create", "bank_transfer.create"),
    ("object_type", "banktransfers.FundingRequest", "banktransfers.BankTransfer"),
]


def _constraints(prefix: str) -> list:
    return [
        models.UniqueConstraint(
            condition=IDEMPOTENCY_KEY_SET,
            fields=("account", "idempotency_key"),
            name=f"{prefix}_idempotency_key_unique",
        ),
        *(models.CheckConstraint(condition=q, name=f"{prefix}_{name}") for name, q in CHECKS),
    ]


PERMISSION_ACTIONS = ("add", "change", "delete", "view")


def _permissions_rename(apps, old: str, new: str, label: str) -> None:
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="banktransfers")
    for action in PERMISSION_ACTIONS:
        if not ours.filter(codename=f"{action}_{new}").exists():  # else made by hand: leave it
            ours.filter(codename=f"{action}_{old}").update(
                codename=f"{action}_{new}", name=f"Can {action} {label}"
            )


def permissions_forwards(apps, schema_editor) -> None:
    _permissions_rename(apps, "fundingrequest", "banktransfer", "bank transfer")


def permissions_backwards(apps, schema_editor) -> None:
    _permissions_rename(apps, "banktransfer", "fundingrequest", "funding request")


def _audit_rename(apps, *, forwards: bool) -> None:
    AuditEntry = apps.get_model("core", "AuditEntry")
    for field, old, new in AUDIT_NAMES:
        before, after = (old, new) if forwards else (new, old)
        AuditEntry.objects.filter(**{field: before}).update(**{field: after})


def audit_names_forwards(apps, schema_editor) -> None:
    _audit_rename(apps, forwards=True)


def audit_names_backwards(apps, schema_editor) -> None:
    _audit_rename(apps, forwards=False)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("banktransfers", "0008_bank_transfer_verbose_name"),
        ("core", "0002_idempotency_key_scope_per_caller"),
        # BankEntry's foreign keys are altered in the state reconciliation's 0002 leaves.
        ("reconciliation", "0002_bank_transfer_field_names"),
    ]

    operations = [
        *(
            migrations.RemoveConstraint(model_name="fundingrequest", name=constraint.name)
            for constraint in _constraints("funding_request")
        ),
        migrations.RenameModel(old_name="FundingRequest", new_name="BankTransfer"),
        migrations.RenameIndex(
            model_name="banktransfer",
            new_name="bank_transfer_account_created",
            old_name="banktransfe_account_705789_idx",
        ),
        migrations.AlterModelOptions(
            name="banktransfer",
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.AlterField(
            model_name="banktransfer",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bank_transfers",
                to="accounts.account",
            ),
        ),
        *(
            migrations.AddConstraint(model_name="banktransfer", constraint=constraint)
            for constraint in _constraints("bank_transfer")
        ),
        migrations.RunPython(permissions_forwards, permissions_backwards),
        migrations.RunPython(audit_names_forwards, audit_names_backwards),
    ]
