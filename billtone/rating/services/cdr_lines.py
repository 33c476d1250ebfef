"""Lines of a CDR file its reader could not read, kept for the operator (issue 19).

A rejected line is never dropped: it is stored with its file, number, reason and text, and
shown in the back office. The operator fixes the file and imports it again; the lines read
the first time are duplicates then (their call ids are stored), so nothing is charged twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from billtone.core import clock
from billtone.core.services import Actor
from billtone.rating.cdr_models import CdrBatch, CdrLineRejected
from billtone.rating.cdrs.file import RejectedLine

_FIELDS = {
    name: CdrLineRejected._meta.get_field(name).max_length
    for name in ("file_name", "reason", "message")
}


def cdr_lines_reject(
    *, lines: Sequence[RejectedLine], file_name: str, batch_id: int | None, actor: Actor
) -> int:
    """Store the file's rejected `lines` under the import `batch_id` (one of the batches
    its records went in), or, when no record of the file could be read, under a new import
    of their own. Returns how many were stored."""
    if not lines:
        return 0
    with transaction.atomic():
        if batch_id is None:
            batch_id = CdrBatch.objects.create(
                source=file_name[:200], created_at=clock.now(), created_by=actor.label[:200]
            ).pk
        CdrLineRejected.objects.bulk_create(
            [
                CdrLineRejected(
                    batch_id=batch_id,
                    file_name=file_name[: _FIELDS["file_name"]],
                    line=line.line,
                    reason=line.reason[: _FIELDS["reason"]],
                    message=line.message[: _FIELDS["message"]],
                    text=line.text,
                )
                for line in lines
            ],
            batch_size=1000,
        )
    return len(lines)
