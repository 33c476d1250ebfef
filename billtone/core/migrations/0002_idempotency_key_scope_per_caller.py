"""Idempotency-Keys per caller (decision 0008).

The stored responses are deleted: their account-wide scopes are never asked for again, and
those of POST /api/v1/api-tokens hold working token secrets in clear.
"""

from django.db import migrations, models


def forget_stored_responses(apps, schema_editor):
    apps.get_model("core", "IdempotencyKey").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="idempotencykey",
            name="scope",
            field=models.CharField(
                help_text="account:<id>:user:<id> or operator:user:<id>", max_length=80
            ),
        ),
        migrations.RunPython(forget_stored_responses, migrations.RunPython.noop),
    ]
