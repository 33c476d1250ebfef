"""billtone import-statement FILE: import a bank statement (camt.053, MT940 or CSV)."""

import contextlib
import gc
import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from billtone.core.errors import ApplicationError
from billtone.core.services import Actor
from billtone.reconciliation.services.imports import (
    BATCH_SIZE,
    csv_columns_parse,
    statement_import,
)
from billtone.reconciliation.statements import FORMATS


class Command(BaseCommand):
    help = (
        "Import a bank statement: credits with exactly one known RF reference land on that "
        "account's business funds, the others wait in the back office's review queue. "
        "Importing a file again credits nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the statement file, or - to read standard input")
        parser.add_argument("--format", choices=FORMATS, help="default: detect from the file")
        parser.add_argument(
            "--csv-map",
            metavar="JSON",
            help='column map of a CSV file, as JSON or a JSON file: {"booking_date": "Date", '
            '"amount": "Amount", "default_currency": "EUR", "reference": "Reference", ...}',
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, **options):
        console = Console(file=self.stdout, highlight=False)
        csv_columns = None
        if options["csv_map"]:
            text = options["csv_map"]
            if not text.lstrip().startswith("{") and Path(text).is_file():
                text = Path(text).read_text(encoding="utf-8")
            csv_columns = self._or_fail(lambda: csv_columns_parse(text))
        source = sys.stdin.buffer if options["file"] == "-" else Path(options["file"])
        name = "stdin" if options["file"] == "-" else None
        actor = Actor.system(f"{getpass.getuser()} (billtone import-statement)")

        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[shown]}"),
            console=console,
            transient=True,
        )
        tasks = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage == "read":  # bytes of the file
                shown = f"{done / 2**20:,.1f} of {(total or done) / 2**20:,.1f} MiB"
            else:  # credits imported
                shown = f"{done:,}"
            if stage not in tasks:
                label = "Reading the file" if stage == "read" else "Credits imported"
                tasks[stage] = progress.add_task(label, total=total, shown=shown)
            progress.update(tasks[stage], completed=done, total=total, shown=shown)

        with progress, fewer_collections():
            result = self._or_fail(
                lambda: statement_import(
                    source=source,
                    name=name,
                    actor=actor,
                    format=options["format"],
                    csv_columns=csv_columns,
                    batch_size=options["batch_size"],
                    progress=report,
                )
            )
        console.print(self._summary(result))
        for warning in result.warnings:
            console.print(f"[yellow]Warning:[/yellow] {warning}")

    def _or_fail(self, work):
        try:
            return work()
        except ApplicationError as error:
            details = [m for messages in (error.errors or {}).values() for m in messages]
            message = details[0] if len(details) == 1 else str(error)
            if len(details) > 1:
                message += " " + " ".join(details)
            raise CommandError(message) from None

    def _summary(self, result) -> Table:
        table = Table(
            title=f"{result.file_name} ({result.get_format_display()})", show_header=False
        )
        table.add_column("what")
        table.add_column("count", justify="right")
        totals = ", ".join(f"{a} {c}" for c, a in result.matched_totals.items()) or "0"
        for label, value in (
            ("Credit entries", result.credits),
            ("Matched and credited", result.matched),
            ("Amount credited", totals),
            ("To review (back office)", result.to_review),
            ("Imported before (skipped)", result.duplicates_skipped),
            ("Debits (ignored)", result.debits_ignored),
            ("Not booked (ignored)", result.not_booked_ignored),
        ):
            table.add_row(label, str(value))
        return table


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run Python's cyclic garbage collector less often while this process imports: the
    import makes millions of short-lived objects and few cycles, and with the default
    thresholds the collector walks every live object again and again. It changes the whole
    process, so only here, in the command's own process: never in the service, which a web
    worker's upload thread runs beside other requests. It buys 12 % of the import's Python
    CPU (100,000 credits: 17.7 → 15.6 s on a shared machine, docs/benchmarks.md)."""
    before = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*before)
