from celery import shared_task

from billtone.reconciliation.services import funds_emails


@shared_task(ignore_result=True)
def funds_received_emails_send(delivery_ids: list[int]) -> None:
    """Send the "funds received" emails of one import batch. Safe to run twice: each
    delivery is sent only by the run that claims it; what fails is retried by the periodic
    email task."""
    from billtone.notifications.services import email_send

    for delivery_id in delivery_ids:
        email_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def funds_received_emails_queue(statement_import_id: int) -> None:
    """After an import commits: store the "funds received" emails of its matched entries and
    schedule their sending. Safe to run twice (the import's record says when they were)."""
    funds_emails.funds_received_emails_queue(statement_import_id=statement_import_id)


@shared_task(ignore_result=True)
def funds_received_emails_sweep() -> None:
    """Periodic (every few minutes): queue the emails of imports whose task was lost."""
    funds_emails.funds_received_emails_queue_due()


@shared_task(ignore_result=True)
def statement_upload_import(upload_id: int) -> None:
    """Import a statement uploaded in the back office (its page shows the progress)."""
    from billtone.reconciliation.services import uploads

    uploads.statement_upload_import(upload_id=upload_id)


@shared_task(ignore_result=True)
def statement_uploads_stalled_sweep() -> None:
    """Periodic (every few minutes): mark failed the uploads whose worker stopped."""
    from billtone.reconciliation.services import uploads

    uploads.statement_uploads_stalled_fail()
