"""The call holds' periodic cleanup (decision 0028). Imported by RatingConfig.ready."""

from celery import shared_task


@shared_task(ignore_result=True)
def call_holds_purge_task() -> None:
    """Periodic (every 10 minutes): holds past their expiry, which no query counts, deleted."""
    from billtone.rating.services.authorize import call_holds_purge

    call_holds_purge()
