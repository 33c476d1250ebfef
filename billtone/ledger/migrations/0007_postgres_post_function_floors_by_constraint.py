"""PostgreSQL: ledger_post() without a floor test of its own, and with simpler statements.

Migration 0004's function tested the floors itself: a third copy of the rule that
billtone/ledger/floors.py now holds once. This one leaves the decision to the table's check
constraint ledger_balance_not_below_floor (models.py), which refuses the balance update of an
account that would go below its floor; services.transaction_post explains such a refusal with
floors.first_short, after a second look under the portable path's locks.

Its statements are also simpler, for a third less backend CPU per transfer (1.1 -> 0.7 ms,
docs/benchmarks.md): one single-row UPDATE per ledger account, in id order (the caller passes
the net change of each account sorted by id), locks it, writes its balance and returns the
balance before, instead of a locking join on the aggregated legs, a count of the accounts and
a join, a window and a grouping to insert and update; the postings' balance_after follow leg
by leg from those balances in PL/pgSQL; then the transaction and its postings (all in one
INSERT: migration 0005's balance trigger checks each statement). An account whose net change
is zero is updated by zero, which locks it all the same. A second reversal is refused before
anything is locked; the one-to-one `reverses` constraint decides two at the same moment.
"""

from django.db import migrations

SIGNATURE_0004 = """ledger_post(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz,
    bigint[], numeric[], varchar[]
)"""

FORWARD = f"""
DROP FUNCTION {SIGNATURE_0004};

CREATE FUNCTION ledger_post(
    p_kind varchar, p_memo varchar, p_external_reference varchar, p_created_by varchar,
    p_idempotency_key varchar, p_fingerprint varchar, p_reverses_id bigint,
    p_created_at timestamptz, p_accounts bigint[], p_amounts numeric[], p_currencies varchar[],
    p_net_accounts bigint[], p_net_changes numeric[],
    OUT posted_id bigint, OUT already_reversed boolean
) LANGUAGE plpgsql AS $$
DECLARE
    balances numeric[] := '{{}}';  -- per p_net_accounts: the balance so far
    afters numeric[] := '{{}}';  -- per leg: the balance after it
    running numeric;
    slot integer;
BEGIN
    already_reversed := p_reverses_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM ledger_transaction WHERE reverses_id = p_reverses_id
    );
    IF already_reversed THEN
        RETURN;
    END IF;
    FOR slot IN 1 .. cardinality(p_net_accounts) LOOP
        UPDATE ledger_ledgeraccount SET balance = balance + p_net_changes[slot]
        WHERE id = p_net_accounts[slot]
        RETURNING balance - p_net_changes[slot] INTO running;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger account % does not exist', p_net_accounts[slot]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        balances := balances || running;
    END LOOP;
    FOR slot IN 1 .. cardinality(p_accounts) LOOP
        running := balances[array_position(p_net_accounts, p_accounts[slot])] + p_amounts[slot];
        balances[array_position(p_net_accounts, p_accounts[slot])] := running;
        afters := afters || running;
    END LOOP;

    INSERT INTO ledger_transaction (kind, memo, external_reference, created_by,
        idempotency_key, fingerprint, reverses_id, created_at)
    VALUES (p_kind, p_memo, p_external_reference, p_created_by,
        p_idempotency_key, p_fingerprint, p_reverses_id, p_created_at)
    RETURNING id INTO posted_id;
    INSERT INTO ledger_posting (transaction_id, ledger_account_id, amount, currency,
        balance_after, created_at)
    SELECT posted_id, leg.account_id, leg.amount, leg.currency, leg.balance_after, p_created_at
    FROM unnest(p_accounts, p_amounts, p_currencies, afters)
        AS leg(account_id, amount, currency, balance_after);
END;
$$;
"""

BACKWARD = """
DROP FUNCTION ledger_post(
    varchar, varchar, varchar, varchar, varchar, varchar, bigint, timestamptz,
    bigint[], numeric[], varchar[], bigint[], numeric[]
);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        schema_editor.execute(BACKWARD, params=None)
        # Migration 0004's function, as it was.
        previous = import_module("billtone.ledger.migrations.0004_postgres_post_function")
        schema_editor.execute(previous.FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_transaction_idempotency_key_constraint")]

    operations = [migrations.RunPython(forward, backward)]
