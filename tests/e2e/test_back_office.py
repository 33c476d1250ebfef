"""The back office as operator staff meet it: login throttling under "Security", times in the
operator's zone with the zone named, and a CSV statement uploaded with a column map chosen
from the bank account's saved maps."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.services.csv_maps import CsvMapInput, csv_map_save
from billtone.reconciliation.tests.importing import STAFF, customer_make
from billtone.reconciliation.tests.test_csv_maps import SPARKASSE_COLUMNS, sparkasse_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "operator-password-1"
NO_MAP = re.compile(r"None \(camt")
ZONED_TIME = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d (CET|CEST)")


def map_save(bank, name: str, columns: dict):
    data = CsvMapInput(bank_account_id=bank.pk, name=name, columns=json.dumps(columns))
    return csv_map_save(map_id=None, data=data, actor=STAFF)


def test_staff_upload_a_csv_statement_with_a_saved_column_map(
    page, shot, account, tmp_path, settings
):
    settings.BILLTONE_OPERATOR_TIME_ZONE = "Europe/Berlin"
    banks = operator_banks_save()
    customer = customer_make(account)
    map_save(banks["EUR"], "Sparkasse CSV-CAMT", SPARKASSE_COLUMNS)
    map_save(banks["EUR"], "Deutsche Bank export", {**SPARKASSE_COLUMNS, "skip_lines": 4})
    map_save(banks["GBP"], "Barclays export", {**SPARKASSE_COLUMNS, "delimiter": ","})
    get_user_model().objects.create_superuser("operator", "staff@billtone.example", STAFF_PASSWORD)

    page.goto("/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#content-main")).to_contain_text("Security")
    expect(page.locator("#content-main")).not_to_contain_text("Axes")
    expect(page.get_by_role("link", name="Access attempts")).to_be_visible()
    shot("index-security")

    # A map with a fault is refused at its field.
    page.goto("/admin/reconciliation/savedcsvmap/add/")
    page.select_option("#id_bank_account", label=str(banks["EUR"]))
    page.fill("#id_name", "Commerzbank")
    page.fill("#id_columns", '{"booking_date": "Buchungstag", "colour": "blau"}')
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("Unknown keys colour")
    shot("column-map-error")

    # The upload offers the chosen bank account's maps only.
    page.goto("/admin/reconciliation/statementimport/upload/")
    offered = page.locator("#id_csv_map label:visible")
    page.select_option("#id_bank_account", label=str(banks["GBP"]))
    expect(offered).to_have_text([NO_MAP, "Barclays export (GBP account)"], use_inner_text=True)
    shot("upload-maps-of-the-gbp-account")
    page.select_option("#id_bank_account", label=str(banks["EUR"]))
    expect(offered).to_have_text(
        [NO_MAP, "Deutsche Bank export (EUR account)", "Sparkasse CSV-CAMT (EUR account)"],
        use_inner_text=True,
    )
    page.get_by_label("Sparkasse CSV-CAMT (EUR account)").check()
    page.set_input_files("#id_file", str(sparkasse_csv(tmp_path, customer.reference.reference)))
    shot("upload-with-saved-maps")
    page.get_by_role("button", name="Import").click()

    expect(page.locator("#upload-status")).to_have_text("Imported")
    expect(page.locator("#upload-csv-map")).to_contain_text("Sparkasse CSV-CAMT (EUR)")
    expect(page.locator("#upload-result")).to_contain_text("1 credited, 1 to review")
    shot("upload-done")
    assert BankEntry.objects.get(status="matched").payer_name == "Acme Telecom GmbH"

    # Times in the operator's zone, named.
    page.goto("/admin/reconciliation/statementimport/")
    expect(page.locator("#result_list")).to_contain_text(ZONED_TIME)
    shot("imports-zoned-times")
