from celery import shared_task

from billtone.telephony import services


@shared_task(ignore_result=True)
def holds_lapse() -> None:
    """Periodic (every minute): numbers whose hold ran out go back to the inventory."""
    services.holds_lapse()


@shared_task(ignore_result=True)
def cancellations_finish() -> None:
    """Periodic (every 15 minutes): users and numbers whose last day of service is over;
    users whose scheduled plan change has come (the same clock, the same cadence)."""
    services.cancellations_finish()
    services.plan_changes_finish()
