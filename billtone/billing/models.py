"""Bill runs: one row per run with its counts, and one per account that could not be billed
(docs/decisions/0020). The invoices themselves are invoicing's: one per account and month,
unique by source key `bill:<account id>:<YYYY-MM>`."""

from django.db import models
from django.db.models import Q


class BillRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    at = models.DateTimeField(help_text="the moment billed: accounts whose bill moment had come")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=200)
    due = models.PositiveIntegerField(default=0, help_text="accounts due when it started")
    invoiced = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="billed already (another run)")
    failed = models.PositiveIntegerField(default=0)
    paid_from_funds = models.PositiveIntegerField(default=0)
    paid_by_card = models.PositiveIntegerField(default=0)
    left_unpaid = models.PositiveIntegerField(default=0)
    chunks = models.PositiveIntegerField(default=0, help_text="chunks the due accounts made")
    chunks_done = models.PositiveIntegerField(default=0, help_text="chunks that reported")
    fanned_out = models.BooleanField(default=False, help_text="chunks sent to Celery workers")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="last progress")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["running", "finished", "failed"]),
                name="bill_run_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Bill run #{self.pk} ({self.get_status_display()})"

    @property
    def accounts_done(self) -> int:
        """Each account of a reported chunk was invoiced, skipped or failed."""
        return self.invoiced + self.skipped + self.failed


class BillChunk(models.Model):
    """One chunk of a run's due accounts. `finished_at` is set once, by the chunk's first
    report: a chunk run again (a worker lost, a message redelivered) bills nothing twice and
    counts nothing twice."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunk_rows")
    number = models.PositiveIntegerField()
    accounts = models.PositiveIntegerField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="bill_chunk_unique_number")
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} chunk {self.number}"


class BillFailure(models.Model):
    """An account a run could not bill, and why (a missing tax rate, a broken profile): the
    other accounts of its chunk are billed all the same."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="failures")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    period = models.DateField(null=True, blank=True, help_text="first day of the month billed")
    reason = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["run_id", "account_id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period}: {self.reason[:60]}"


class BillCollection(models.Model):
    """A bill's first collection was done (whatever its outcome). An open bill without one
    was issued by a run that died before collecting it: the next run collects it (with the
    same payment key, so never twice)."""

    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    outcome = models.CharField(max_length=20)
    collected_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.outcome}"


# Dunning lives in its own module; imported here so Django finds it with the rest.
from billtone.billing.dunning_models import Dunning  # noqa: E402

__all__ = ["BillCollection", "BillFailure", "BillRun", "Dunning"]
