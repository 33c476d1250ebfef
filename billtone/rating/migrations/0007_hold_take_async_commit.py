"""PostgreSQL: rating_hold_take() commits without waiting for its WAL to reach the disk.

A hold is not money and not history (decision 0028): after a crash of PostgreSQL, the holds
of the last fraction of a second may be gone, as if their calls had been authorized a moment
earlier without one. Waiting for the disk was ~1.6 ms of every authorization on this
machine's disk (fdatasync) and, at 500 a second, most of that disk's syncs
(docs/decisions/0032-hold-commits-asynchronous.md). `set_config(..., true)` lasts to the end
of the transaction, so the COMMIT of the autocommitted call sees it; the ledger's postings
and every other transaction still wait for the disk.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION rating_hold_take(
    p_credit_id bigint, p_account_id bigint, p_call_id varchar, p_caller_id bigint,
    p_included_total integer, p_period date,
    p_phone_user_id bigint, p_destination varchar, p_amount numeric, p_currency varchar,
    p_seconds integer, p_included_seconds integer, p_created_at timestamptz,
    p_expires_at timestamptz,
    OUT hold_id bigint, OUT available numeric, OUT included_left integer
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held numeric;
    held_seconds integer;
    used integer;
BEGIN
    -- This transaction's commit does not wait for its WAL to reach the disk (decision 0032).
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT balance - floor INTO available FROM ledger_ledgeraccount
    WHERE id = p_credit_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger account % does not exist', p_credit_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_call_id <> '' THEN
        DELETE FROM rating_callhold WHERE account_id = p_account_id AND call_id = p_call_id;
    END IF;
    SELECT COALESCE(SUM(amount), 0),
           COALESCE(SUM(CASE WHEN phone_user_id = p_caller_id THEN included_seconds ELSE 0 END), 0)
    INTO held, held_seconds
    FROM rating_callhold WHERE account_id = p_account_id AND expires_at > p_created_at;
    available := available - held;
    included_left := 0;
    IF p_caller_id IS NOT NULL THEN
        SELECT COALESCE(SUM(included_seconds), 0) INTO used FROM rating_cdr
        WHERE phone_user_id = p_caller_id AND period_start = p_period AND included_seconds > 0;
        included_left := GREATEST(p_included_total - used, 0) - held_seconds;
    END IF;
    IF p_seconds > 0 AND p_amount <= available AND p_included_seconds <= included_left THEN
        INSERT INTO rating_callhold (account_id, phone_user_id, destination, call_id, amount,
            currency, seconds, included_seconds, created_at, expires_at)
        VALUES (p_account_id, p_phone_user_id, p_destination, p_call_id, p_amount,
            p_currency, p_seconds, p_included_seconds, p_created_at, p_expires_at)
        RETURNING id INTO hold_id;
    END IF;
END
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION rating_hold_take(
    p_credit_id bigint, p_account_id bigint, p_call_id varchar, p_caller_id bigint,
    p_included_total integer, p_period date,
    p_phone_user_id bigint, p_destination varchar, p_amount numeric, p_currency varchar,
    p_seconds integer, p_included_seconds integer, p_created_at timestamptz,
    p_expires_at timestamptz,
    OUT hold_id bigint, OUT available numeric, OUT included_left integer
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held numeric;
    held_seconds integer;
    used integer;
BEGIN
    SELECT balance - floor INTO available FROM ledger_ledgeraccount
    WHERE id = p_credit_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger account % does not exist', p_credit_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF p_call_id <> '' THEN
        DELETE FROM rating_callhold WHERE account_id = p_account_id AND call_id = p_call_id;
    END IF;
    SELECT COALESCE(SUM(amount), 0),
           COALESCE(SUM(CASE WHEN phone_user_id = p_caller_id THEN included_seconds ELSE 0 END), 0)
    INTO held, held_seconds
    FROM rating_callhold WHERE account_id = p_account_id AND expires_at > p_created_at;
    available := available - held;
    included_left := 0;
    IF p_caller_id IS NOT NULL THEN
        SELECT COALESCE(SUM(included_seconds), 0) INTO used FROM rating_cdr
        WHERE phone_user_id = p_caller_id AND period_start = p_period AND included_seconds > 0;
        included_left := GREATEST(p_included_total - used, 0) - held_seconds;
    END IF;
    IF p_seconds > 0 AND p_amount <= available AND p_included_seconds <= included_left THEN
        INSERT INTO rating_callhold (account_id, phone_user_id, destination, call_id, amount,
            currency, seconds, included_seconds, created_at, expires_at)
        VALUES (p_account_id, p_phone_user_id, p_destination, p_call_id, p_amount,
            p_currency, p_seconds, p_included_seconds, p_created_at, p_expires_at)
        RETURNING id INTO hold_id;
    END IF;
END
$$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("rating", "0006_postgres_hold_take")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
