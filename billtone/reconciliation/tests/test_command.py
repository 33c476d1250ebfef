"""`billtone import-statement FILE`: progress, a summary at the end, errors as messages."""

import gc
import io
import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billtone.ledger.models import Transaction
from billtone.reconciliation.models import StatementImport
from billtone.reconciliation.tests.importing import Credit, camt053
from billtone.reconciliation.tests.test_import_formats import csv_text


def run(*args) -> str:
    out = io.StringIO()
    call_command("import-statement", *map(str, args), stdout=out)
    return out.getvalue()


def test_the_command_imports_and_prints_a_summary(tmp_path, customer):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference),
        Credit("5.00", ustrd=("no reference",)),
        Credit("1.00", direction="DBIT"),
        name="march.xml",
    )

    out = run(path, "--batch-size", "1")
    again = run(path)

    assert "march.xml (ISO 20022 camt.053)" in out
    for line in ("Credit entries", "Matched and credited", "To review (back office)"):
        assert line in out
    assert "250.00 EUR" in out
    record = StatementImport.objects.order_by("id").first()
    assert (record.matched, record.to_review, record.debits_ignored) == (1, 1, 1)
    assert record.imported_by_label.endswith("(billtone import-statement)")
    assert re.search(r"Imported before \(skipped\)\s*│\s*2\s*│", again)
    assert customer.funds == Decimal("250.00")


def test_a_csv_with_a_column_map_file(tmp_path, customer):
    path = tmp_path / "export.csv"
    path.write_text(csv_text(customer.request.reference))
    columns = tmp_path / "columns.json"
    columns.write_text(
        json.dumps(
            {
                "booking_date": "Date",
                "amount": "Amount",
                "currency": "Currency",
                "reference": "Reference",
            }
        )
    )

    run(path, "--csv-map", columns)
    run(path, "--format", "csv", "--csv-map", columns.read_text())

    assert customer.funds == Decimal("250.00")
    assert StatementImport.objects.filter(format="csv").count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda p: [p.with_name("gone.xml")], "gone.xml: cannot open it"),
        (lambda p: [p, "--format", "mt940"], "statement.xml: "),
        (lambda p: [p, "--csv-map", "{oops"], "Not valid JSON"),
        (lambda p: [p, "--batch-size", "0"], "From 1 to 50,000 entries."),
    ],
)
def test_errors_are_a_clear_message(tmp_path, customer, args, message):
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference))

    with pytest.raises(CommandError) as failed:
        run(*args(path))

    assert message in str(failed.value)
    assert not StatementImport.objects.exists() and not Transaction.objects.exists()


def test_a_malformed_file_exits_non_zero_with_the_file_and_line(tmp_path):
    path = tmp_path / "cut.xml"
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    path.write_text(f'<?xml version="1.0"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>')
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PATH": "",
    }

    def billtone(*args):
        command = [sys.executable, "-c", "from billtone.cli import main; main()", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    assert billtone("migrate", "--verbosity", "0").returncode == 0
    done = billtone("import-statement", str(path))

    assert done.returncode == 1
    assert "cut.xml: line 2" in done.stderr and "Traceback" not in done.stderr


def test_the_command_runs_the_collector_less_often_while_it_imports(
    tmp_path, customer, monkeypatch
):
    from billtone.reconciliation import import_storage

    before = gc.get_threshold()
    during = []
    insert = import_storage.entries_insert

    def entries_insert(rows):
        during.append(gc.get_threshold())
        insert(rows)

    monkeypatch.setattr(import_storage, "entries_insert", entries_insert)
    run(camt053(tmp_path, Credit("1.00", ref="")))
    cut = tmp_path / "cut.xml"
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    cut.write_text(f'<?xml version="1.0"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>')
    with pytest.raises(CommandError):
        run(cut)

    assert during and during[0][0] > before[0]
    assert gc.get_threshold() == before
