"""PostgreSQL: postings balance, checked once per INSERT or COPY statement, not once per row.

Migration 0002's deferred constraint trigger ran two queries for every posting at COMMIT:
1.9 s of 5.6 s of PostgreSQL CPU to post 90,000 two-leg transactions with ledger.bulk (this
one: 0.4 s). This trigger runs once per statement over the statement's new rows (a transition
table), set-based:

- every new posting is in its ledger account's currency;
- every transaction the statement touched sums to zero per currency over all its postings.

A statement-level trigger cannot be deferred to COMMIT, so each INSERT or COPY into
ledger_posting must leave every transaction it touches balanced: a transaction's postings are
inserted in one statement. ledger_post() (migration 0004, one INSERT in a CTE), the ORM's
bulk_create (one INSERT on PostgreSQL) and ledger.bulk (one COPY per batch) all do.

PL/pgSQL plans these queries once per session, with the row count of the first statement it
sees: both are written as per-row look-ups (a correlated subquery, a LATERAL aggregate) so
that the plan is an index scan per new account or transaction whatever that count was, and
never a scan of the whole table.
"""

from django.db import migrations

FORWARD = """
DROP TRIGGER ledger_posting_balanced ON ledger_posting;
DROP FUNCTION ledger_posting_check();

CREATE FUNCTION ledger_posting_statement_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.ledger_account_id, n.currency INTO bad
    FROM (SELECT DISTINCT ledger_account_id, currency FROM ledger_posting_new) n
    WHERE n.currency IS DISTINCT FROM (
        SELECT a.currency FROM ledger_ledgeraccount a WHERE a.id = n.ledger_account_id
    )
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a posting in % is not in its ledger account''s currency (account %: %)',
            bad.currency, bad.ledger_account_id,
            coalesce((SELECT currency FROM ledger_ledgeraccount
                      WHERE id = bad.ledger_account_id), 'no such account')
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;

    SELECT t.transaction_id, s.currency, s.total INTO bad
    FROM (SELECT DISTINCT transaction_id FROM ledger_posting_new) t
    CROSS JOIN LATERAL (
        SELECT p.currency, sum(p.amount) AS total FROM ledger_posting p
        WHERE p.transaction_id = t.transaction_id
        GROUP BY p.currency HAVING sum(p.amount) <> 0
    ) s
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaction % does not sum to zero per currency (% %)',
            bad.transaction_id, bad.total, bad.currency
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Insert all postings of a transaction in one statement.';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS ledger_posting_new
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_posting_statement_check();
"""

# Migration 0002's row-level deferred constraint trigger, as it was.
BACKWARD = """
DROP TRIGGER ledger_posting_balanced ON ledger_posting;
DROP FUNCTION ledger_posting_statement_check();

CREATE FUNCTION ledger_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM ledger_ledgeraccount
        WHERE id = NEW.ledger_account_id AND currency = NEW.currency
    ) THEN
        RAISE EXCEPTION 'posting % is not in its ledger account''s currency', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF EXISTS (
        SELECT 1 FROM ledger_posting WHERE transaction_id = NEW.transaction_id
        GROUP BY currency HAVING SUM(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'transaction % does not sum to zero per currency', NEW.transaction_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_check();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_postgres_post_function")]

    operations = [migrations.RunPython(forward, backward)]
