"""The idempotency key's uniqueness as a named constraint instead of unique=True.

On PostgreSQL unique=True also made a second index, ledger_transaction_idempotency_key_..._like
(varchar_pattern_ops, for LIKE 'prefix%'), which no query uses and every insert paid for. This
drops both and builds the unique index again under the new name, in the migration's
transaction (the table is locked while the index is built).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0005_postgres_posting_statement_check'),
    ]

    operations = [
        migrations.AlterField(
            model_name='transaction',
            name='idempotency_key',
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.UniqueConstraint(fields=('idempotency_key',), name='ledger_transaction_idempotency_key_unique'),
        ),
    ]
