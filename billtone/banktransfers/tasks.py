from celery import shared_task

from billtone.banktransfers import services


@shared_task(ignore_result=True)
def funding_requests_expire() -> None:
    """Periodic (e.g. hourly): mark funding requests past their expiry as expired."""
    services.funding_request_expire_due()


@shared_task(ignore_result=True)
def funds_received_emails_send(delivery_ids: list[int]) -> None:
    """Send the "funds received" emails of one import batch. Safe to run twice: each
    delivery is sent only by the run that claims it; what fails is retried by the periodic
    email task."""
    from billtone.notifications.services import email_send

    for delivery_id in delivery_ids:
        email_send(delivery_id=delivery_id)
