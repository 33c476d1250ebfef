"""PostgreSQL: ledger_post_caught(), ledger_post() with its constraint refusals returned.

Inside the caller's transaction (a checkout, a card payment's outcome) services._store put
each ledger_post() call in a savepoint (SAVEPOINT, the call, RELEASE: three round trips), so
that a refusal by a constraint (a balance below its floor, an idempotency key already used by
a replay) left the caller's transaction usable for the second look and the replay's look-up.
This function does the same server-side: it calls ledger_post() in a block with an exception
handler (PL/pgSQL's own subtransaction, rolled back on a refusal) and returns the refusal's
SQLSTATE and constraint name instead of raising; storage.post_postgres raises it in Python as
the IntegrityError it was (decision 0021). Only integrity violations (class 23) are caught;
any other error still raises. ledger_post() itself is unchanged (autocommit calls it
directly).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ledger_post_caught(
    p_kind varchar, p_memo varchar, p_external_reference varchar, p_created_by varchar,
    p_idempotency_key varchar, p_fingerprint varchar, p_reverses_id bigint,
    p_created_at timestamptz, p_statement_reference varchar, p_accounts bigint[],
    p_amounts numeric[], p_currencies varchar[], p_net_accounts bigint[],
    p_net_changes numeric[],
    OUT posted_id bigint, OUT already_reversed boolean, OUT refused_state varchar,
    OUT refused_constraint varchar, OUT refused_message varchar
) LANGUAGE plpgsql AS $$
BEGIN
    SELECT f.posted_id, f.already_reversed INTO posted_id, already_reversed
    FROM ledger_post(p_kind, p_memo, p_external_reference, p_created_by, p_idempotency_key,
        p_fingerprint, p_reverses_id, p_created_at, p_statement_reference, p_accounts,
        p_amounts, p_currencies, p_net_accounts, p_net_changes) AS f;
EXCEPTION WHEN integrity_constraint_violation OR not_null_violation OR foreign_key_violation
    OR unique_violation OR check_violation OR exclusion_violation THEN
    GET STACKED DIAGNOSTICS refused_state = RETURNED_SQLSTATE,
        refused_constraint = CONSTRAINT_NAME, refused_message = MESSAGE_TEXT;
    posted_id := NULL;
    already_reversed := false;
END;
$$;
"""

BACKWARD = """
DROP FUNCTION ledger_post_caught(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz, varchar,
    bigint[], numeric[], varchar[], bigint[], numeric[]
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_monthly_billing")]

    operations = [migrations.RunPython(forward, backward)]
