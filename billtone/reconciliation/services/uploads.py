"""Statement files uploaded in the back office, imported by the worker, not in the request.

The upload stores the file and a `StatementUpload` row and schedules one task after commit;
the task imports the file as `billtone import-statement` does and records on the row what
the page polls: bytes of the file read and credits imported (PostgreSQL, whose import reads
the file outside its transaction; SQLite's import holds the database's one write lock, so
there the page says only that it runs), then the import it made or why it failed
(docs/decisions/0011-background-worker-without-a-broker.md).

A worker that stops in the middle (killed, restarted, out of memory) leaves its import rolled
back and the upload "Importing": a redelivered task does not take a running upload, so the
periodic sweep (`statement_uploads_stalled_fail`) marks an upload failed once its worker has
given no sign of life (the claim, then each progress write) for STALLED_AFTER.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Coalesce

from billtone.core import clock
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.services import Actor
from billtone.reconciliation.models import SavedCsvMap, StatementUpload
from billtone.reconciliation.services.csv_maps import csv_map_columns
from billtone.reconciliation.services.imports import csv_columns_parse, statement_import
from billtone.reconciliation.statements import FORMATS

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between two progress writes
# No sign of life from an import's worker for this long: it stopped. On PostgreSQL a running
# import writes its progress twice a second; SQLite's import holds the one write lock and
# writes nothing until it ends, so the margin is wide (100,000 credits take about a minute).
STALLED_AFTER = timedelta(minutes=30)
STALLED_MESSAGE = (
    "The import stopped: its worker ended while importing (a restart or a crash) and gave no "
    "sign of life for {minutes} minutes. The import was rolled back: nothing was imported. "
    "Upload the file again."
)


def statement_upload_create(
    *,
    file: UploadedFile,
    format: str,  # noqa: A002
    actor: Actor,
    bank_account_id: int | None = None,
    csv_map_id: int | None = None,
) -> StatementUpload:
    """Store an uploaded statement and schedule its import after commit. The format and the
    saved CSV column map (one of the chosen bank account's) are checked here
    (ValidationFailed); the file itself by the import."""
    if format and format not in FORMATS:
        raise ValidationFailed({"format": [f"One of {', '.join(FORMATS)}."]})
    csv_map, csv_columns = _saved_map(csv_map_id, bank_account_id)
    with transaction.atomic():
        upload = StatementUpload(
            file_name=(file.name or "statement")[:255],
            format=format,
            csv_columns=csv_columns,
            csv_map=csv_map,
            uploaded_by_id=actor.user_id,
            uploaded_by_label=actor.label[:200],
            size=file.size or 0,
            created_at=clock.now(),
        )
        upload.file.save(upload.file_name, file, save=False)
        upload.save()
        pk = upload.pk
        transaction.on_commit(lambda: _schedule(pk))
    return upload


def _saved_map(
    csv_map_id: int | None, bank_account_id: int | None
) -> tuple[SavedCsvMap | None, str]:
    """The saved map an upload uses and a copy of its columns (the map may change before the
    worker reads the file), with the bank account's IBAN for the statement's account."""
    if csv_map_id is None:
        return None, ""
    saved = SavedCsvMap.objects.select_related("bank_account").filter(pk=csv_map_id).first()
    if saved is None:
        raise ValidationFailed({"csv_map": ["No such CSV column map: choose one from the list."]})
    if bank_account_id is not None and saved.bank_account_id != bank_account_id:
        raise ValidationFailed(
            {
                "csv_map": [
                    f"The column map {saved.name!r} is for the {saved.bank_account.currency} "
                    "bank account, not the one chosen: choose one of its maps."
                ]
            }
        )
    try:
        columns = csv_map_columns(csv_map=saved)
    except ValidationFailed as error:
        raise ValidationFailed({"csv_map": error.errors["csv_columns"]}) from None
    return saved, json.dumps({"account_iban": columns.account_iban, **saved.columns})


def _schedule(upload_id: int) -> None:
    from billtone.reconciliation.tasks import statement_upload_import

    try:
        statement_upload_import.delay(upload_id)
    except Exception:
        logger.exception("Could not schedule the import of statement upload %s", upload_id)
        StatementUpload.objects.filter(pk=upload_id, status=StatementUpload.Status.QUEUED).update(
            status=StatementUpload.Status.FAILED,
            message="The background worker could not be reached; nothing was imported. "
            "Upload the file again.",
            finished_at=clock.now(),
        )


def statement_upload_import(*, upload_id: int) -> StatementUpload | None:
    """Import an upload's file (the worker's task). Only the run that claims a queued upload
    imports it; the file is deleted after. Returns the upload, or None when another run has
    it."""
    claimed = StatementUpload.objects.filter(
        pk=upload_id, status=StatementUpload.Status.QUEUED
    ).update(
        status=StatementUpload.Status.RUNNING, started_at=clock.now(), heartbeat_at=clock.now()
    )
    if not claimed:
        return None
    upload = StatementUpload.objects.get(pk=upload_id)
    actor = Actor(label=upload.uploaded_by_label, user_id=upload.uploaded_by_id)
    imported = 0
    written = 0.0

    def progress(stage: str, done: int, total: int | None) -> None:
        nonlocal imported, written
        if stage == "import":  # the writer's count; recorded with the next bytes read
            imported = done
            return
        # Only outside the import's transaction, where others can see it at once.
        if connection.in_atomic_block or time.monotonic() - written < PROGRESS_EVERY:
            return
        written = time.monotonic()
        with contextlib.suppress(DatabaseError):  # only the page's figures: never the import
            StatementUpload.objects.filter(pk=upload_id).update(
                bytes_read=done, credits_imported=imported, heartbeat_at=clock.now()
            )

    values: dict = {"finished_at": None}
    try:
        with upload.file.open("rb") as handle:
            result = statement_import(
                source=handle,
                name=upload.file_name,
                actor=actor,
                format=upload.format or None,
                csv_columns=csv_columns_parse(upload.csv_columns) if upload.csv_columns else None,
                progress=progress,
            )
    except ApplicationError as error:
        values.update(status=StatementUpload.Status.FAILED, message=str(error))
    except Exception as error:
        logger.exception("Import of statement upload %s failed", upload_id)
        values.update(
            status=StatementUpload.Status.FAILED,
            message=f"The import failed and was rolled back: nothing was imported "
            f"({type(error).__name__}: {error}).",
        )
    else:
        values.update(
            status=StatementUpload.Status.DONE,
            statement_import=result,
            credits_imported=result.credits,
            bytes_read=upload.size,
        )
    values["finished_at"] = clock.now()
    upload.file.delete(save=False)
    values["file"] = ""
    StatementUpload.objects.filter(pk=upload_id).update(**values)
    upload.refresh_from_db()
    return upload


def statement_uploads_stalled_fail() -> int:
    """Mark failed the uploads whose worker stopped while importing (no sign of life for
    STALLED_AFTER; an upload claimed before heartbeats were kept counts from its start) and
    delete their files; returns how many. The periodic sweep's task."""
    stalled_before = clock.now() - STALLED_AFTER
    message = STALLED_MESSAGE.format(minutes=int(STALLED_AFTER.total_seconds() // 60))
    count = 0
    for upload in _stalled(stalled_before):
        # Only if it is still the same stalled run: a late progress write or end wins.
        marked = (
            _stalled(stalled_before)
            .filter(pk=upload.pk)
            .update(
                status=StatementUpload.Status.FAILED,
                message=message,
                finished_at=clock.now(),
                file="",
            )
        )
        if marked:
            count += 1
            logger.warning("Statement upload %s: its worker stopped; marked failed", upload.pk)
            if upload.file:
                upload.file.delete(save=False)
    return count


def _stalled(before):
    return StatementUpload.objects.annotate(
        last_sign=Coalesce("heartbeat_at", "started_at")
    ).filter(status=StatementUpload.Status.RUNNING, last_sign__lt=before)
