"""The auto top-up's Celery tasks: they take ids, call a service, and are safe to run twice.
Imported by RatingConfig.ready so that workers know them (not a `tasks` module: the rating
app's other work has its own)."""

from celery import shared_task


@shared_task(ignore_result=True)
def auto_top_up_check_task(account_id: int) -> None:
    """Call credit was debited: top it up if it fell below the account's threshold."""
    from billtone.rating.services.topup import auto_top_up_check

    auto_top_up_check(account_id=account_id)


@shared_task(ignore_result=True)
def top_ups_settle_due_task() -> None:
    """Periodic: card top-ups whose payment's outcome was not known are settled."""
    from billtone.rating.services.topup import top_ups_settle_due

    top_ups_settle_due()
