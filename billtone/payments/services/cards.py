"""Saved cards: add (tokenized at once), set default, remove; the automatic-payments setting.

A card's number and CVC pass through card_add on their way to the gateway and go no further:
not into the database, a log, an exception or an audit entry.
"""

import logging

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor, audit_record
from billtone.payments import selectors
from billtone.payments.errors import CardAlreadySaved, CardDeclined, CardInUse
from billtone.payments.gateways import base as gateway_base
from billtone.payments.gateways import get_gateway
from billtone.payments.models import AutoPaymentSetting, SavedCard

logger = logging.getLogger(__name__)

MESSAGE_CARD_IN_USE = (
    "Automatic payments use this card, your default card. Make another card the default or "
    "turn automatic payments off, then remove it."
)


def payment_settings_lock(*, account: Account) -> AutoPaymentSetting:
    """Lock the account's payment settings row: every write to the account's cards holds it
    first, so card writes of one account run one at a time."""
    setting = AutoPaymentSetting.objects.select_for_update().filter(account=account).first()
    if setting is not None:
        return setting
    try:
        with transaction.atomic():
            AutoPaymentSetting.objects.create(account=account, updated_at=clock.now())
    except IntegrityError:
        pass  # created at the same moment by another request
    return AutoPaymentSetting.objects.select_for_update().get(account=account)


def card_add(
    *,
    account: Account,
    number: str,
    exp_month: int | str,
    exp_year: int | str,
    cvc: str,
    holder_name: str,
    actor: Actor,
    make_default: bool = False,
) -> SavedCard:
    """Check the card, hand it to the gateway at once and keep only its token and what the
    customer sees. The account's first card becomes its default card."""
    card = gateway_base.card_validate(
        number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, holder_name=holder_name
    )
    gateway = get_gateway()
    try:
        saved = gateway.card_save(
            number=card.number,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            cvc=card.cvc,
            holder_name=card.holder_name,
            customer_ref=f"account-{account.pk}",
            gateway_customer=selectors.gateway_customer_for(account=account, gateway=gateway.name),
        )
    except gateway_base.CardDeclined as error:
        field = next(iter(error.errors), "number")
        logger.info(
            "Account %s: the gateway refused a %s card (%s)",
            account.pk,
            card.brand,
            error.failure_code,
        )
        raise CardDeclined(
            failure_code=error.failure_code, message=error.detail, field=field
        ) from None

    try:
        stored = _card_store(
            account=account,
            gateway_name=gateway.name,
            saved=saved,
            actor=actor,
            make_default=make_default,
        )
    except CardAlreadySaved:
        _card_forget(gateway=gateway, saved=saved, account=account)
        raise
    logger.info("Account %s: card %s added (%s)", account.pk, stored.pk, stored)
    return stored


def _card_store(
    *,
    account: Account,
    gateway_name: str,
    saved: gateway_base.SavedCard,
    actor: Actor,
    make_default: bool,
) -> SavedCard:
    """Keep the gateway's card unless the account has it already: checked under the account's
    card lock, and held by the unique constraints beneath (decision 0016)."""
    with transaction.atomic():
        payment_settings_lock(account=account)
        existing = _saved_as(account=account, gateway_name=gateway_name, saved=saved)
        if existing is not None:
            raise _already_saved(existing, saved)
        current_default = selectors.card_default_get(account=account)
        is_default = current_default is None or make_default
        if is_default and current_default is not None:
            current_default.is_default = False
            current_default.save(update_fields=["is_default"])
        try:
            with transaction.atomic():
                stored = SavedCard.objects.create(
                    account=account,
                    gateway=gateway_name,
                    gateway_token=saved.token,
                    gateway_customer=saved.gateway_customer,
                    brand=saved.brand,
                    last4=saved.last4,
                    exp_month=saved.exp_month,
                    exp_year=saved.exp_year,
                    holder_name=saved.holder,
                    fingerprint=saved.fingerprint,
                    is_default=is_default,
                    created_at=clock.now(),
                )
        except IntegrityError:
            existing = _saved_as(account=account, gateway_name=gateway_name, saved=saved)
            if existing is None:
                raise
            raise _already_saved(existing, saved) from None
        audit_record(
            actor=actor,
            action="payment_method.add",
            obj=stored,
            account_id=account.pk,
            changes={"card": [None, str(stored)], "default": [None, is_default]},
        )
    return stored


def _saved_as(
    *, account: Account, gateway_name: str, saved: gateway_base.SavedCard
) -> SavedCard | None:
    return selectors.card_saved_as(
        account=account,
        gateway=gateway_name,
        fingerprint=saved.fingerprint,
        brand=saved.brand,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
    )


def _already_saved(existing: SavedCard, saved: gateway_base.SavedCard) -> CardAlreadySaved:
    message = f"This card is already saved: {existing}."
    if (existing.exp_month, existing.exp_year) != (saved.exp_month, saved.exp_year):
        message += " To give it its new expiry date, remove the saved card, then add it again."
    return CardAlreadySaved(detail=message, card_id=existing.pk)


def _card_forget(*, gateway, saved: gateway_base.SavedCard, account: Account) -> None:
    """The duplicate the gateway has just saved is detached there: it is never charged."""
    try:
        gateway.card_detach(token=saved.token)
    except gateway_base.GatewayUnavailable:
        logger.warning(
            "Account %s: a card saved twice could not be detached at the gateway (%s)",
            account.pk,
            saved.token,
        )
    else:
        logger.info("Account %s: a card saved twice was detached at the gateway", account.pk)


def card_set_default(*, account: Account, card_id: int, actor: Actor) -> SavedCard:
    with transaction.atomic():
        payment_settings_lock(account=account)
        card = selectors.card_get(account=account, card_id=card_id)
        if card.is_default:
            return card
        if selectors.card_expiry(card=card).expired:
            raise ValidationFailed(
                {"card_id": ["This card has expired: it cannot be the default card."]},
                detail="This card has expired: it cannot be the default card.",
            )
        previous = selectors.card_default_get(account=account)
        if previous is not None:
            previous.is_default = False
            previous.save(update_fields=["is_default"])
        card.is_default = True
        card.save(update_fields=["is_default"])
        audit_record(
            actor=actor,
            action="payment_method.set_default",
            obj=card,
            account_id=account.pk,
            changes={"default": [str(previous) if previous else None, str(card)]},
        )
    return card


def card_remove(*, account: Account, card_id: int, actor: Actor) -> SavedCard:
    """Remove a card from the account. Its payments keep pointing at it; it is no longer
    offered or charged. Refused while automatic payments depend on it."""
    with transaction.atomic():
        setting = payment_settings_lock(account=account)
        card = selectors.card_get(account=account, card_id=card_id)
        if card.is_default and setting.uses_default_card:
            raise CardInUse(MESSAGE_CARD_IN_USE)
        was_default = card.is_default
        card.is_default = False
        card.removed_at = clock.now()
        card.save(update_fields=["is_default", "removed_at"])
        audit_record(
            actor=actor,
            action="payment_method.remove",
            obj=card,
            account_id=account.pk,
            changes={"card": [str(card), None], "default": [was_default, False]},
        )
    logger.info("Account %s: card %s removed", account.pk, card.pk)
    return card


def auto_payments_set(*, account: Account, enabled: bool, actor: Actor) -> AutoPaymentSetting:
    """Let automatic payments (auto top-up, monthly bills) charge the default card, or not."""
    if not isinstance(enabled, bool):
        raise ValidationFailed({"enabled": ["true or false."]})
    with transaction.atomic():
        setting = payment_settings_lock(account=account)
        if enabled:
            default = selectors.card_default_get(account=account)
            message = ""
            if default is None:
                message = "Add a card and make it your default card first."
            elif selectors.card_expiry(card=default).expired:
                message = "Your default card has expired. Make another card the default first."
            if message:
                raise ValidationFailed({"enabled": [message]}, detail=message)
        if setting.uses_default_card == enabled:
            return setting
        setting.uses_default_card = enabled
        setting.updated_at = clock.now()
        setting.save(update_fields=["uses_default_card", "updated_at"])
        audit_record(
            actor=actor,
            action="payment_method.automatic_payments",
            obj=setting,
            account_id=account.pk,
            changes={"uses_default_card": [not enabled, enabled]},
        )
    return setting
