"""PostgreSQL: rating_hold_take(), an authorization's locked part in one round trip.

services/authorize_sql.hold_take says what it does; services/authorize.py computes the
allowance in Python from the figures read without a lock and asks this function to take the
hold only if the figures, read again under the call credit's row lock, still cover it (else
it returns them and the allowance is computed again). In autocommit, one statement instead
of BEGIN, the lock, the call id's delete, the holds' sum, the included use, the insert and
COMMIT. The function is VOLATILE: each of its statements takes a new snapshot, so the holds'
sum after waiting for the lock sees the hold of the authorization it waited for.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION rating_hold_take(
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

BACKWARD = """
DROP FUNCTION rating_hold_take(
    bigint, bigint, varchar, bigint, integer, date, bigint, varchar, numeric, varchar,
    integer, integer, timestamptz, timestamptz
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rating", "0005_call_holds"),
        ("ledger", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
