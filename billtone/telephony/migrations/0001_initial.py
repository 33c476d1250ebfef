# Phone users and the inventory of numbers (issue 17).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='PhoneNumber',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('e164', models.CharField(help_text='E.164: +31201234567', max_length=16, unique=True, verbose_name='number')),
                ('country', models.CharField(help_text='ISO 3166 alpha-2', max_length=2)),
                ('number_type', models.CharField(choices=[('geographic', 'Geographic'), ('national', 'National'), ('mobile', 'Mobile'), ('toll_free', 'Toll-free')], max_length=20)),
                ('status', models.CharField(choices=[('available', 'Available'), ('held', 'Held'), ('assigned', 'Assigned')], default='available', max_length=20)),
                ('held_until', models.DateTimeField(blank=True, null=True)),
                ('assigned_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='phone_numbers', to='accounts.account')),
                ('product', models.ForeignKey(limit_choices_to={'kind': 'number'}, on_delete=django.db.models.deletion.PROTECT, related_name='phone_numbers', to='catalog.product')),
            ],
            options={
                'ordering': ['e164'],
                'indexes': [models.Index(fields=['status', 'held_until'], name='telephony_number_holds'), models.Index(fields=['country', 'number_type', 'status'], name='telephony_offer')],
                'constraints': [models.CheckConstraint(condition=models.Q(('e164__regex', '^\\+[1-9][0-9]{1,14}$')), name='telephony_number_e164'), models.CheckConstraint(condition=models.Q(('country__regex', '^[A-Z]{2}$')), name='telephony_number_country_iso'), models.CheckConstraint(condition=models.Q(models.Q(('account__isnull', True), ('assigned_at__isnull', True), ('held_until__isnull', True), ('status', 'available')), models.Q(('account__isnull', False), ('assigned_at__isnull', True), ('held_until__isnull', False), ('status', 'held')), models.Q(('account__isnull', False), ('assigned_at__isnull', False), ('held_until__isnull', True), ('status', 'assigned')), _connector='OR'), name='telephony_number_status_fields')],
            },
        ),
        migrations.CreateModel(
            name='PhoneUser',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('email', models.EmailField(max_length=254)),
                ('extension', models.CharField(help_text='2 to 6 digits, unique in the account', max_length=6)),
                ('status', models.CharField(choices=[('pending_payment', 'Pending payment'), ('active', 'Active'), ('cancelled', 'Cancelled')], default='pending_payment', max_length=20)),
                ('created_at', models.DateTimeField()),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='phone_users', to='accounts.account')),
                ('plan', models.ForeignKey(limit_choices_to={'kind': 'plan'}, on_delete=django.db.models.deletion.PROTECT, related_name='phone_users', to='catalog.product')),
            ],
            options={
                'ordering': ['extension', 'id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'cancelled'), _negated=True), fields=('account', 'extension'), name='telephony_user_extension_unique'), models.CheckConstraint(condition=models.Q(('extension__regex', '^[0-9]{2,6}$')), name='telephony_user_extension_digits'), models.CheckConstraint(condition=models.Q(('status__in', ['pending_payment', 'active', 'cancelled'])), name='telephony_user_status_valid'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'active'), _negated=True), ('activated_at__isnull', False), _connector='OR'), name='telephony_user_active_has_date'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'cancelled'), _negated=True), ('cancelled_at__isnull', False), _connector='OR'), name='telephony_user_cancelled_has_date')],
            },
        ),
    ]
