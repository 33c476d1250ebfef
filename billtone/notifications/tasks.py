from celery import shared_task

from billtone.notifications import services


@shared_task(ignore_result=True)
def email_deliver(delivery_id: int) -> None:
    services.email_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def email_retry() -> None:
    """Periodic (every few minutes): send what is due, release what a dead worker held."""
    for delivery_id in services.email_retry_due():
        services.email_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    services.webhook_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_retry() -> None:
    """Periodic (every 30 seconds): send the webhook deliveries that are due. Safe to run twice
    at once: each delivery is sent only by the run that claims it."""
    for delivery_id in services.webhook_retry_due():
        services.webhook_send(delivery_id=delivery_id)
