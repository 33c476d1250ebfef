"""Invoices, their lines and taxes, the invoice number sequence (its one row made here) and
subscriptions (decision 0018)."""

import django.db.models.deletion
from django.db import migrations, models


def sequence_create(apps, schema_editor):
    apps.get_model("invoicing", "InvoiceSequence").objects.get_or_create(
        name="invoice", defaults={"next_number": 1}
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('catalog', '0001_initial'),
        ('ledger', '0008_transaction_statement_reference'),
    ]

    operations = [
        migrations.CreateModel(
            name='Invoice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence_number', models.PositiveBigIntegerField(unique=True)),
                ('number', models.CharField(help_text='e.g. INV-000042', max_length=40, unique=True)),
                ('issued_at', models.DateTimeField()),
                ('issue_date', models.DateField(help_text="the date of issue in the account's time zone")),
                ('currency', models.CharField(help_text='ISO 4217', max_length=3)),
                ('net', models.DecimalField(decimal_places=4, max_digits=20)),
                ('tax', models.DecimalField(decimal_places=4, max_digits=20)),
                ('gross', models.DecimalField(decimal_places=4, max_digits=20)),
                ('reverse_charge', models.BooleanField(default=False)),
                ('tax_mention', models.CharField(blank=True, max_length=300)),
                ('customer', models.JSONField(help_text='the billing profile as it was at issue')),
                ('operator', models.JSONField(help_text="the operator's profile as it was at issue")),
                ('source_key', models.CharField(help_text='what it was issued for', max_length=200)),
                ('created_by', models.CharField(max_length=200)),
                ('pdf', models.BinaryField(blank=True, null=True)),
                ('pdf_status', models.CharField(choices=[('pending', 'Being prepared'), ('ready', 'Ready'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('pdf_error', models.TextField(blank=True)),
                ('pdf_rendered_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='accounts.account')),
                ('ledger_transaction', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='invoice', to='ledger.transaction')),
            ],
            options={
                'ordering': ['-sequence_number'],
            },
        ),
        migrations.CreateModel(
            name='InvoiceLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField()),
                ('description', models.CharField(max_length=300)),
                ('kind', models.CharField(max_length=20)),
                ('billing', models.CharField(max_length=10)),
                ('quantity', models.PositiveIntegerField()),
                ('unit_price', models.DecimalField(decimal_places=4, help_text='net', max_digits=20)),
                ('net', models.DecimalField(decimal_places=4, max_digits=20)),
                ('tax_rate', models.DecimalField(decimal_places=2, help_text='percent', max_digits=5)),
                ('period_start', models.DateField(blank=True, null=True)),
                ('period_end', models.DateField(blank=True, help_text='inclusive', null=True)),
                ('invoice', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='invoicing.invoice')),
                ('product', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product')),
            ],
            options={
                'ordering': ['invoice_id', 'position'],
            },
        ),
        migrations.CreateModel(
            name='InvoiceSequence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True)),
                ('next_number', models.PositiveBigIntegerField(default=1)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('next_number__gte', 1)), name='invoice_sequence_positive')],
            },
        ),
        migrations.CreateModel(
            name='InvoiceTax',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rate', models.DecimalField(decimal_places=2, help_text='percent', max_digits=5)),
                ('taxable', models.DecimalField(decimal_places=4, max_digits=20)),
                ('tax', models.DecimalField(decimal_places=4, max_digits=20)),
                ('invoice', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='taxes', to='invoicing.invoice')),
            ],
            options={
                'ordering': ['invoice_id', 'rate'],
            },
        ),
        migrations.CreateModel(
            name='Subscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('item_kind', models.CharField(choices=[('phone_user', 'Phone user'), ('phone_number', 'Phone number')], max_length=20)),
                ('item_id', models.PositiveBigIntegerField()),
                ('description', models.CharField(max_length=300)),
                ('unit_price', models.DecimalField(decimal_places=4, help_text='net, per month', max_digits=20)),
                ('currency', models.CharField(max_length=3)),
                ('started_on', models.DateField()),
                ('paid_through', models.DateField()),
                ('status', models.CharField(choices=[('active', 'Active'), ('ended', 'Ended')], default='active', max_length=10)),
                ('created_at', models.DateTimeField()),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to='accounts.account')),
                ('invoice', models.ForeignKey(help_text='first charge', on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to='invoicing.invoice')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product')),
            ],
            options={
                'ordering': ['account_id', 'started_on', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['account', '-sequence_number'], name='invoicing_i_account_62e897_idx'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('source_key',), name='invoice_source_key_unique'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='invoice_currency_iso'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reverse_charge', True), _negated=True), ('tax', 0), _connector='OR'), name='invoice_reverse_charge_no_tax'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('pdf_status__in', ['pending', 'ready', 'failed'])), name='invoice_pdf_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('pdf_status', 'ready'), _negated=True), ('pdf__isnull', False), _connector='OR'), name='invoice_pdf_ready_has_pdf'),
        ),
        migrations.AddConstraint(
            model_name='invoiceline',
            constraint=models.UniqueConstraint(fields=('invoice', 'position'), name='invoice_line_position'),
        ),
        migrations.AddConstraint(
            model_name='invoiceline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 1)), name='invoice_line_quantity'),
        ),
        migrations.AddConstraint(
            model_name='invoiceline',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('period_end__isnull', True), ('period_start__isnull', True)), ('period_end__gte', models.F('period_start')), _connector='OR'), name='invoice_line_period'),
        ),
        migrations.AddConstraint(
            model_name='invoicetax',
            constraint=models.UniqueConstraint(fields=('invoice', 'rate'), name='invoice_tax_one_per_rate'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('item_kind', 'item_id'), name='subscription_one_active_per_item'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.CheckConstraint(condition=models.Q(('paid_through__gte', models.F('started_on'))), name='subscription_paid_through_after_start'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.CheckConstraint(condition=models.Q(('item_kind__in', ['phone_user', 'phone_number'])), name='subscription_item_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['active', 'ended'])), name='subscription_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.CheckConstraint(condition=models.Q(('unit_price__gte', 0)), name='subscription_price'),
        ),
        migrations.RunPython(sequence_create, migrations.RunPython.noop),
    ]
