"""The call holds' periodic cleanup (decision 0028). Imported by RatingConfig.ready."""

from celery import shared_task


@shared_task(ignore_result=True)
def call_holds_purge_task() -> None:
    """Periodic (every 10 minutes): holds past their expiry, which no query counts, deleted;
    then any total that differs from its holds put right (decision 0033)."""
    from billtone.rating.services.authorize import call_holds_purge
    from billtone.rating.services.hold_totals import call_hold_totals_rebuild

    call_holds_purge()
    call_hold_totals_rebuild()
