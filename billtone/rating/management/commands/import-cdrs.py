"""billtone import-cdrs FILE: read a switch's CDR file, rate and charge its calls, keep the rest.

Lines the reader cannot read are stored for the operator (back office: CDR lines rejected),
never dropped; the records are ingested in batches, each call charged once by its call id,
so the same file (or a fixed copy of it) imported again charges nothing twice. Only a bad
invocation fails the command, never the file's lines.
"""

import getpass
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from billtone.core.services import Actor
from billtone.rating.cdrs import LAYOUTS, CdrFile, cdr_file_read
from billtone.rating.services import cdr_lines_reject
from billtone.rating.services.ingest_parallel import cdrs_ingest_parallel


def column_map_parse(text: str) -> dict[str, str | int]:
    """`role=Column,role=3`: a header name, or a 0-based position when all digits."""
    column_map: dict[str, str | int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, sep, column = (part.strip() for part in item.partition("="))
        if not sep or not role or not column:
            raise CommandError(f"--map: '{item}' is not role=Column.")
        if role in column_map:
            raise CommandError(f"--map: {role} is given twice.")
        column_map[role] = int(column) if column.isdigit() else column
    return column_map


def zone_parse(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise CommandError(f"--switch-tz: '{name}' is not an IANA time zone.") from None


class Command(BaseCommand):
    help = (
        "Import a CDR file (Asterisk cdr_csv or cdr_custom, FreeSWITCH mod_cdr_csv, a CSV): "
        "answered calls are rated and charged once per call id; lines that cannot be read "
        "are kept for the back office."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CDR file, e.g. Master.csv")
        parser.add_argument("--layout", required=True, choices=LAYOUTS)
        parser.add_argument(
            "--switch-tz",
            help="the switch's time zone (default BILLTONE_SWITCH_TIME_ZONE)",
        )
        parser.add_argument(
            "--map",
            dest="column_map",
            help="columns: role=Column or role=position, e.g. call_id=uuid,billsec=7 (roles: "
            "call_id, account_code, source, destination, start, answer, end, billsec, "
            "disposition)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="ingest in this many processes at once, the calls split by account "
            "(PostgreSQL; default 1)",
        )

    def handle(self, *args, **options):
        console = Console(file=self.stdout, highlight=False)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if not 1 <= options["processes"] <= 64:
            raise CommandError("--processes: a number from 1 to 64.")
        zone = zone_parse(options["switch_tz"] or settings.BILLTONE_SWITCH_TIME_ZONE)
        column_map = column_map_parse(options["column_map"] or "") or None
        actor = Actor.system(f"{getpass.getuser()} (billtone import-cdrs)")
        try:
            read = cdr_file_read(
                path.read_bytes(), layout=options["layout"], switch_tz=zone, column_map=column_map
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        totals = self._ingest(console, read, path.name, actor, options["processes"])
        console.print(self._summary(read, totals, path.name))
        if read.rejected:
            console.print(
                f"{len(read.rejected):,} lines could not be read: kept in the back office "
                "(CDR lines rejected); fix the file and import it again."
            )

    def _ingest(self, console, read: CdrFile, file_name: str, actor: Actor, processes) -> Counter:
        totals: Counter = Counter()
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} calls"),
            console=console,
            transient=True,
        )
        with progress:
            task = progress.add_task("Rating calls", total=len(read.records))
            try:
                summaries = cdrs_ingest_parallel(
                    records=read.records,
                    source=file_name,
                    actor=actor,
                    processes=processes,
                    progress=lambda n: progress.update(task, advance=n),
                )
            except RuntimeError as error:  # a process failed: its batch rolled back
                raise CommandError(
                    f"{error}. Import the file again: the calls stored are not charged twice."
                ) from None
        for summary in summaries:
            for name in ("answered", "rated", "not_rated", "duplicates"):
                totals[name] += getattr(summary, name)
            for reason, count in summary.rejected_by_reason.items():
                totals[f"rejected:{reason}"] += count
        first_batch = min((s.batch_id for s in summaries), default=None)
        cdr_lines_reject(
            lines=read.rejected, file_name=file_name, batch_id=first_batch, actor=actor
        )
        return totals

    def _summary(self, read: CdrFile, totals: Counter, file_name: str) -> Table:
        counts = read.counts
        table = Table(title=file_name, show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        rows = [
            ("Records read (lines)", counts.lines),
            ("Calls (after legs merged)", counts.records),
            ("Answered", counts.answered),
            ("Rated", totals["rated"]),
            ("Not rated", totals["not_rated"]),
        ]
        rows += [(f"  not answered: {d}", n) for d, n in counts.not_answered.items()]
        rows += [(f"Rejected line: {reason}", n) for reason, n in counts.rejected.items()]
        rows += [
            (f"Rejected call: {key.removeprefix('rejected:')}", n)
            for key, n in sorted(totals.items())
            if key.startswith("rejected:")
        ]
        rows += [
            ("Duplicate lines in the file (ignored)", counts.duplicates),
            ("Call ids already stored or repeated (not charged again)", totals["duplicates"]),
            ("Legs merged into another row's call", counts.legs_merged),
        ]
        for label, value in rows:
            table.add_row(escape(label), f"{value:,}")
        return table
