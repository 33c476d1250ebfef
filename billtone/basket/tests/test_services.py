"""The basket's lines and checkout: all or nothing, the invoice equal to the postings."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billtone.accounts.models import Account, BillingProfile
from billtone.basket import selectors, services
from billtone.basket.errors import BasketNotPayable, QuoteChanged, Shortfall
from billtone.basket.models import BasketLine, Checkout, Order
from billtone.catalog.models import Price, Product
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.money import Money
from billtone.invoicing.models import Invoice, InvoiceSequence, Subscription
from billtone.ledger import hooks
from billtone.ledger.models import LedgerAccount, Transaction
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments import services as payment_services
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.models import Payment, SavedCard
from billtone.payments.tests.conftest import SUCCEEDS, THREE_D_SECURE, add_card
from billtone.telephony.errors import NumberUnavailable
from billtone.telephony.models import PhoneNumber, PhoneUser

from .conftest import ACTOR, fill, fund

DECLINED = "4000000000000002"


def balances(account) -> tuple[Decimal, Decimal]:
    ledger = customer_ledger_accounts(account=account)
    return (
        LedgerAccount.objects.get(pk=ledger.business_funds.pk).balance,
        LedgerAccount.objects.get(pk=ledger.call_credit.pk).balance,
    )


def nothing_allocated(account, shop) -> None:
    assert set(PhoneUser.objects.filter(account=account).values_list("status", flat=True)) == {
        "pending_payment"
    }
    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "held"
    assert Invoice.objects.count() == 0
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()
    assert BasketLine.objects.filter(basket__account=account).count() == 4
    assert Product.objects.get(pk=shop.phone.pk).stock == 3


def test_lines_are_added_and_priced(customer, shop):
    fill(customer, shop, packs=1)
    services.basket_item_add(account=customer, product_id=shop.pack10.pk, actor=ACTOR)

    view = selectors.basket_quote_get(account=customer)

    assert [(v.line.kind, v.line.quantity) for v in view.lines] == [
        ("plan", 1),
        ("number", 1),
        ("credit_pack", 2),
        ("store_item", 1),
    ]
    assert view.problems == []
    assert view.gross == view.net + view.tax_total
    assert selectors.basket_badge(account=customer).gross == view.gross


def test_a_pay_as_you_go_user_is_active_at_once_and_not_in_the_basket(customer, shop):
    line = services.basket_user_add(
        account=customer,
        name="Bo",
        email="bo@acme.example",
        extension="202",
        plan_id=shop.payg.pk,
        actor=ACTOR,
    )

    assert line is None
    assert PhoneUser.objects.get(extension="202").status == "active"
    assert selectors.basket_quote_get(account=customer).is_empty


@pytest.mark.parametrize("quantity", [0, -1, "0", "two"])
def test_a_quantity_below_one_is_refused(customer, shop, quantity):
    with pytest.raises(ValidationFailed) as refused:
        services.basket_item_add(
            account=customer, product_id=shop.pack10.pk, quantity=quantity, actor=ACTOR
        )
    assert "at least 1" in refused.value.errors["quantity"][0]


def test_the_minus_of_a_single_item_is_refused_and_changes_nothing(customer, shop):
    line = services.basket_item_add(account=customer, product_id=shop.pack10.pk, actor=ACTOR)

    with pytest.raises(ValidationFailed):
        services.basket_line_quantity_step(account=customer, line_id=line.pk, step=-1, actor=ACTOR)
    services.basket_line_quantity_step(account=customer, line_id=line.pk, step=1, actor=ACTOR)

    assert BasketLine.objects.get(pk=line.pk).quantity == 2


def test_a_product_not_sold_in_the_account_currency_is_refused(customer, shop):
    with pytest.raises(ValidationFailed, match="not sold in EUR"):
        services.basket_item_add(account=customer, product_id=shop.gbp_only.pk, actor=ACTOR)


def test_more_than_in_stock_is_refused(customer, shop):
    with pytest.raises(ValidationFailed, match="Only 3"):
        services.basket_item_add(
            account=customer, product_id=shop.phone.pk, quantity=4, actor=ACTOR
        )


def test_a_number_someone_else_holds_is_refused(customer, other_account, shop):
    services.basket_number_add(account=customer, number_id=shop.numbers[0].pk, actor=ACTOR)

    with pytest.raises(NumberUnavailable):
        services.basket_number_add(account=other_account, number_id=shop.numbers[0].pk, actor=ACTOR)


def test_another_accounts_line_is_not_found(customer, other_account, shop):
    line = services.basket_item_add(account=customer, product_id=shop.pack10.pk, actor=ACTOR)

    with pytest.raises(NotFound):
        services.basket_line_quantity_set(
            account=other_account, line_id=line.pk, quantity=3, actor=ACTOR
        )
    with pytest.raises(NotFound):
        services.basket_line_remove(account=other_account, line_id=line.pk, actor=ACTOR)


def test_the_bin_releases_the_number_and_discards_the_user(customer, shop):
    fill(customer, shop)

    services.basket_product_remove(account=customer, product_id=shop.nl_number.pk, actor=ACTOR)
    services.basket_product_remove(account=customer, product_id=shop.national.pk, actor=ACTOR)

    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "available"
    assert PhoneUser.objects.get(extension="201").status == "cancelled"
    assert [v.line.kind for v in selectors.basket_quote_get(account=customer).lines] == [
        "credit_pack",
        "store_item",
    ]


def test_checkout_with_funds_allocates_and_invoices_the_postings(customer, shop):
    fill(customer, shop)
    fund(customer, "500.00")
    view = selectors.basket_quote_get(account=customer)

    checkout = services.checkout_with_funds(
        account=customer, idempotency_key="k1", actor=ACTOR, quote_token_shown=view.token
    )

    assert checkout.status == "completed"
    invoice = checkout.invoice
    postings = {
        (p.ledger_account.kind, p.amount)
        for p in invoice.ledger_transaction.postings.select_related("ledger_account")
    }
    assert ("business_funds", -invoice.gross) in postings
    credits = sum(amount for kind, amount in postings if amount > 0)
    assert credits == invoice.gross == view.gross.amount
    assert ("call_credit", Decimal("20.0000")) in postings
    assert ("tax_payable", invoice.tax) in postings
    assert PhoneUser.objects.get(extension="201").status == "active"
    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "assigned"
    assert balances(customer) == (Decimal("500") - invoice.gross, Decimal("20"))
    assert Product.objects.get(pk=shop.phone.pk).stock == 2
    assert Order.objects.get(checkout=checkout).lines.get().quantity == 1
    assert Subscription.objects.filter(account=customer).count() == 2
    assert selectors.basket_quote_get(account=customer).is_empty
    again = services.checkout_with_funds(account=customer, idempotency_key="k1", actor=ACTOR)
    assert again == checkout and Invoice.objects.count() == 1


def test_a_shortfall_says_by_how_much_and_changes_nothing(customer, shop):
    fill(customer, shop)
    fund(customer, "100.00")
    gross = selectors.basket_quote_get(account=customer).gross

    with pytest.raises(Shortfall) as refused:
        services.checkout_with_funds(account=customer, idempotency_key="k2", actor=ACTOR)

    assert refused.value.shortfall == gross - Money("100.00", "EUR")
    assert refused.value.shortfall.format("en_DE") in refused.value.detail
    nothing_allocated(customer, shop)
    assert balances(customer) == (Decimal("100"), Decimal("0"))
    assert not Checkout.objects.exists()
    assert Transaction.objects.filter(kind="checkout").count() == 0


def test_a_desk_phone_sold_out_after_the_invoice_number_was_taken_rolls_everything_back(
    customer, shop
):
    fill(customer, shop)
    services.basket_item_add(account=customer, product_id=shop.phone.pk, actor=ACTOR)  # two
    fund(customer, "1000.00")
    Product.objects.filter(pk=shop.phone.pk).update(stock=1)  # another customer bought two

    with pytest.raises(ValidationFailed, match="not enough left in stock"):
        services.checkout_with_funds(account=customer, idempotency_key="k-stock", actor=ACTOR)

    assert Product.objects.get(pk=shop.phone.pk).stock == 1
    assert PhoneUser.objects.get(extension="201").status == "pending_payment"
    assert PhoneNumber.objects.get(pk=shop.numbers[0].pk).status == "held"
    assert Invoice.objects.count() == 0
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()
    assert not Checkout.objects.exists() and not Order.objects.exists()
    assert balances(customer) == (Decimal("1000"), Decimal("0"))


def test_a_quote_changed_since_it_was_shown_is_refused_with_the_change(customer, shop):
    fill(customer, shop)
    fund(customer, "500.00")
    shown = selectors.basket_quote_get(account=customer).quote.as_json()
    Price.objects.filter(product=shop.phone).update(amount=Decimal("160.00"))

    with pytest.raises(QuoteChanged) as refused:
        services.checkout_with_funds(
            account=customer, idempotency_key="k3", actor=ACTOR, shown_quote=shown
        )

    assert any("Yealink T54W: was 150.00 EUR, now 160.00 EUR" in c for c in refused.value.changes)
    nothing_allocated(customer, shop)
    price_was = selectors.basket_quote_get(account=customer).lines[3].price_was
    assert price_was == Money("150.00", "EUR")


def test_a_lapsed_hold_is_a_clear_error(customer, shop):
    fill(customer, shop)
    fund(customer, "500.00")

    with time_machine.travel(clock.now() + timedelta(hours=2)):
        view = selectors.basket_quote_get(account=customer)
        with pytest.raises(BasketNotPayable, match=r"The hold on \+31201234567 lapsed"):
            services.checkout_with_funds(account=customer, idempotency_key="k4", actor=ACTOR)

    assert "lapsed" in view.lines[1].problem
    assert Invoice.objects.count() == 0


def test_a_declined_card_allocates_nothing_and_uses_no_invoice_number(customer, shop):
    fill(customer, shop)
    card = add_card(customer, DECLINED)

    checkout = services.checkout_with_card(
        account=customer, idempotency_key="k5", actor=ACTOR, card_id=card.pk
    )

    assert checkout.status == "failed" and checkout.payment.status == "failed"
    assert "declined" in checkout.failure_message.lower()
    nothing_allocated(customer, shop)
    assert balances(customer) == (Decimal("0"), Decimal("0"))


def test_a_saved_card_pays_through_business_funds(customer, shop):
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)

    checkout = services.checkout_with_card(
        account=customer, idempotency_key="k6", actor=ACTOR, card_id=card.pk
    )

    assert checkout.status == "completed"
    assert checkout.payment.money == Money(checkout.invoice.gross, "EUR")
    assert balances(customer) == (Decimal("0"), Decimal("20"))


def test_a_card_checkout_does_not_tell_the_funds_listeners(
    customer, shop, django_capture_on_commit_callbacks
):
    """The card's money lands on business funds and the checkout spends it next: billing's
    listener (paying open invoices) must not be told, or it could take the money first."""
    heard: list[frozenset[int]] = []
    hooks.funds_credited_register(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            fill(customer, shop)
            card = add_card(customer, SUCCEEDS)
            paid = services.checkout_with_card(
                account=customer, idempotency_key="k-told", actor=ACTOR, card_id=card.pk
            )
            services.basket_item_add(
                account=customer, product_id=shop.pack10.pk, quantity=1, actor=ACTOR
            )
            waiting = services.checkout_with_card(
                account=customer,
                idempotency_key="k-told-3ds",
                actor=ACTOR,
                card_id=add_card(customer, THREE_D_SECURE).pk,
            )
            done = services.checkout_complete(account=customer, checkout_id=waiting.pk, actor=ACTOR)
            assert (paid.status, done.status) == ("completed", "completed")
            payment_services.card_charge(  # a top-up is still told
                account=customer,
                card=card,
                amount=Money("5.00", "EUR"),
                purpose="business_funds",
                on_session=True,
                idempotency_key="k-top-up",
                actor=ACTOR,
            )
    finally:
        hooks.funds_credited_unregister(heard.append)
    assert heard == [frozenset({customer.pk})]


def test_three_d_secure_waits_then_completes(customer, shop):
    fill(customer, shop)

    checkout = services.checkout_with_card(
        account=customer,
        idempotency_key="k7",
        actor=ACTOR,
        new_card={
            "number": THREE_D_SECURE,
            "exp_month": 11,
            "exp_year": clock.now().year + 2,
            "cvc": "737",
            "holder_name": "Ada Lovelace",
        },
        save_card=False,
    )
    assert (checkout.status, checkout.payment.status) == ("awaiting_payment", "requires_action")
    assert PhoneUser.objects.get(extension="201").status == "pending_payment"

    done = services.checkout_complete(account=customer, checkout_id=checkout.pk, actor=ACTOR)

    assert done.status == "completed" and done.invoice is not None
    assert PhoneUser.objects.get(extension="201").status == "active"
    assert SavedCard.objects.get(pk=checkout.payment.card_id).removed_at is not None


def test_a_completion_refused_after_the_card_paid_leaves_the_money_in_business_funds(
    customer, shop
):
    fill(customer, shop)
    checkout = services.checkout_with_card(
        account=customer,
        idempotency_key="k8",
        actor=ACTOR,
        new_card={
            "number": THREE_D_SECURE,
            "exp_month": 11,
            "exp_year": clock.now().year + 2,
            "cvc": "737",
            "holder_name": "Ada Lovelace",
        },
    )
    Price.objects.filter(product=shop.phone).update(amount=Decimal("160.00"))

    done = services.checkout_complete(account=customer, checkout_id=checkout.pk, actor=ACTOR)

    assert done.status == "failed" and "stays in your business funds" in done.failure_message
    assert Payment.objects.get(pk=checkout.payment_id).status == "succeeded"
    assert balances(customer) == (checkout.gross, Decimal("0"))
    nothing_allocated(customer, shop)


def test_without_a_vat_rate_for_the_customer_country_nothing_can_be_paid(customer, shop):
    BillingProfile.objects.filter(account=customer).update(country="FR")
    customer = Account.objects.get(pk=customer.pk)
    services.basket_item_add(account=customer, product_id=shop.pack10.pk, actor=ACTOR)
    fund(customer, "50.00")

    view = selectors.basket_quote_get(account=customer)
    with pytest.raises(BasketNotPayable, match="France"):
        services.checkout_with_funds(account=customer, idempotency_key="k9", actor=ACTOR)

    assert "France" in view.tax_problem and view.problems == [view.tax_problem]
    assert not Checkout.objects.exists()


def charged_then(monkeypatch, meanwhile) -> None:
    """The card is charged, then `meanwhile` happens (another tab, the back office) before
    the checkout is settled."""
    real = payment_services.card_charge

    def charge(**kwargs):
        payment = real(**kwargs)
        meanwhile()
        return payment

    monkeypatch.setattr(payment_services, "card_charge", charge)


def test_a_line_added_while_the_card_was_charged_is_priced_again_and_refused(
    customer, shop, monkeypatch
):
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)
    charged_then(
        monkeypatch,
        lambda: services.basket_item_add(account=customer, product_id=shop.pack20.pk, actor=ACTOR),
    )

    checkout = services.checkout_with_card(
        account=customer, idempotency_key="k10", actor=ACTOR, card_id=card.pk
    )

    assert checkout.status == "failed"
    assert "stays in your business funds" in checkout.failure_message
    assert balances(customer) == (checkout.gross, Decimal("0"))
    assert Invoice.objects.count() == 0
    assert not InvoiceSequence.objects.filter(next_number__gt=1).exists()
    assert BasketLine.objects.filter(basket__account=customer).count() == 5


def test_a_price_changed_while_the_card_was_charged_is_paid_as_agreed(customer, shop, monkeypatch):
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)
    charged_then(
        monkeypatch,
        lambda: Price.objects.filter(product=shop.phone).update(amount=Decimal("160.00")),
    )

    checkout = services.checkout_with_card(
        account=customer, idempotency_key="k11", actor=ACTOR, card_id=card.pk
    )

    assert checkout.status == "completed"
    assert checkout.invoice.gross == checkout.gross == checkout.payment.money.amount
    assert balances(customer) == (Decimal("0"), Decimal("20"))
    assert not BasketLine.objects.filter(basket__account=customer).exists()


def test_a_card_checkout_inside_another_transaction_is_refused(customer, shop):
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.checkout_with_card(
            account=customer, idempotency_key="k12", actor=ACTOR, card_id=card.pk
        )

    assert not Checkout.objects.exists() and not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_checkout_and_its_payment_are_committed_before_the_gateway_is_asked(
    customer, shop, monkeypatch
):
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)
    seen = []
    real = SandboxGateway.card_charge

    def charge(self, **kwargs):
        seen.append(
            (
                connection.in_atomic_block,
                list(Checkout.objects.values_list("status", flat=True)),
                list(Payment.objects.values_list("status", flat=True)),
            )
        )
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "card_charge", charge)
    checkout = services.checkout_with_card(
        account=customer, idempotency_key="k13", actor=ACTOR, card_id=card.pk
    )

    # no transaction open while the gateway is asked: both rows were committed by then
    assert seen == [(False, ["pending"], ["pending"])]
    assert checkout.status == "completed" and checkout.payment.status == "succeeded"


def test_the_rows_every_checkout_waits_for_are_written_last(customer, shop):
    """Decision 0034: the operator's ledger accounts (locked by the checkout's posting) and the
    invoice number are held until commit, so every other write comes before them: after
    the checkout is marked completed, only the ledger's posting and the invoice's number and
    row are written."""
    fill(customer, shop)
    card = add_card(customer, SUCCEEDS)
    with CaptureQueriesContext(connection) as captured:
        checkout = services.checkout_with_card(
            account=customer, idempotency_key="k-last", actor=ACTOR, card_id=card.pk
        )
    assert checkout.status == "completed"
    statements = [" ".join(query["sql"].split()) for query in captured]
    completed = next(
        i
        for i, sql in enumerate(statements)
        if sql.startswith("UPDATE basket_checkout SET status = 'completed'")
    )
    after = statements[completed + 1 :]
    tables = [set(re.findall(r'(?:FROM|INTO|UPDATE|JOIN) "?(\w+)"?', sql)) for sql in after]
    touched = set().union(*tables)
    assert {"invoicing_invoicesequence", "invoicing_invoice"} <= touched
    assert all(
        name.startswith("ledger_") or name in ("invoicing_invoicesequence", "invoicing_invoice")
        for name in touched
    ), touched
    number = next(i for i, names in enumerate(tables) if "invoicing_invoicesequence" in names)
    assert any(name.startswith("ledger_") for name in set().union(*tables[:number]))
    assert tables[number + 1] == {"invoicing_invoice"}  # the invoice's row, then only commit
    assert not set().union(*tables[number + 2 :])
