"""billtone bill-run: bill every account whose bill moment has come: in this process, or
with a broker, by the Celery workers the chunks are handed to, their counts followed here."""

import getpass
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from billtone.billing.models import BillRun
from billtone.billing.services import bill_run
from billtone.billing.services.run import CHUNK_SIZE
from billtone.core.services import Actor


class Command(BaseCommand):
    help = (
        "Issue the monthly bills of every account whose bill moment has come and collect "
        "them (business funds, then the default card). Running it again bills nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
        parser.add_argument(
            "--at", help="bill as at this moment (ISO 8601 with offset); default: now"
        )

    def handle(self, *args, **options):
        console = Console(file=self.stdout, highlight=False)
        at = None
        if options["at"]:
            at = parse_datetime(options["at"])
            if at is None or at.tzinfo is None:
                raise CommandError("--at takes an ISO 8601 moment with its offset.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size is at least 1.")
        actor = Actor.system(f"{getpass.getuser()} (billtone bill-run)")
        progress = Progress(
            SpinnerColumn(),
            TextColumn("Accounts billed"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        )
        task = progress.add_task("bill", total=None)

        def report(done: int, total: int, counts) -> None:
            progress.update(task, completed=done, total=total)

        with progress:
            run = bill_run(actor=actor, at=at, chunk_size=options["chunk_size"], progress=report)
            if run.fanned_out:
                progress.console.print(
                    f"Handed {run.chunks} chunks of {run.due} accounts to the Celery workers; "
                    "following their counts (Ctrl-C stops following, not the run)."
                )
                run = self._follow(run, lambda r: report(r.accounts_done, r.due, None))
        console.print(self._summary(run))
        if run.status == BillRun.Status.FAILED:
            raise CommandError(f"The bill run failed: {run.error}")
        for failure in run.failures.order_by("account_id")[:20]:
            console.print(f"[yellow]Account {failure.account_id}:[/yellow] {failure.reason}")

    def _follow(self, run: BillRun, report) -> BillRun:
        """Until the last chunk has reported (the workers finish the run)."""
        while run.status == BillRun.Status.RUNNING:
            report(run)
            time.sleep(0.5)
            run.refresh_from_db()
        report(run)
        return run

    def _summary(self, run: BillRun) -> Table:
        table = Table(title=f"Bill run #{run.pk} ({run.get_status_display()})", show_header=False)
        table.add_column("what")
        table.add_column("count", justify="right")
        for label, value in (
            ("Accounts due", run.due),
            ("Invoiced", run.invoiced),
            ("Billed before (skipped)", run.skipped),
            ("Failed", run.failed),
            ("Paid from business funds", run.paid_from_funds),
            ("Paid by card", run.paid_by_card),
            ("Left unpaid", run.left_unpaid),
        ):
            table.add_row(label, str(value))
        return table
