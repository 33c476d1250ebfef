"""The statement import's models move to the reconciliation app, their rows with them: the
tables are renamed here to the names that app gives them, and the models leave this app's
state; reconciliation's 0001 takes them into its state without touching the database."""

from django.db import migrations

MOVED = {
    "bankentry": "banktransfers_bankentry",
    "statementupload": "banktransfers_statementupload",
    "statementimport": "banktransfers_statementimport",
}


class Migration(migrations.Migration):
    dependencies = [
        ("banktransfers", "0006_statement_upload"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name=name, table=f"reconciliation_{name}")
                for name in MOVED
            ],
            state_operations=[migrations.DeleteModel(name=name) for name in MOVED],
        ),
    ]
