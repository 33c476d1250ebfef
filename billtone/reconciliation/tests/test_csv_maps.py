"""CSV column maps saved per operator bank account in the back office, and chosen from a list
when a CSV statement is uploaded (the command keeps its --csv-map JSON)."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from billtone.banktransfers.models import OperatorBankAccount
from billtone.core.models import AuditEntry
from billtone.reconciliation.models import BankEntry, SavedCsvMap, StatementImport, StatementUpload
from billtone.reconciliation.services.csv_maps import CsvMapInput, csv_map_save
from billtone.reconciliation.tests.importing import STAFF
from billtone.reconciliation.tests.test_admin import UPLOAD, progress, upload

pytestmark = pytest.mark.usefixtures("media")

MAPS = "/admin/reconciliation/savedcsvmap/"

# A German bank's export: its own headers, semicolons, decimal commas, day-first dates.
SPARKASSE_COLUMNS = {
    "booking_date": "Buchungstag",
    "amount": "Betrag",
    "default_currency": "EUR",
    "payer_name": "Beguenstigter/Zahlungspflichtiger",
    "payer_iban": "IBAN",
    "reference": "Verwendungszweck",
    "entry_id": "Buchungs-ID",
    "delimiter": ";",
    "decimal_comma": True,
    "date_format": "%d.%m.%Y",
}


def sparkasse_csv(tmp_path, reference: str):
    path = tmp_path / "umsaetze.csv"
    path.write_text(
        "Buchungstag;Betrag;Beguenstigter/Zahlungspflichtiger;IBAN;Verwendungszweck;Buchungs-ID\n"
        f"14.03.2025;1.250,00;Acme Telecom GmbH;DE02120300000000202051;{reference};S-1\n"
        "15.03.2025;-9,90;Kontofuehrung;;Gebuehr;S-2\n"
        "16.03.2025;30,00;J. Doe;;Essen;S-3\n",
        encoding="utf-8",
    )
    return path


def map_save(bank, name="Sparkasse export", columns=SPARKASSE_COLUMNS) -> SavedCsvMap:
    return csv_map_save(
        map_id=None,
        data=CsvMapInput(bank_account_id=bank.pk, name=name, columns=json.dumps(columns)),
        actor=STAFF,
    )


@pytest.fixture
def banks(customer):
    return {bank.currency: bank for bank in OperatorBankAccount.objects.all()}


def test_an_upload_reads_the_csv_with_the_saved_map_chosen(tmp_path, staff, customer, banks):
    saved = map_save(banks["EUR"])
    map_save(banks["GBP"], name="Barclays export", columns={**SPARKASSE_COLUMNS, "delimiter": ","})
    path = sparkasse_csv(tmp_path, customer.reference.reference)

    form = staff.get(UPLOAD).content.decode()
    response = upload(staff, path, bank_account=banks["EUR"].pk, csv_map=saved.pk)

    # The list offers each map with its bank account, for the page to show the chosen one's.
    assert re.search(rf'data-bank-account="{banks["EUR"].pk}"[^>]*>\s*Sparkasse export', form)
    assert re.search(rf'data-bank-account="{banks["GBP"].pk}"[^>]*>\s*Barclays export', form)
    assert response.status_code == 302
    assert "Read with the CSV column map Sparkasse export (EUR)" in progress(staff, response)
    record = StatementImport.objects.get()
    assert (record.format, record.credits, record.matched, record.to_review) == ("csv", 2, 1, 1)
    assert record.account_iban == banks["EUR"].iban  # the map's bank account
    matched = BankEntry.objects.get(status="matched")
    assert (matched.amount, matched.booking_date) == (Decimal("1250.0000"), date(2025, 3, 14))
    assert (matched.payer_name, matched.bank_reference) == ("Acme Telecom GmbH", "S-1")
    assert BankEntry.objects.get(status="review").payer_name == "J. Doe"
    assert customer.funds == Decimal("1250.00")
    assert StatementUpload.objects.get().csv_map == saved


def test_a_map_is_used_as_it_was_when_uploaded(tmp_path, staff, customer, banks):
    saved = map_save(banks["EUR"])
    path = sparkasse_csv(tmp_path, customer.reference.reference)

    response = upload(staff, path, worker=False, csv_map=saved.pk)  # its account implied
    SavedCsvMap.objects.filter(pk=saved.pk).update(columns={"booking_date": "Datum"})

    assert response.status_code == 302
    stored = json.loads(StatementUpload.objects.get().csv_columns)
    assert stored == {"account_iban": banks["EUR"].iban, **SPARKASSE_COLUMNS}


def test_a_map_of_another_bank_account_is_refused(tmp_path, staff, customer, banks):
    saved = map_save(banks["EUR"])
    path = sparkasse_csv(tmp_path, customer.reference.reference)

    response = upload(staff, path, bank_account=banks["GBP"].pk, csv_map=saved.pk)

    assert response.status_code == 200
    assert "is for the EUR bank account, not the one chosen" in response.content.decode()
    assert not StatementUpload.objects.exists() and not StatementImport.objects.exists()


@pytest.mark.parametrize(
    ("columns", "error"),
    [
        ("{not json", "Not valid JSON"),
        ('{"booking_date": "Datum", "colour": "Blau"}', "Unknown keys colour"),
        ('{"booking_date": "Datum", "amount": "Betrag"}', "give a currency column or a default"),
        (
            '{"booking_date": "D", "amount": "A", "default_currency": "EUR", '
            '"account_iban": "GB33BUKB20201555555555"}',
            "leave account_iban out",
        ),
    ],
)
def test_a_bad_map_is_shown_at_its_field_and_nothing_is_saved(staff, banks, columns, error):
    response = staff.post(
        f"{MAPS}add/", {"bank_account": banks["EUR"].pk, "name": "Bank", "columns": columns}
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["columns"] and error in errors["columns"][0]
    assert not SavedCsvMap.objects.exists()


def test_staff_save_and_change_a_map_through_the_admin_audited(staff, banks):
    added = staff.post(
        f"{MAPS}add/",
        {"bank_account": banks["EUR"].pk, "name": " Sparkasse ", "columns": "{}"},
    )
    again = staff.post(
        f"{MAPS}add/",
        {
            "bank_account": banks["EUR"].pk,
            "name": "Sparkasse",
            "columns": json.dumps(SPARKASSE_COLUMNS),
        },
    )
    saved = SavedCsvMap.objects.get()
    same_name = staff.post(
        f"{MAPS}add/",
        {
            "bank_account": banks["EUR"].pk,
            "name": "Sparkasse",
            "columns": json.dumps(SPARKASSE_COLUMNS),
        },
    )
    page = staff.get(f"{MAPS}{saved.pk}/change/").content.decode()

    assert added.status_code == 200  # "{}" names no booking date column
    assert again.status_code == 302
    assert (saved.name, saved.columns) == ("Sparkasse", SPARKASSE_COLUMNS)
    assert same_name.status_code == 200 and SavedCsvMap.objects.count() == 1
    assert "&quot;date_format&quot;: &quot;%d.%m.%Y&quot;" in page  # shown as JSON to edit
    assert AuditEntry.objects.filter(action="csv_map.create", object_id=str(saved.pk)).exists()
