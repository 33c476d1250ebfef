from celery import shared_task

from billtone.telephony import services


@shared_task(ignore_result=True)
def holds_lapse() -> None:
    """Periodic (every minute): numbers whose hold ran out go back to the inventory."""
    services.holds_lapse()
