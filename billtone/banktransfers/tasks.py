from celery import shared_task

from billtone.banktransfers import services


@shared_task(ignore_result=True)
def bank_transfers_expire() -> None:
    """Periodic (e.g. hourly): mark bank transfers past their expiry as expired."""
    services.bank_transfer_expire_due()
