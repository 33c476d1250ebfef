"""StatementImport, StatementUpload and BankEntry, which banktransfers created (0003-0006)
and whose tables its 0007 renamed to reconciliation_*: taken into this app's state only, the
rows as they are. Their content types follow, so that staff keep their permissions on them
and the admin's history its links."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["statementimport", "statementupload", "bankentry"]


def _content_types_move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_follow(apps, schema_editor) -> None:
    _content_types_move(apps, "banktransfers", "reconciliation")


def content_types_return(apps, schema_editor) -> None:
    _content_types_move(apps, "reconciliation", "banktransfers")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('banktransfers', '0007_statement_import_to_reconciliation'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('ledger', '0006_transaction_idempotency_key_constraint'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='StatementImport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('file_name', models.CharField(max_length=255)),
                        ('sha256', models.CharField(db_index=True, help_text='of the file as uploaded', max_length=64)),
                        ('format', models.CharField(choices=[('camt053', 'ISO 20022 camt.053'), ('mt940', 'SWIFT MT940'), ('csv', 'CSV')], max_length=10)),
                        ('account_iban', models.CharField(blank=True, help_text='the first', max_length=34, verbose_name='statement account IBAN')),
                        ('statement_ids', models.CharField(blank=True, max_length=255, verbose_name='statement ids')),
                        ('imported_by_label', models.CharField(help_text='staff user or command', max_length=200)),
                        ('started_at', models.DateTimeField()),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='running', max_length=10)),
                        ('error', models.TextField(blank=True, help_text='why a started import stopped')),
                        ('warnings', models.JSONField(blank=True, default=list, help_text='balances or control sums that do not add up')),
                        ('credits', models.PositiveIntegerField(default=0, help_text='credit entries in the file')),
                        ('matched', models.PositiveIntegerField(default=0)),
                        ('to_review', models.PositiveIntegerField(default=0)),
                        ('duplicates_skipped', models.PositiveIntegerField(default=0, help_text='credits imported before (same entry identity)')),
                        ('debits_ignored', models.PositiveIntegerField(default=0)),
                        ('not_booked_ignored', models.PositiveIntegerField(default=0, help_text='pending or information-only entries (not booked)')),
                        ('matched_totals', models.JSONField(blank=True, default=dict, help_text='currency: amount credited to business funds')),
                        ('funds_emails_queued_at', models.DateTimeField(blank=True, help_text="empty while the matched entries' emails are still to be queued", null=True, verbose_name='funds received emails queued at')),
                        ('imported_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-started_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='BankEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('identity', models.CharField(max_length=64)),
                        ('position', models.CharField(blank=True, help_text='where in the file', max_length=100)),
                        ('amount', models.DecimalField(decimal_places=4, max_digits=18)),
                        ('currency', models.CharField(help_text='ISO 4217', max_length=3)),
                        ('booking_date', models.DateField()),
                        ('value_date', models.DateField(blank=True, null=True)),
                        ('payer_name', models.CharField(blank=True, max_length=255)),
                        ('payer_iban', models.CharField(blank=True, max_length=34, verbose_name='payer IBAN')),
                        ('structured_reference', models.CharField(blank=True, max_length=255)),
                        ('free_text', models.TextField(blank=True)),
                        ('end_to_end_id', models.CharField(blank=True, max_length=255)),
                        ('bank_reference', models.CharField(blank=True, max_length=255)),
                        ('status', models.CharField(choices=[('matched', 'Matched'), ('review', 'To review'), ('allocated', 'Allocated by staff'), ('returned', 'Returned')], max_length=10)),
                        ('review_reason', models.CharField(blank=True, choices=[('no_reference', 'No valid reference'), ('two_references', 'Two different references'), ('currency_differs', "Currency differs from the account's"), ('wrong_check_digits', 'Reference with wrong check digits'), ('unknown_reference', 'Unknown reference'), ('reversal', 'A returned debit, not a customer payment')], max_length=20)),
                        ('reference', models.CharField(blank=True, help_text='the RF reference it matched', max_length=25)),
                        ('suggestion_reason', models.CharField(blank=True, max_length=255)),
                        ('created_at', models.DateTimeField()),
                        ('decided_by_label', models.CharField(blank=True, max_length=200)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_note', models.TextField(blank=True)),
                        ('account', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='bank_entries', to='accounts.account')),
                        ('decided_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('funding_request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='bank_entries', to='banktransfers.fundingrequest')),
                        ('ledger_transaction', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='bank_entry', to='ledger.transaction')),
                        ('suggested_account', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.account')),
                        ('suggested_funding_request', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='banktransfers.fundingrequest')),
                        ('statement_import', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='reconciliation.statementimport')),
                    ],
                    options={
                        'verbose_name_plural': 'bank entries',
                        'ordering': ['-booking_date', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='StatementUpload',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('file', models.FileField(blank=True, upload_to='statement-uploads/')),
                        ('file_name', models.CharField(max_length=255)),
                        ('format', models.CharField(blank=True, help_text='empty: detect', max_length=10)),
                        ('csv_columns', models.TextField(blank=True, help_text='the CSV column map, as JSON')),
                        ('uploaded_by_label', models.CharField(max_length=200)),
                        ('status', models.CharField(choices=[('queued', 'Waiting for the worker'), ('running', 'Importing'), ('done', 'Imported'), ('failed', 'Failed')], default='queued', max_length=10)),
                        ('message', models.TextField(blank=True, help_text='why it failed')),
                        ('size', models.BigIntegerField(default=0, help_text='bytes')),
                        ('bytes_read', models.BigIntegerField(default=0)),
                        ('credits_imported', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField()),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('statement_import', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='reconciliation.statementimport')),
                        ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='statementimport',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['running', 'done', 'failed'])), name='statement_import_status_valid'),
                ),
                migrations.AddConstraint(
                    model_name='statementimport',
                    constraint=models.CheckConstraint(condition=models.Q(('format__in', ['camt053', 'mt940', 'csv'])), name='statement_import_format_valid'),
                ),
                migrations.AddConstraint(
                    model_name='statementimport',
                    constraint=models.CheckConstraint(condition=models.Q(('status', 'running'), ('finished_at__isnull', False), _connector='OR'), name='statement_import_finished_when_not_running'),
                ),
                migrations.AddIndex(
                    model_name='bankentry',
                    index=models.Index(fields=['status', 'booking_date'], name='bank_entry_status_date'),
                ),
                migrations.AddIndex(
                    model_name='bankentry',
                    index=models.Index(fields=['payer_iban', 'status'], name='bank_entry_payer_iban'),
                ),
                migrations.AddIndex(
                    model_name='bankentry',
                    index=models.Index(fields=['account', 'status'], name='bank_entry_account_status'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.UniqueConstraint(fields=('identity',), name='bank_entry_identity_unique'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['matched', 'review', 'allocated', 'returned'])), name='bank_entry_status_valid'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='bank_entry_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='bank_entry_currency_iso'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('account__isnull', False), ('ledger_transaction__isnull', False), ('status__in', ['matched', 'allocated'])), models.Q(('ledger_transaction__isnull', True), ('status__in', ['review', 'returned'])), _connector='OR'), name='bank_entry_credited_iff_transaction'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('review_reason', ''), ('status', 'matched')), models.Q(models.Q(('status', 'matched'), _negated=True), models.Q(('review_reason', ''), _negated=True)), _connector='OR'), name='bank_entry_review_reason_unless_matched'),
                ),
                migrations.AddConstraint(
                    model_name='bankentry',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('status__in', ['matched', 'review'])), models.Q(('decided_at__isnull', False), ('status__in', ['allocated', 'returned'])), _connector='OR'), name='bank_entry_decided_by_staff'),
                ),
                migrations.AddConstraint(
                    model_name='statementupload',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='statement_upload_status_valid'),
                ),
        ]),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
