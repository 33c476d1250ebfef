"""The holds' running totals (decision 0033): CallHoldTotal per account, CallHoldSeconds per
caller, filled from the holds there are; on PostgreSQL rating_hold_take() keeps them.

The holds table is locked (no hold written) from the fill to this migration's commit, when
the new rating_hold_take() takes over: a server of the previous release still running its
own Python writers (the ingestion's release, the purge) afterwards is put right by the
purge task's call_hold_totals_rebuild. The function keeps decision 0032's commit without
waiting for the disk, and keeps its statements' generic plans (`plan_cache_mode`, for its
own run): PostgreSQL estimated no expired hold in a custom plan and a third of the account's
in the generic one, so it planned the expired holds' sum again on every call (~25 µs), though
both plans are the same (the (account, expires_at) index).
"""

import django.db.models.deletion
from django.db import migrations, models

FILL = [
    "INSERT INTO rating_callholdtotal (account_id, amount)"
    " SELECT account_id, SUM(amount) FROM rating_callhold GROUP BY account_id",
    "INSERT INTO rating_callholdseconds (phone_user_id, included_seconds)"
    " SELECT phone_user_id, SUM(included_seconds) FROM rating_callhold"
    " WHERE phone_user_id IS NOT NULL GROUP BY phone_user_id",
]

SIGNATURE = """
    p_credit_id bigint, p_account_id bigint, p_call_id varchar, p_caller_id bigint,
    p_included_total integer, p_period date,
    p_phone_user_id bigint, p_destination varchar, p_amount numeric, p_currency varchar,
    p_seconds integer, p_included_seconds integer, p_created_at timestamptz,
    p_expires_at timestamptz,
    OUT hold_id bigint, OUT available numeric, OUT included_left integer
"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION rating_hold_take({SIGNATURE}) LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    total numeric;
    was numeric;
    expired numeric;
    expired_seconds integer;
    caller_held bigint;
    used integer;
    gone_amount numeric;
    gone_user bigint;
    gone_seconds integer;
BEGIN
    -- This transaction's commit does not wait for its WAL to reach the disk (decision 0032).
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT balance - floor INTO available FROM ledger_ledgeraccount
    WHERE id = p_credit_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger account % does not exist', p_credit_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- The account's hold lock and its holds' total (decision 0033), made on first use.
    SELECT amount INTO total FROM rating_callholdtotal
    WHERE account_id = p_account_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO rating_callholdtotal (account_id, amount) VALUES (p_account_id, 0)
        ON CONFLICT DO NOTHING;
        SELECT amount INTO total FROM rating_callholdtotal
        WHERE account_id = p_account_id FOR UPDATE;
    END IF;
    was := total;
    IF p_call_id <> '' THEN
        -- `<> ''`: the unique index's condition, so that the generic plan uses it (not
        -- every hold of the account).
        DELETE FROM rating_callhold
        WHERE account_id = p_account_id AND call_id = p_call_id AND call_id <> ''
        RETURNING amount, phone_user_id, included_seconds
        INTO gone_amount, gone_user, gone_seconds;
        IF FOUND THEN
            total := GREATEST(total - gone_amount, 0);
            IF gone_user IS NOT NULL AND gone_seconds > 0 THEN
                UPDATE rating_callholdseconds
                SET included_seconds = GREATEST(included_seconds - gone_seconds, 0)
                WHERE phone_user_id = gone_user;
            END IF;
        END IF;
    END IF;
    -- The open holds: the total less those expired and not purged yet (few: the purge runs
    -- every 10 minutes), read by the (account, expires_at) index.
    SELECT COALESCE(SUM(amount), 0),
           COALESCE(SUM(CASE WHEN phone_user_id = p_caller_id THEN included_seconds ELSE 0 END), 0)
    INTO expired, expired_seconds
    FROM rating_callhold WHERE account_id = p_account_id AND expires_at <= p_created_at;
    available := available - (total - expired);
    included_left := 0;
    IF p_caller_id IS NOT NULL THEN
        SELECT COALESCE(SUM(included_seconds), 0) INTO used FROM rating_cdr
        WHERE phone_user_id = p_caller_id AND period_start = p_period AND included_seconds > 0;
        SELECT included_seconds INTO caller_held FROM rating_callholdseconds
        WHERE phone_user_id = p_caller_id;
        included_left := GREATEST(p_included_total - used, 0)
            - (COALESCE(caller_held, 0) - expired_seconds);
    END IF;
    IF p_seconds > 0 AND p_amount <= available AND p_included_seconds <= included_left THEN
        INSERT INTO rating_callhold (account_id, phone_user_id, destination, call_id, amount,
            currency, seconds, included_seconds, created_at, expires_at)
        VALUES (p_account_id, p_phone_user_id, p_destination, p_call_id, p_amount,
            p_currency, p_seconds, p_included_seconds, p_created_at, p_expires_at)
        RETURNING id INTO hold_id;
        total := total + p_amount;
        IF p_phone_user_id IS NOT NULL AND p_included_seconds > 0 THEN
            INSERT INTO rating_callholdseconds (phone_user_id, included_seconds)
            VALUES (p_phone_user_id, p_included_seconds)
            ON CONFLICT (phone_user_id) DO UPDATE
            SET included_seconds = rating_callholdseconds.included_seconds
                + EXCLUDED.included_seconds;
        END IF;
    END IF;
    IF total <> was THEN
        UPDATE rating_callholdtotal SET amount = total WHERE account_id = p_account_id;
    END IF;
END
$$;
"""

def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("LOCK TABLE rating_callhold IN SHARE ROW EXCLUSIVE MODE")
    for statement in FILL:
        schema_editor.execute(statement)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    # Undone first, the tables still there: migration 0007's rating_hold_take() back.
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("billtone.rating.migrations.0007_hold_take_async_commit")
        schema_editor.execute(previous.FORWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('rating', '0007_hold_take_async_commit'),
        ('telephony', '0003_plan_change'),
    ]

    operations = [
        migrations.CreateModel(
            name='CallHoldSeconds',
            fields=[
                ('phone_user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='call_hold_seconds', serialize=False, to='telephony.phoneuser')),
                ('included_seconds', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('included_seconds__gte', 0)), name='rating_hold_seconds_positive')],
            },
        ),
        migrations.CreateModel(
            name='CallHoldTotal',
            fields=[
                ('account', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='call_hold_total', serialize=False, to='accounts.account')),
                ('amount', models.DecimalField(decimal_places=4, default=0, max_digits=20)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='rating_hold_total_amount_positive')],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
