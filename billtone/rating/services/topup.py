"""Auto top-up of call credit (issue 19 item 4, decision 0026).

`auto_top_up_check` runs after every committed debit of call credit (`calls_debited`,
the CDR ingestion's hook). Under the account's AutoTopUp row lock (the one lock of this
module, always taken first) it reads the credit again, and when it is below the threshold
makes ONE top-up of the fewest whole steps of the chosen value that bring it back above:

- business funds cover the gross: in that same transaction funds → call credit (net) + tax
  payable, the invoice issued, the top-up succeeded;
- otherwise the default card, off session: the TopUp committed pending (one pending per
  account is a unique index), the card charged with no lock held (payments' durable
  three-step charge, keyed on the top-up), then `top_up_settle` posts and invoices as above
  (the card's money lands on business funds first, as checkout's does: decision 0019).

A failure is recorded and emailed; after the operator's number of failures in a row auto
top-up turns itself off and says so (panel and email). The operator's caps per day and per
month refuse further top-ups, say so on the page and by email once per period.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from billtone.accounts.models import Account
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import credit_quick_add, operator_profile_get, tax_rates
from billtone.catalog.tax import TaxTreatment, tax_treatment
from billtone.core import clock
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor, audit_record
from billtone.invoicing.services import invoice_issue
from billtone.invoicing.totals import LineIn, Totals, invoice_totals
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    operator_ledger_accounts,
    transaction_post,
)
from billtone.payments import selectors as payment_selectors
from billtone.payments.models import Payment, PaymentPurpose, PaymentStatus
from billtone.payments.services import automatic_payment_charge, payment_recover
from billtone.rating import topup_emails as emails
from billtone.rating.models import AutoTopUp, TopUp, TopUpPaidBy, TopUpStatus
from billtone.rating.topup_plan import period_starts, retry_due, top_up_steps

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("auto top-up")
RETRY_AFTER = timedelta(hours=1)  # after a failed top-up, the next try waits this long
SETTLE_AFTER = timedelta(minutes=5)  # a pending card top-up older than this is settled
THRESHOLD_MAX = Decimal(10_000)  # in the currency's major unit
DESCRIPTION = "Call credit (auto top-up)"
CHECK_TASK = "billtone.rating.topup_tasks.auto_top_up_check_task"


@dataclass(frozen=True)
class AutoTopUpInput:
    enabled: bool
    value: Money | None
    threshold: Money | None
    low_credit_level: Money | None = None


# Settings ------------------------------------------------------------------------------------


def auto_top_up_settings_clean(*, data: AutoTopUpInput, currency: str) -> None:
    """Every field's problem at once (ValidationFailed), before anything is written."""
    errors: dict[str, list[str]] = {}
    offered = credit_quick_add(currency=currency)
    if not isinstance(data.enabled, bool):
        errors["enabled"] = ["true or false."]
    if data.value is None:
        if data.enabled:
            errors["value"] = ["Choose the credit value to add."]
    elif data.value.currency != currency or data.value not in offered:
        choices = ", ".join(value.plain() for value in offered) or "none yet"
        errors["value"] = [f"Choose one of the values offered in {currency}: {choices}."]
    if data.threshold is None:
        if data.enabled:
            errors["threshold"] = ["Enter the credit level that starts a top-up."]
    elif data.threshold.currency != currency or data.threshold != data.threshold.rounded():
        errors["threshold"] = [f"An amount in {currency}, in whole minor units."]
    elif not 0 < data.threshold.amount <= THRESHOLD_MAX:
        errors["threshold"] = [f"More than zero and at most {Money(THRESHOLD_MAX, currency)}."]
    level = data.low_credit_level
    if level is not None and (
        level.currency != currency or level != level.rounded() or level.amount < 0
    ):
        errors["low_credit_level"] = [f"Zero or more {currency}, in whole minor units."]
    elif level is not None and level.amount > THRESHOLD_MAX:
        errors["low_credit_level"] = [f"At most {Money(THRESHOLD_MAX, currency)}."]
    if errors:
        raise ValidationFailed(errors, detail="The auto top-up settings were not saved.")


def auto_top_up_get_or_create(*, account: Account) -> AutoTopUp:
    currency = account.billing_profile.currency
    found = AutoTopUp.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return AutoTopUp.objects.create(
                account=account, currency=currency, updated_at=clock.now()
            )
    except IntegrityError:
        return AutoTopUp.objects.get(account=account)


def auto_top_up_settings_save(*, account: Account, data: AutoTopUpInput, actor: Actor) -> AutoTopUp:
    """Save the customer's settings, all checked first (nothing changes on an error).
    Turning auto top-up on clears a "turned off after failures" notice and checks the
    credit at once, after commit."""
    currency = account.billing_profile.currency
    auto_top_up_settings_clean(data=data, currency=currency)
    auto_top_up_get_or_create(account=account)
    with transaction.atomic():
        setting = AutoTopUp.objects.select_for_update().get(account=account)
        before = _settings_snapshot(setting)
        if setting.currency != currency:  # the account's currency changed: start over
            setting.currency, setting.value, setting.threshold = currency, 0, 0
        if data.value is not None:
            setting.value = data.value.amount
        if data.threshold is not None:
            setting.threshold = data.threshold.amount
        level = data.low_credit_level.amount if data.low_credit_level is not None else None
        if level != setting.low_credit_level:
            setting.low_credit_level, setting.low_credit_notified = level, False
        if data.enabled and not setting.enabled:
            setting.consecutive_failures = 0
            setting.turned_off_reason, setting.turned_off_at = "", None
            setting.paused_reason = ""
        setting.enabled = data.enabled
        after = _settings_snapshot(setting)
        if after != before:
            setting.updated_at = clock.now()
            setting.save()
            audit_record(
                actor=actor,
                action="rating.auto_top_up_save",
                obj=setting,
                account_id=account.pk,
                changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
            )
        if setting.enabled:
            transaction.on_commit(lambda: _check_schedule(account.pk))
    return setting


def _settings_snapshot(setting: AutoTopUp) -> dict[str, str]:
    names = ["enabled", "currency", "value", "threshold", "low_credit_level"]
    return {name: str(getattr(setting, name)) for name in names}


# The hook ------------------------------------------------------------------------------------


def call_credit_debited(*, account_id: int) -> None:
    """`calls_debited` for one account."""
    calls_debited(account_ids=[account_id])


def calls_debited(*, account_ids: Sequence[int]) -> None:
    """THE hook of the CDR ingestion: call it after a debit of these accounts' call credit
    committed (inside a transaction it waits for that commit). Sends the low-credit email
    once when the credit crosses the customer's level, and schedules auto_top_up_check: a
    Celery task when a broker is set, in this process otherwise. The settings of all the
    accounts are read in one query: most have none (nothing to do). Never raises."""
    ids = list(account_ids)
    for n in range(0, len(ids), 2000):
        wanted = AutoTopUp.objects.filter(account_id__in=ids[n : n + 2000]).filter(
            Q(enabled=True) | Q(low_credit_level__isnull=False)
        )
        for setting in wanted.order_by("account_id"):
            try:
                _low_credit_note(setting)
            except Exception:  # the ingestion's debit stands whatever an email does
                logger.exception("Account %s: the low-credit check failed", setting.account_id)
            if setting.enabled:
                account_id = setting.account_id
                transaction.on_commit(lambda a=account_id: _check_schedule(a), robust=True)


def _broker_configured() -> bool:
    return settings.CELERY_BROKER_URL != "filesystem://"


def _check_schedule(account_id: int) -> None:
    if _broker_configured():
        try:  # by name: topup_tasks imports this module (RatingConfig.ready loads it)
            current_app.send_task(CHECK_TASK, args=[account_id])
            return
        except Exception:  # broker down: check here rather than not at all
            logger.warning("Could not schedule the auto top-up check of account %s", account_id)
    try:
        auto_top_up_check(account_id=account_id)
    except Exception:
        logger.exception("Account %s: the auto top-up check failed", account_id)


def _credit(setting: AutoTopUp) -> Decimal | None:
    """Call credit above its floor, in the settings' currency; None before first use."""
    row = (
        LedgerAccount.objects.filter(
            account_id=setting.account_id, kind=LedgerKind.CALL_CREDIT, currency=setting.currency
        )
        .values_list("balance", "floor")
        .first()
    )
    return None if row is None else row[0] - (row[1] or 0)


def _low_credit_note(setting: AutoTopUp) -> None:
    if setting.low_credit_level is None:
        return
    credit = _credit(setting)
    if credit is None:
        return
    below = credit < setting.low_credit_level
    if below == setting.low_credit_notified:
        return
    # A conditional UPDATE: of two debits at once, one sends the email.
    with transaction.atomic():
        changed = AutoTopUp.objects.filter(pk=setting.pk, low_credit_notified=not below).update(
            low_credit_notified=below
        )
        if changed and below:
            emails.low_credit_queue(setting=setting, credit=Money(credit, setting.currency))


# The check -----------------------------------------------------------------------------------


def _tax(account: Account, operator: OperatorProfile) -> TaxTreatment:
    profile = account.billing_profile
    return tax_treatment(
        operator_country=operator.country,
        customer_country=profile.country,
        customer_vat_id=profile.tax_id,
        rates=tax_rates(),
    )


def _totals(*, unit: Money, quantity: int, tax: TaxTreatment) -> Totals:
    line = LineIn(
        description=DESCRIPTION,
        kind="credit_pack",
        product_id=None,
        quantity=quantity,
        unit_price=unit,
        period_start=None,
        period_end=None,
        billing="one_off",
    )
    return invoice_totals(lines=[line], tax=tax, currency=unit.currency)


def _cap_reached(*, setting: AutoTopUp, operator: OperatorProfile, timezone: str) -> str:
    """Why the operator's caps refuse another top-up now, or ""."""
    day, month = period_starts(at=clock.now(), timezone=timezone)
    taken = TopUp.objects.filter(
        account_id=setting.account_id,
        status__in=[TopUpStatus.PENDING, TopUpStatus.SUCCEEDED],
        created_at__gte=month,
    ).values_list("created_at", flat=True)
    times = list(taken)
    if sum(1 for at in times if at >= day) >= operator.auto_top_ups_per_day:
        return f"the limit of {operator.auto_top_ups_per_day} auto top-ups a day was reached"
    if len(times) >= operator.auto_top_ups_per_month:
        return f"the limit of {operator.auto_top_ups_per_month} auto top-ups a month was reached"
    return ""


def auto_top_up_check(*, account_id: int, actor: Actor = SYSTEM) -> TopUp | None:
    """Make the one top-up the account needs now, if any; returns it (succeeded, failed, or
    pending while the card's outcome is unknown) or None. Safe to run at once from many
    processes: the settings row's lock and the one-pending index let one through."""
    top_up = _decide(account_id=account_id, actor=actor)
    if top_up is None or top_up.status != TopUpStatus.PENDING:
        return top_up
    try:
        automatic_payment_charge(
            account=top_up.account,
            amount=Money(top_up.gross, top_up.currency),
            purpose=PaymentPurpose.BUSINESS_FUNDS,
            idempotency_key=top_up.idempotency_key,
            actor=actor,
            description=DESCRIPTION,
            decline_email=False,  # the top-up's failure email tells of it
        )
    except ApplicationError as error:  # card gone or automatic payments off since
        return top_up_settle(top_up_id=top_up.pk, refusal=error.detail, actor=actor)
    return top_up_settle(top_up_id=top_up.pk, actor=actor)


# over 80 lines: the whole decision under one lock reads best in one place
def _decide(*, account_id: int, actor: Actor) -> TopUp | None:
    with transaction.atomic():
        setting = AutoTopUp.objects.select_for_update().filter(account_id=account_id).first()
        if setting is None or not setting.enabled:
            return None
        if TopUp.objects.filter(account_id=account_id, status=TopUpStatus.PENDING).exists():
            return None  # a card top-up is on its way
        account = Account.objects.select_related("billing_profile").get(pk=account_id)
        ledger = customer_ledger_accounts(account=account)  # read now, under the lock
        currency = ledger.call_credit.currency
        credit = ledger.call_credit.balance - ledger.call_credit.floor
        if currency != setting.currency or credit >= setting.threshold:
            _paused(setting, "")
            return None
        last = TopUp.objects.filter(account_id=account_id).values_list("status", "created_at")
        last = last.first()
        if (
            last
            and last[0] == TopUpStatus.FAILED
            and not retry_due(last_failed_at=last[1], at=clock.now(), wait=RETRY_AFTER)
        ):
            return None
        operator = operator_profile_get()
        cap = _cap_reached(
            setting=setting, operator=operator, timezone=account.billing_profile.timezone
        )
        if cap:
            if _paused(setting, f"Auto top-up is paused: {cap}."):
                emails.capped_queue(setting=setting, reason=cap)
            return None
        _paused(setting, "")
        unit = Money(setting.value, currency)
        quantity = top_up_steps(credit=credit, threshold=setting.threshold, value=setting.value)
        top_up = TopUp(
            account=account,
            currency=currency,
            unit_value=unit.amount,
            quantity=quantity,
            amount=(unit * quantity).amount,
            gross=(unit * quantity).amount,
            credit_before=credit,
            status=TopUpStatus.PENDING,
            paid_by=TopUpPaidBy.NONE,
            idempotency_key=f"auto-top-up:{account_id}:{uuid.uuid4().hex}",
            created_at=clock.now(),
        )
        try:
            totals = _totals(unit=unit, quantity=quantity, tax=_tax(account, operator))
        except ApplicationError as error:  # no VAT rate set for the customer's country
            return _failed(setting=setting, top_up=top_up, message=error.detail, create=True)
        top_up.gross = totals.gross.amount
        funds = ledger.business_funds.balance - ledger.business_funds.floor
        if funds >= totals.gross.amount:
            top_up.paid_by = TopUpPaidBy.FUNDS
            top_up.save()
            try:
                with transaction.atomic():
                    return _complete(setting=setting, top_up=top_up, totals=totals, actor=actor)
            except InsufficientFunds:  # spent a moment ago by another payer: try the card
                pass
        if not _card_usable(account):
            message = (
                f"Business funds ({Money(funds, currency).rounded()}) do not cover "
                f"{totals.gross}, and no card may be charged: add a default card and allow "
                "automatic payments, or add funds."
            )
            top_up.paid_by = TopUpPaidBy.NONE
            adding = top_up._state.adding
            return _failed(setting=setting, top_up=top_up, message=message, create=adding)
        top_up.paid_by = TopUpPaidBy.CARD
        top_up.save()
    return top_up


def _paused(setting: AutoTopUp, reason: str) -> bool:
    """Note why top-ups are held back ("" once they are not); True if that changed."""
    if setting.paused_reason == reason:
        return False
    AutoTopUp.objects.filter(pk=setting.pk).update(paused_reason=reason)
    setting.paused_reason = reason
    return True


def _card_usable(account: Account) -> bool:
    card = payment_selectors.card_default_get(account=account)
    return (
        card is not None
        and payment_selectors.auto_payments_enabled(account=account)
        and not payment_selectors.card_expiry(card=card).expired
    )


def _complete(*, setting: AutoTopUp, top_up: TopUp, totals: Totals, actor: Actor) -> TopUp:
    """Business funds pay the gross: call credit gets the net, tax payable the tax; the
    invoice; the top-up succeeded. Inside the caller's transaction; raises InsufficientFunds."""
    account = top_up.account
    ledger = customer_ledger_accounts(account=account)
    tax_kinds = [LedgerKind.TAX_PAYABLE] if not totals.tax.is_zero() else []
    operator = operator_ledger_accounts(kinds=tax_kinds, currency=top_up.currency)
    legs = [Leg(ledger.business_funds, -totals.gross), Leg(ledger.call_credit, totals.net)]
    legs += [
        Leg(operator[LedgerKind.TAX_PAYABLE], tax)
        for _, (_, tax) in totals.rates
        if not tax.is_zero()
    ]
    posted = transaction_post(
        kind="auto_top_up",
        memo=f"Auto top-up of call credit: {totals.net}",
        postings=legs,
        idempotency_key=top_up.idempotency_key,
        actor=actor,
    )
    top_up.invoice = invoice_issue(
        account=account,
        totals=totals,
        tax=_tax(account, operator_profile_get()),
        ledger_transaction=posted,
        source_key=top_up.idempotency_key,
        actor=actor,
    )
    top_up.status = TopUpStatus.SUCCEEDED
    top_up.settled_at = clock.now()
    top_up.save()
    credit = _credit(setting)
    rearm = setting.low_credit_level is not None and credit >= setting.low_credit_level
    AutoTopUp.objects.filter(pk=setting.pk).update(
        consecutive_failures=0,
        **({"low_credit_notified": False} if rearm else {}),
    )
    emails.top_up_queue(top_up=top_up, event="succeeded")
    return top_up


def _failed(*, setting: AutoTopUp, top_up: TopUp, message: str, create: bool = False) -> TopUp:
    """The top-up failed: recorded, emailed, counted; the operator's number of failures in a
    row turns auto top-up off (said on the page and by email). The settings row is locked."""
    top_up.status = TopUpStatus.FAILED
    top_up.failure_message = message[:500]
    top_up.settled_at = clock.now()
    top_up.save(force_insert=create)
    limit = operator_profile_get().auto_top_up_failures
    setting.consecutive_failures += 1
    fields = ["consecutive_failures"]
    turned_off = setting.consecutive_failures >= limit and setting.enabled
    if turned_off:
        setting.enabled = False
        setting.turned_off_reason = (
            f"Auto top-up was turned off after {setting.consecutive_failures} failed top-ups "
            f"in a row. The last one: {message}"
        )[:300]
        setting.turned_off_at = clock.now()
        fields += ["enabled", "turned_off_reason", "turned_off_at"]
    setting.save(update_fields=fields)
    emails.top_up_queue(top_up=top_up, event="failed")
    if turned_off:
        emails.turned_off_queue(setting=setting)
    return top_up


# Settling card top-ups -----------------------------------------------------------------------


def top_up_settle(*, top_up_id: int, refusal: str = "", actor: Actor = SYSTEM) -> TopUp:
    """Finish a pending card top-up from its payment's outcome: succeeded → posted and
    invoiced; declined (or `refusal`: the charge was refused before it was sent) → failed;
    unknown → left pending for `top_ups_settle_due`. Safe to run twice."""
    with transaction.atomic():
        account_id = TopUp.objects.values_list("account_id", flat=True).get(pk=top_up_id)
        setting = AutoTopUp.objects.select_for_update().get(account_id=account_id)
        top_up = TopUp.objects.select_for_update().select_related("account").get(pk=top_up_id)
        if top_up.status != TopUpStatus.PENDING:
            return top_up
        payment = Payment.objects.filter(idempotency_key=top_up.idempotency_key).first()
        if payment is not None and top_up.payment_id is None:
            top_up.payment = payment
            top_up.save(update_fields=["payment"])
        if payment is None and refusal:
            return _failed(setting=setting, top_up=top_up, message=refusal)
        if payment is None:
            if clock.now() - top_up.created_at < SETTLE_AFTER:
                return top_up
            return _failed(setting=setting, top_up=top_up, message=emails.NOT_SENT)
        if payment.status == PaymentStatus.SUCCEEDED:
            return _card_paid(setting=setting, top_up=top_up, actor=actor)
        if payment.status in (PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION):
            reason = payment.failure_message or "The card payment was declined."
            return _failed(setting=setting, top_up=top_up, message=reason)
        return top_up


def _card_paid(*, setting: AutoTopUp, top_up: TopUp, actor: Actor) -> TopUp:
    unit = Money(top_up.unit_value, top_up.currency)
    account = top_up.account
    totals = _totals(unit=unit, quantity=top_up.quantity, tax=_tax(account, operator_profile_get()))
    try:
        with transaction.atomic():
            return _complete(setting=setting, top_up=top_up, totals=totals, actor=actor)
    except InsufficientFunds:
        message = (
            f"The card paid {Money(top_up.gross, top_up.currency)} into business funds, which "
            "paid open invoices before it reached call credit."
        )
        return _failed(setting=setting, top_up=top_up, message=message)


def top_ups_settle_due(*, limit: int = 200) -> int:
    """Periodic: card top-ups pending for longer than SETTLE_AFTER; their payments are asked
    again (payments' recovery) and the top-ups settled. Returns how many were settled."""
    stale = TopUp.objects.filter(
        status=TopUpStatus.PENDING, created_at__lt=clock.now() - SETTLE_AFTER
    ).values_list("pk", "idempotency_key")[:limit]
    settled = 0
    for top_up_id, key in stale:
        payment = Payment.objects.filter(idempotency_key=key).first()
        if payment is not None and payment.status in (PaymentStatus.PENDING, PaymentStatus.ERRORED):
            payment_recover(payment=payment)
        if top_up_settle(top_up_id=top_up_id).status != TopUpStatus.PENDING:
            settled += 1
    return settled
