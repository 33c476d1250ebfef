"""billtone import-rate-deck FILE: import a carrier's rate deck (CSV), all or nothing."""

import getpass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from billtone.core.services import Actor
from billtone.rating.deck_columns import ColumnMapError, column_map_parse
from billtone.rating.decks import deck_read
from billtone.rating.errors import RateDeckInvalid
from billtone.rating.services import rate_deck_save

ERRORS_SHOWN = 200


def moment_parse(text: str) -> datetime:
    """An ISO 8601 moment with its offset, or a date: midnight in the operator's time zone."""
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        return datetime.combine(day, time(), ZoneInfo(settings.BILLTONE_OPERATOR_TIME_ZONE))
    if moment is None:
        raise CommandError(f"--effective-from '{text}' is not a date or an ISO 8601 moment.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.BILLTONE_OPERATOR_TIME_ZONE))
    return moment


class Command(BaseCommand):
    help = (
        "Import a rate deck from CSV: every line is checked, and one bad line imports "
        "nothing (each bad line is named). The deck prices calls from --effective-from on."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", required=True, help="ISO 4217, e.g. EUR")
        parser.add_argument(
            "--effective-from",
            required=True,
            help="a date (midnight in BILLTONE_OPERATOR_TIME_ZONE) or an ISO 8601 moment",
        )
        parser.add_argument(
            "--sub-units",
            type=int,
            help="prices are written in 1/N of the currency, e.g. 10000",
        )
        parser.add_argument(
            "--map",
            dest="column_map",
            help="columns with other headers: prefix=Code,rate=Price,destination=Zone,"
            "connection_fee=Setup,initial=Min,subsequent=Int,increments=Billing",
        )

    def handle(self, *args, **options):
        console = Console(file=self.stdout, highlight=False)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["sub_units"] is not None and options["sub_units"] < 1:
            raise CommandError("--sub-units is a whole number of at least 1.")
        try:
            column_map = column_map_parse(options["column_map"] or "")
        except ColumnMapError as error:
            raise CommandError(f"--map: {error}") from None
        effective_from = moment_parse(options["effective_from"])
        actor = Actor.system(f"{getpass.getuser()} (billtone import-rate-deck)")
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            console=console,
            transient=True,
        )
        with progress:
            reading = progress.add_task("Reading the deck", total=None)
            read = deck_read(
                path.read_bytes(),
                sub_units=options["sub_units"],
                column_map=column_map,
                progress=lambda done: progress.update(reading, completed=done),
            )
            writing = progress.add_task("Writing rates", total=len(read.tariffs))
            try:
                deck = rate_deck_save(
                    read=read,
                    name=options["name"],
                    currency=options["currency"].upper(),
                    effective_from=effective_from,
                    source_name=path.name,
                    actor=actor,
                    progress=lambda done: progress.update(writing, completed=done),
                )
            except RateDeckInvalid as error:
                deck = None
                failure = error
        console.print(self._summary(read, path.name))
        if deck is None:
            self._fail(console, failure)
        console.print(
            f"Imported [bold]{escape(deck.name)}[/bold]: {deck.rate_count:,} rates in "
            f"{deck.currency}, in force from {deck.effective_from.isoformat()}."
        )

    def _fail(self, console: Console, error: RateDeckInvalid) -> None:
        lines = error.errors.get("file", [])
        for message in lines[:ERRORS_SHOWN]:
            console.print(f"[red]{escape(message)}[/red]")
        if len(lines) > ERRORS_SHOWN:
            console.print(f"[red]… and {len(lines) - ERRORS_SHOWN:,} more bad lines.[/red]")
        others = [m for key, ms in error.errors.items() if key != "file" for m in ms]
        raise CommandError(" ".join([error.detail if lines else "", *others]).strip())

    def _summary(self, read, file_name: str) -> Table:
        table = Table(title=f"{file_name}", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        columns = ", ".join(f"{role}: {header}" for role, header in read.columns.items())
        for label, value in (
            ("Prefix rows read", f"{read.rows_read:,}"),
            ("Rates", f"{len(read.tariffs):,}"),
            ("Same prefix and price again (kept once)", f"{read.duplicates:,}"),
            ("Bad lines", f"{len(read.errors):,}"),
            ("Columns read", columns or "—"),
            ("Columns not used", ", ".join(read.ignored_columns) or "—"),
        ):
            table.add_row(label, escape(value))
        return table
