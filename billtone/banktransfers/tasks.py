from celery import shared_task

from billtone.banktransfers import services


@shared_task(ignore_result=True)
def funding_requests_expire() -> None:
    """Periodic (e.g. hourly): mark funding requests past their expiry as expired."""
    services.funding_request_expire_due()
