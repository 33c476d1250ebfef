"""CSV column maps saved per operator bank account (back office): a bank's CSV export is
described once, as the JSON `billtone import-statement --csv-map` takes, checked by the same
code (imports.csv_columns_parse), and chosen from a list when a statement is uploaded."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from billtone.banktransfers.models import OperatorBankAccount
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor, audit_record, changes_between
from billtone.reconciliation.models import SavedCsvMap
from billtone.reconciliation.services.imports import csv_columns_build, csv_columns_parse
from billtone.reconciliation.statements.csv_file import CsvColumnMap


@dataclass(frozen=True)
class CsvMapInput:
    bank_account_id: int | None
    name: str
    columns: str  # JSON text, as typed


def csv_map_clean(data: CsvMapInput) -> dict:
    """The values to store: the name trimmed, the columns read as the command reads them.
    ValidationFailed with the fields bank_account, name and columns."""
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = ["Name the map, e.g. after the bank's export it reads."]
    bank = OperatorBankAccount.objects.filter(pk=data.bank_account_id).first()
    if bank is None:
        errors["bank_account"] = ["Choose the operator bank account whose statements it reads."]
    columns: dict = {}
    try:
        parsed = csv_columns_parse(data.columns)
    except ValidationFailed as error:
        errors["columns"] = error.errors["csv_columns"]
    else:
        columns = json.loads(data.columns)
        account_iban = parsed.account_iban.replace(" ", "").upper()
        if bank is not None and account_iban and account_iban != bank.iban:
            errors["columns"] = [
                f"account_iban is {account_iban}, but the map is for the {bank.currency} "
                f"account {bank.iban}: leave account_iban out, the bank account's IBAN is used."
            ]
    if errors:
        raise ValidationFailed(errors)
    return {"bank_account_id": bank.pk, "name": name, "columns": columns}


@transaction.atomic
def csv_map_save(*, map_id: int | None, data: CsvMapInput, actor: Actor) -> SavedCsvMap:
    """A saved map made (map_id None) or changed, and audited."""
    values = csv_map_clean(data)
    if map_id is None:
        saved, action, before = SavedCsvMap(created_at=clock.now()), "csv_map.create", {}
    else:
        saved = SavedCsvMap.objects.select_for_update().get(pk=map_id)
        action = "csv_map.update"
        before = {name: getattr(saved, name) for name in values}
    changes = changes_between(before, values)
    for name, value in values.items():
        setattr(saved, name, value)
    saved.updated_at = clock.now()
    try:
        with transaction.atomic():
            saved.save()
    except IntegrityError:
        raise ValidationFailed(
            {"name": ["This bank account has a column map of that name already."]}
        ) from None
    audit_record(actor=actor, action=action, obj=saved, changes=changes)
    return saved


@transaction.atomic
def csv_map_delete(*, map_id: int, actor: Actor) -> None:
    """A saved map removed (uploads made with it keep their copy of its columns)."""
    saved = SavedCsvMap.objects.select_for_update().filter(pk=map_id).first()
    if saved is None:
        return
    audit_record(
        actor=actor,
        action="csv_map.delete",
        obj=saved,
        changes={"name": [saved.name, None], "columns": [saved.columns, None]},
    )
    saved.delete()


def csv_map_columns(*, csv_map: SavedCsvMap) -> CsvColumnMap:
    """The saved map as the CSV reader takes it: the statement is of the map's bank account
    (CSV exports rarely name it). ValidationFailed (field csv_columns) should it no longer
    pass the checks."""
    return csv_columns_build({"account_iban": csv_map.bank_account.iban, **csv_map.columns})
