"""PostgreSQL: ledger_post(), the storage of services.transaction_post in one statement.

It does what the portable path in billtone/ledger/storage.py does with the ORM: lock the
ledger accounts in id order, refuse a second reversal, check the floors of net debits, insert
the transaction and its postings (with the balance after each) and write the new balances.
One round trip in autocommit instead of seven: the ledger's hot path (docs/benchmarks.md).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ledger_post(
    p_kind varchar, p_memo varchar, p_external_reference varchar, p_created_by varchar,
    p_idempotency_key varchar, p_fingerprint varchar, p_reverses_id bigint,
    p_created_at timestamptz, p_accounts bigint[], p_amounts numeric[], p_currencies varchar[],
    OUT posted_id bigint, OUT already_reversed boolean,
    OUT short_account_id bigint, OUT short_balance numeric
) LANGUAGE plpgsql AS $$
DECLARE
    acc record;
    locked integer := 0;
BEGIN
    already_reversed := false;
    FOR acc IN
        SELECT a.id, a.balance, a.floor, n.change
        FROM ledger_ledgeraccount a
        JOIN (
            SELECT l.account_id, sum(l.amount) AS change
            FROM unnest(p_accounts, p_amounts) AS l(account_id, amount)
            GROUP BY l.account_id
        ) n ON n.account_id = a.id
        ORDER BY a.id
        FOR UPDATE OF a
    LOOP
        locked := locked + 1;
        IF short_account_id IS NULL AND acc.change < 0 AND acc.floor IS NOT NULL
                AND acc.balance + acc.change < acc.floor THEN
            short_account_id := acc.id;
            short_balance := acc.balance;
        END IF;
    END LOOP;
    IF locked <> (SELECT count(DISTINCT x) FROM unnest(p_accounts) AS x) THEN
        RAISE EXCEPTION 'a ledger account of this transaction does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_reverses_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM ledger_transaction WHERE reverses_id = p_reverses_id
    ) THEN
        already_reversed := true;
        short_account_id := NULL;
        short_balance := NULL;
        RETURN;
    END IF;
    IF short_account_id IS NOT NULL THEN
        RETURN;
    END IF;

    INSERT INTO ledger_transaction (kind, memo, external_reference, created_by,
        idempotency_key, fingerprint, reverses_id, created_at)
    VALUES (p_kind, p_memo, p_external_reference, p_created_by,
        p_idempotency_key, p_fingerprint, p_reverses_id, p_created_at)
    RETURNING id INTO posted_id;

    WITH legs AS (
        SELECT l.account_id, l.amount, l.currency, l.n
        FROM unnest(p_accounts, p_amounts, p_currencies)
            WITH ORDINALITY AS l(account_id, amount, currency, n)
    ), postings AS (
        INSERT INTO ledger_posting (transaction_id, ledger_account_id, amount, currency,
            balance_after, created_at)
        SELECT posted_id, legs.account_id, legs.amount, legs.currency,
            a.balance + sum(legs.amount) OVER (PARTITION BY legs.account_id ORDER BY legs.n),
            p_created_at
        FROM legs JOIN ledger_ledgeraccount a ON a.id = legs.account_id
        ORDER BY legs.n
    )
    UPDATE ledger_ledgeraccount a SET balance = a.balance + n.change
    FROM (SELECT account_id, sum(amount) AS change FROM legs GROUP BY account_id) n
    WHERE a.id = n.account_id AND n.change <> 0;
END;
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS ledger_post(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz,
    bigint[], numeric[], varchar[]
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_balance_floor_constraint")]

    operations = [migrations.RunPython(forward, backward)]
