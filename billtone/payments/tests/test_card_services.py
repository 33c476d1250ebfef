"""Saved cards through the services: add, default, remove, automatic payments, expiry."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import IntegrityError, transaction

from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.models import AuditEntry
from billtone.payments import selectors, services
from billtone.payments.errors import CardAlreadySaved, CardDeclined, CardInUse
from billtone.payments.models import AutoPaymentSetting, SavedCard

from .conftest import ACTOR, CARD_OUTCOMES, add_card


@pytest.mark.parametrize("number", [number for number, *_ in CARD_OUTCOMES])
def test_each_test_card_is_tokenized_and_only_what_may_be_kept_is_stored(account, number):
    card = add_card(account, number)

    card.refresh_from_db()
    assert card.gateway == "sandbox"
    assert card.gateway_token.startswith("sandbox_card_")
    assert card.gateway_customer.startswith("sandbox_cus_")
    assert card.last4 == number[-4:]
    assert (card.exp_month, card.exp_year) == (11, clock.now().year + 3)
    assert card.holder_name == "Ada Lovelace"
    stored = " ".join(str(getattr(card, f.attname)) for f in SavedCard._meta.concrete_fields)
    assert number not in stored


def test_first_card_is_the_default_and_a_later_one_can_take_over(account):
    first = add_card(account)
    second = add_card(account, "5555555555554444")
    assert [first.is_default, second.is_default] == [True, False]
    assert second.brand == "mastercard" and second.gateway_customer == first.gateway_customer

    third = add_card(account, "378282246310005", make_default=True)

    defaults = SavedCard.objects.filter(account=account, is_default=True)
    assert list(defaults) == [third]
    assert (
        AuditEntry.objects.filter(action="payment_method.add", account_id=account.pk).count() == 3
    )


def test_an_invalid_card_is_refused_field_by_field_and_nothing_is_stored(account):
    with pytest.raises(ValidationFailed) as caught:
        add_card(account, "4242424242424241", exp_month=1, exp_year=2001, cvc="1", holder_name="")

    assert set(caught.value.errors) == {"number", "exp", "cvc", "holder_name"}
    assert caught.value.errors["exp"] == ["This card has expired."]
    assert not SavedCard.objects.exists()
    assert not AuditEntry.objects.filter(action="payment_method.add").exists()


def test_a_card_the_gateway_refuses_is_a_decline_with_its_code(account):
    with pytest.raises(CardDeclined) as caught:
        add_card(account, "4111111111111111")

    assert caught.value.failure_code == "test_mode_live_card"
    assert caught.value.slug == "card-declined" and caught.value.status == 402
    assert list(caught.value.errors) == ["number"]
    assert "4111111111111111" not in str(caught.value.errors) + caught.value.detail
    assert not SavedCard.objects.exists()


def test_set_default_moves_the_marker(account):
    first = add_card(account)
    second = add_card(account, "5555555555554444")

    services.card_set_default(account=account, card_id=second.pk, actor=ACTOR)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    entry = AuditEntry.objects.get(action="payment_method.set_default")
    assert entry.changes["default"] == [str(first), str(second)]


def test_another_accounts_card_is_not_found(account, other_account):
    theirs = add_card(other_account)

    for call in (services.card_set_default, services.card_remove):
        with pytest.raises(NotFound):
            call(account=account, card_id=theirs.pk, actor=ACTOR)
    theirs.refresh_from_db()
    assert theirs.is_default and theirs.removed_at is None


def test_the_database_holds_one_default_active_card_per_account(account, card):
    clone = {
        f.attname: getattr(card, f.attname)
        for f in SavedCard._meta.concrete_fields
        if not f.primary_key
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedCard.objects.create(**{**clone, "gateway_token": "sandbox_card_succeeds_x"})
    # A removed card may have been the default once; it no longer counts.
    another_card = {**clone, "fingerprint": "sandbox_fp_another", "is_default": False}
    SavedCard.objects.create(**{**another_card, "gateway_token": "sandbox_card_succeeds_y"})
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedCard.objects.create(
            **{**clone, "gateway_token": "sandbox_card_succeeds_z", "removed_at": clock.now()}
        )


def test_a_card_saved_before_fingerprints_is_matched_by_brand_last_four_and_expiry(account):
    legacy = add_card(account)
    SavedCard.objects.filter(pk=legacy.pk).update(fingerprint="")  # as saved before decision 0016

    with pytest.raises(CardAlreadySaved) as caught:
        add_card(account)
    assert caught.value.card_id == legacy.pk
    assert caught.value.detail == f"This card is already saved: {legacy}."
    # Another expiry is another card where there is no fingerprint to tell.
    assert add_card(account, exp_month=12).fingerprint == SavedCard.objects.last().fingerprint


def test_the_database_holds_a_card_once_per_account_while_it_is_active(account, card):
    clone = {
        f.attname: getattr(card, f.attname)
        for f in SavedCard._meta.concrete_fields
        if not f.primary_key and f.name != "is_default"
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedCard.objects.create(**{**clone, "gateway_token": "sandbox_card_succeeds_1"})
    without_fingerprint = {**clone, "fingerprint": "", "exp_month": 1}
    SavedCard.objects.create(**{**without_fingerprint, "gateway_token": "sandbox_card_succeeds_2"})
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedCard.objects.create(
            **{**without_fingerprint, "gateway_token": "sandbox_card_succeeds_3"}
        )
    # A removed card no longer counts: the same card may be saved again.
    services.card_remove(account=account, card_id=card.pk, actor=ACTOR)
    assert add_card(account).fingerprint == card.fingerprint


def test_remove_a_card(account):
    first = add_card(account)
    second = add_card(account, "5555555555554444")

    removed = services.card_remove(account=account, card_id=second.pk, actor=ACTOR)

    assert removed.removed_at is not None
    assert list(selectors.card_list(account=account)) == [first]
    with pytest.raises(NotFound):
        services.card_remove(account=account, card_id=second.pk, actor=ACTOR)


def test_the_default_card_cannot_go_while_automatic_payments_use_it(account):
    default = add_card(account)
    other = add_card(account, "5555555555554444")
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)

    with pytest.raises(CardInUse) as caught:
        services.card_remove(account=account, card_id=default.pk, actor=ACTOR)

    assert "Automatic payments use this card" in caught.value.detail
    assert caught.value.status == 409
    default.refresh_from_db()
    assert default.is_default and default.removed_at is None
    # Another card can go, and the default once another card took its place.
    services.card_remove(account=account, card_id=other.pk, actor=ACTOR)
    newer = add_card(account, "378282246310005", make_default=True)
    services.card_remove(account=account, card_id=default.pk, actor=ACTOR)
    assert list(selectors.card_list(account=account)) == [newer]


def test_removing_the_default_card_with_automatic_payments_off(account, card):
    services.card_remove(account=account, card_id=card.pk, actor=ACTOR)

    assert selectors.card_default_get(account=account) is None
    with pytest.raises(ValidationFailed) as caught:
        services.auto_payments_set(account=account, enabled=True, actor=ACTOR)
    assert caught.value.errors == {"enabled": ["Add a card and make it your default card first."]}


def test_automatic_payments_setting_is_audited_once_per_change(account, card):
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)
    assert selectors.auto_payments_enabled(account=account)
    services.auto_payments_set(account=account, enabled=False, actor=ACTOR)

    assert not AutoPaymentSetting.objects.get(account=account).uses_default_card
    changes = AuditEntry.objects.filter(action="payment_method.automatic_payments")
    assert sorted(e.changes["uses_default_card"][1] for e in changes) == [False, True]


def _at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def test_expires_soon_is_counted_in_the_accounts_time_zone(make_account):
    berlin = make_account("Berlin GmbH", timezone="Europe/Berlin")
    new_york = make_account("New York Inc", currency="USD", timezone="America/New_York")
    with _at(2026, 6, 1, 12):
        berlin_card = add_card(berlin, exp_month=12, exp_year=2026)
        new_york_card = add_card(new_york, exp_month=12, exp_year=2026)

    # 30 Nov 23:30 UTC: already 1 December in Berlin (30 days left), still 30 Nov in New York.
    with _at(2026, 11, 30, 23, 30):
        (berlin_row,) = selectors.card_rows(account=berlin)
        (new_york_row,) = selectors.card_rows(account=new_york)
    assert berlin_row.card == berlin_card and new_york_row.card == new_york_card
    assert berlin_row.expiry.days_left == 30 and berlin_row.expiry.expires_soon
    assert new_york_row.expiry.days_left == 31 and not new_york_row.expiry.expires_soon

    with _at(2027, 1, 1, 3):  # past midnight in Berlin, still 31 December in New York
        (berlin_row,) = selectors.card_rows(account=berlin)
        (new_york_row,) = selectors.card_rows(account=new_york)
    assert berlin_row.expiry.expired and not berlin_row.expiry.expires_soon
    assert not new_york_row.expiry.expired and new_york_row.expiry.days_left == 0


def test_an_expired_card_cannot_become_the_default(account):
    with _at(2026, 6, 1, 12):
        add_card(account)
        old = add_card(account, "5555555555554444", exp_month=7, exp_year=2026)
    with _at(2026, 8, 1, 12), pytest.raises(ValidationFailed):
        services.card_set_default(account=account, card_id=old.pk, actor=ACTOR)


def test_rows_list_the_default_card_first_and_mark_what_automatic_payments_use(account):
    card = add_card(account)
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)
    other = add_card(account, "5555555555554444")

    rows = selectors.card_rows(account=account)

    assert [(row.card, row.auto_payments) for row in rows] == [(card, True), (other, False)]
    assert str(card) == f"Visa •••• 4242 (11/{clock.now().year + 3})"
