"""Transaction.statement_reference: what the customer knows a transaction by (a bank
transfer's RF reference), shown on statements instead of external_reference, which holds the
gateway's or bank's ids and stays in the back office.

Existing transactions keep an empty one: history is append-only (migration 0002's trigger
refuses updates), and their memos, the statement's description, already name a bank
transfer's reference. ledger_post() (migration 0007) takes the new column as one more
argument; its body is 0007's with that column added to the transaction's INSERT.
"""

from importlib import import_module

from django.db import migrations, models

_0007 = import_module("billtone.ledger.migrations.0007_postgres_post_function_floors_by_constraint")

SIGNATURE_0007 = """ledger_post(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz,
    bigint[], numeric[], varchar[], bigint[], numeric[]
)"""


def _function_0008() -> str:
    body = _0007.FORWARD.split(f"DROP FUNCTION {_0007.SIGNATURE_0004};", 1)[1]
    replacements = [
        (
            "p_created_at timestamptz, p_accounts bigint[]",
            "p_created_at timestamptz, p_statement_reference varchar, p_accounts bigint[]",
        ),
        (
            "idempotency_key, fingerprint, reverses_id, created_at)",
            "idempotency_key, fingerprint, reverses_id, created_at, statement_reference)",
        ),
        (
            "p_idempotency_key, p_fingerprint, p_reverses_id, p_created_at)",
            "p_idempotency_key, p_fingerprint, p_reverses_id, p_created_at, p_statement_reference)",
        ),
    ]
    for old, new in replacements:
        assert body.count(old) == 1, old
        body = body.replace(old, new)
    return f"DROP FUNCTION {SIGNATURE_0007};\n{body}"


BACKWARD = """
DROP FUNCTION ledger_post(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz, varchar,
    bigint[], numeric[], varchar[], bigint[], numeric[]
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function_0008(), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)
        schema_editor.execute(_0007.FORWARD.split(";", 1)[1], params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_postgres_post_function_floors_by_constraint")]

    operations = [
        migrations.AlterField(
            model_name="transaction",
            name="external_reference",
            field=models.CharField(
                blank=True,
                help_text="the gateway's or bank's id: the back office's only",
                max_length=255,
            ),
        ),
        migrations.AddField(
            model_name="transaction",
            name="statement_reference",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text=(
                    "what the customer knows it by (a bank transfer's RF reference): "
                    "on statements"
                ),
                max_length=35,
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
