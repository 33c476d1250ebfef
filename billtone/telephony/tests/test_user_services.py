import pytest

from billtone.core.errors import NotFound, ValidationFailed
from billtone.telephony.models import PhoneUser
from billtone.telephony.services import phone_user_cancel, phone_user_create, phone_user_discard

from .conftest import ACTOR, product_with_prices


def create(account, plan, extension="201", name="Ada Lovelace", email="ada@acme.example"):
    return phone_user_create(
        account=account, name=name, email=email, extension=extension, plan=plan, actor=ACTOR
    )


def test_a_pay_as_you_go_user_is_active_at_once(account, payg_plan):
    user = create(account, payg_plan)
    user.refresh_from_db()
    assert user.status == PhoneUser.Status.ACTIVE
    assert user.activated_at is not None


def test_a_user_on_a_paid_plan_waits_for_payment(account, national_plan):
    user = create(account, national_plan)
    assert user.status == PhoneUser.Status.PENDING_PAYMENT
    assert user.activated_at is None


def test_an_extension_in_use_is_refused_naming_its_user(account, payg_plan, national_plan):
    create(account, payg_plan, extension="201", name="Ada Lovelace")
    with pytest.raises(ValidationFailed) as refused:
        create(account, national_plan, extension="201", name="Grace Hopper")
    assert refused.value.errors == {
        "extension": ["Extension 201 is already Ada Lovelace's: choose another."]
    }
    assert PhoneUser.objects.filter(account=account).count() == 1


def test_the_same_extension_in_another_account_or_after_cancelling_is_fine(
    account, other_account, payg_plan
):
    first = create(account, payg_plan)
    create(other_account, payg_plan)
    phone_user_cancel(account=account, user_id=first.pk, actor=ACTOR)
    again = create(account, payg_plan)
    assert again.status == PhoneUser.Status.ACTIVE


def test_bad_fields_are_each_named(account, payg_plan):
    with pytest.raises(ValidationFailed) as refused:
        create(account, payg_plan, extension="2a", name=" ", email="nope")
    assert set(refused.value.errors) == {"name", "email", "extension"}
    assert refused.value.errors["extension"] == ["An extension is 2 to 6 digits."]


def test_a_plan_not_sold_in_the_accounts_currency_is_refused(account):
    usd_only = product_with_prices(code="usd-only", kind="plan", prices={"USD": "5"})
    with pytest.raises(ValidationFailed) as refused:
        create(account, usd_only)
    assert refused.value.errors == {"plan": ["Usd Only is not sold in EUR."]}


def test_a_number_product_is_not_a_plan_and_every_bad_field_is_named(account, nl_geographic):
    with pytest.raises(ValidationFailed) as refused:
        create(account, nl_geographic, extension="1")
    assert refused.value.errors == {
        "extension": ["An extension is 2 to 6 digits."],
        "plan": ["Nl Geographic is not a user plan."],
    }


def test_discard_cancels_a_pending_user_and_frees_its_extension(account, national_plan):
    user = create(account, national_plan)
    discarded = phone_user_discard(account=account, user_id=user.pk)
    assert discarded.status == PhoneUser.Status.CANCELLED
    assert discarded.cancelled_at is not None
    assert phone_user_discard(account=account, user_id=user.pk).status == "cancelled"
    assert create(account, national_plan).status == PhoneUser.Status.PENDING_PAYMENT


def test_discard_refuses_an_active_user(account, payg_plan):
    user = create(account, payg_plan)
    with pytest.raises(ValidationFailed, match="active already"):
        phone_user_discard(account=account, user_id=user.pk)
    user.refresh_from_db()
    assert user.status == PhoneUser.Status.ACTIVE


def test_another_accounts_user_is_not_found(account, other_account, payg_plan):
    user = create(other_account, payg_plan)
    with pytest.raises(NotFound):
        phone_user_cancel(account=account, user_id=user.pk, actor=ACTOR)
    with pytest.raises(NotFound):
        phone_user_discard(account=account, user_id=user.pk)
