"""How a statement batch is written: with the ORM (any database), or in a few statements on
PostgreSQL (COPY, unnest), where the ORM's per-row cost would be most of an import's time.

Both write the same rows under the same constraints; the test suite runs each on its
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat

from billtone.accounts.models import BillingProfile
from billtone.banktransfers.models import AccountReference, FundingRequest
from billtone.notifications.models import EmailDelivery
from billtone.reconciliation.models import BankEntry

# The columns of a BankEntry row as the importer builds it (attribute names).
ENTRY_COLUMNS = (
    "statement_import_id",
    "identity",
    "position",
    "amount",
    "currency",
    "booking_date",
    "value_date",
    "payer_name",
    "payer_iban",
    "structured_reference",
    "free_text",
    "end_to_end_id",
    "bank_reference",
    "status",
    "review_reason",
    "reference",
    "account_id",
    "funding_request_id",
    "suggested_account_id",
    "suggested_funding_request_id",
    "suggestion_reason",
    "ledger_transaction_id",
    "created_at",
    "decided_by_label",
    "decision_note",
)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# Lists go to PostgreSQL as one text parameter split there (string_to_array): psycopg adapts
# a Python list element by element, which cost more than the query. US (0x1f) cannot occur in
# identities, references or the numbers joined here.
_US = "\x1f"
_SPLIT = "string_to_array(%s, chr(31))"


def _joined(values) -> str:
    text = _US.join(map(str, values))
    assert text.count(_US) == max(len(values) - 1, 0), "a value holds the separator"
    return text


def entries_insert(rows: Sequence[tuple]) -> None:
    """Store new entries; IntegrityError when an identity is stored already (nothing of the
    batch is then kept: the caller's transaction rolls back)."""
    if not rows:
        return
    if not _postgres():
        BankEntry.objects.bulk_create(
            [BankEntry(**dict(zip(ENTRY_COLUMNS, row, strict=True))) for row in rows],
            batch_size=500,
        )
        return
    columns = ", ".join(BankEntry._meta.get_field(c).column for c in ENTRY_COLUMNS)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(
            f"COPY {BankEntry._meta.db_table} ({columns}) FROM STDIN"  # noqa: S608
        ) as copy,
    ):
        at = ENTRY_COLUMNS.index("created_at")  # as text: psycopg's datetime dumper costs more
        stamps: dict[datetime, str] = {}
        for row in rows:
            created = row[at]
            stamp = stamps.get(created) or stamps.setdefault(created, created.isoformat())
            copy.write_row((*row[:at], stamp, *row[at + 1 :]))


def identities_stored(identities: Sequence[str]) -> set[str]:
    """Which of these entry identities are stored already."""
    if not identities:
        return set()
    if not _postgres():
        stored = BankEntry.objects.filter(identity__in=identities)
        return set(stored.values_list("identity", flat=True))
    with connection.cursor() as cursor:  # one array parameter: no plan for 2,000 constants
        cursor.execute(
            f"SELECT identity FROM {BankEntry._meta.db_table} "  # noqa: S608
            f"WHERE identity = ANY({_SPLIT})",
            [_joined(identities)],
        )
        return {identity for (identity,) in cursor.fetchall()}


def references_known(references: Sequence[str]) -> tuple[list[tuple], list[tuple]]:
    """(permanent: (reference, account id, account currency), requests: (reference, id,
    account id, account currency, request currency, amount)) for the references that exist."""
    if not references:
        return [], []
    if not _postgres():
        permanent = AccountReference.objects.filter(reference__in=references).values_list(
            "reference", "account_id", "account__billing_profile__currency"
        )
        requests = FundingRequest.objects.filter(reference__in=references).values_list(
            "reference",
            "pk",
            "account_id",
            "account__billing_profile__currency",
            "currency",
            "amount",
        )
        return list(permanent), list(requests)
    profiles = BillingProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.reference, r.account_id, p.currency "  # noqa: S608
            f"FROM {AccountReference._meta.db_table} r "
            f"LEFT JOIN {profiles} p ON p.account_id = r.account_id "
            f"WHERE r.reference = ANY({_SPLIT})",
            [_joined(references)],
        )
        permanent = cursor.fetchall()
        cursor.execute(
            f"SELECT r.reference, r.id, r.account_id, p.currency, r.currency, r.amount "  # noqa: S608
            f"FROM {FundingRequest._meta.db_table} r "
            f"LEFT JOIN {profiles} p ON p.account_id = r.account_id "
            f"WHERE r.reference = ANY({_SPLIT})",
            [_joined(references)],
        )
        return permanent, cursor.fetchall()


def funding_requests_lock(ids: Sequence[int]) -> dict[int, tuple[str, Decimal, str]]:
    """The requests' (status, amount, currency) by id, locked in id order (after the ledger
    accounts, as every caller does)."""
    wanted = sorted(set(ids))
    if not _postgres():
        locked = (
            FundingRequest.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", "status", "amount", "currency")
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in locked}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, amount, currency FROM {FundingRequest._meta.db_table} "  # noqa: S608
            f"WHERE id = ANY({_SPLIT}::bigint[]) ORDER BY id FOR UPDATE",
            [_joined(wanted)],
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in cursor}


def funding_requests_save(
    changes: Sequence[tuple[int, str, Decimal]], *, received_at: datetime
) -> None:
    """Write (id, status, received amount) of locked requests, received at `received_at`."""
    if not changes:
        return
    if not _postgres():
        FundingRequest.objects.bulk_update(
            [
                FundingRequest(
                    pk=pk, status=status, received_amount=amount, received_at=received_at
                )
                for pk, status, amount in changes
            ],
            ["status", "received_amount", "received_at"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FundingRequest._meta.db_table} AS r SET status = v.status, "  # noqa: S608
            "received_amount = v.amount, received_at = %s "
            f"FROM unnest({_SPLIT}::bigint[], {_SPLIT}, {_SPLIT}::numeric[]) "
            "AS v(id, status, amount) WHERE r.id = v.id",
            [
                received_at,
                _joined([pk for pk, _, _ in changes]),
                _joined([status for _, status, _ in changes]),
                _joined([amount for _, _, amount in changes]),
            ],
        )


def funds_emails_make(
    *, statement_import_id: int, key_prefix: str, template: str, context_field: str, now
) -> list[int]:
    """Store a pending, unrendered email for each matched entry of the import: key
    `key_prefix + identity`, template `template`, context {context_field: identity}, to the
    entry's account (its billing email when sent). A key stored already is skipped. Returns
    the ids of the emails stored, in the entries' order."""
    matched = BankEntry.Status.MATCHED
    pending = EmailDelivery.Status.PENDING
    if not _postgres():
        entries = BankEntry.objects.filter(
            statement_import_id=statement_import_id, status=matched
        ).order_by("pk")
        EmailDelivery.objects.bulk_create(
            [
                EmailDelivery(
                    key=key_prefix + identity,
                    account_id=account_id,
                    template=template,
                    context={context_field: identity},
                    status=pending,
                    created_at=now,
                    next_attempt_at=now,
                )
                for identity, account_id in entries.values_list("identity", "account_id")
            ],
            batch_size=2_000,
            ignore_conflicts=True,
        )
        # Those stored now (a key stored before keeps its own time): a subquery, not a list of
        # keys as parameters (SQLite caps their number).
        keys = entries.annotate(email_key=Concat(Value(key_prefix), "identity"))
        made = EmailDelivery.objects.filter(created_at=now, key__in=keys.values("email_key"))
        return sorted(made.values_list("pk", flat=True))
    # One statement: the rows are made by PostgreSQL from the entries, in their order.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EmailDelivery._meta.db_table} (key, account_id, template, "  # noqa: S608
            "context, to_email, subject, body_text, body_html, status, attempts, last_error, "
            "created_at, next_attempt_at) "
            "SELECT %s || e.identity, e.account_id, %s, jsonb_build_object(%s::text, e.identity), "
            "'', '', '', '', %s, 0, '', %s, %s "
            f"FROM {BankEntry._meta.db_table} e "
            "WHERE e.statement_import_id = %s AND e.status = %s ORDER BY e.id "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            [
                key_prefix,
                template,
                context_field,
                pending,
                now,
                now,
                statement_import_id,
                matched,
            ],
        )
        return sorted(pk for (pk,) in cursor.fetchall())


def constraints_check() -> None:
    """Check the batch's deferred constraints (foreign keys) now, not at the import's commit:
    on PostgreSQL the checks then overlap with reading the next batch, and a violation
    surfaces in the batch that made it. SQLite checks at commit."""
    if not _postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
