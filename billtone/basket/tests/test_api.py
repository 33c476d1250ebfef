"""/api/v1/basket and /api/v1/checkout: the same rules as the pages, problems as RFC 9457."""

import json

from billtone.basket.models import BasketLine, Checkout
from billtone.invoicing.models import Invoice

from .conftest import fund

JSON = "application/json"


def test_basket_and_checkout_through_the_api(customer, shop, api):
    assert (
        api.post(
            "/api/v1/basket/lines", {"kind": "number", "number_id": shop.numbers[0].pk}
        ).status_code
        == 201
    )
    added = api.post("/api/v1/basket/lines", {"kind": "credit_pack", "product_id": shop.pack10.pk})
    line_id = next(line["id"] for line in added.json()["lines"] if line["kind"] == "credit_pack")

    changed = api.patch(
        f"/api/v1/basket/lines/{line_id}", json.dumps({"quantity": 3}), content_type=JSON
    )
    basket = api.get("/api/v1/basket").json()

    assert changed.status_code == 200
    assert [(line["kind"], line["quantity"]) for line in basket["lines"]] == [
        ("number", 1),
        ("credit_pack", 3),
    ]
    assert basket["lines"][0]["billing"] == "monthly" and basket["lines"][0]["period_start"]
    fund(customer, basket["gross"])
    paid = api.post(
        "/api/v1/checkout",
        {"method": "funds", "quote_token": basket["quote_token"]},
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )
    assert paid.status_code == 201, paid.json()
    body = paid.json()
    assert body["status"] == "completed" and body["gross"] == basket["gross"]
    assert Invoice.objects.get(pk=body["invoice_id"]).number == body["invoice_number"]
    assert api.get("/api/v1/basket").json()["lines"] == []


def test_api_errors_are_problems(customer, other_account, shop, api, other_api):
    api.post("/api/v1/basket/lines", {"kind": "credit_pack", "product_id": shop.pack10.pk})
    line = BasketLine.objects.get()

    zero = api.post(
        "/api/v1/basket/lines", {"kind": "credit_pack", "product_id": shop.pack10.pk, "quantity": 0}
    )
    not_sold = api.post(
        "/api/v1/basket/lines", {"kind": "store_item", "product_id": shop.gbp_only.pk}
    )
    theirs = other_api.patch(
        f"/api/v1/basket/lines/{line.pk}", json.dumps({"quantity": 2}), content_type=JSON
    )
    short = api.post("/api/v1/checkout", {"method": "funds"}, HTTP_IDEMPOTENCY_KEY="pay-2")
    stale = api.post(
        "/api/v1/checkout",
        {"method": "funds", "quote_token": "0" * 32},
        HTTP_IDEMPOTENCY_KEY="pay-3",
    )

    assert (zero.status_code, zero["Content-Type"]) == (422, "application/problem+json")
    assert "greater than or equal to 1" in zero.json()["errors"]["quantity"][0]
    assert not_sold.status_code == 422 and "not sold in EUR" in not_sold.json()["detail"]
    assert theirs.status_code == 404
    assert short.status_code == 409 and short.json()["type"].endswith("/insufficient-funds")
    assert short.json()["shortfall"] == "11.90"  # 10.00 + 19 % VAT
    assert stale.status_code == 409 and stale.json()["type"].endswith("/quote-changed")
    assert not Checkout.objects.exists()


def test_a_declined_card_is_a_402_naming_the_checkout(customer, shop, api):
    api.post("/api/v1/basket/lines", {"kind": "credit_pack", "product_id": shop.pack10.pk})
    card = {
        "number": "4000000000000002",
        "exp_month": 11,
        "exp_year": 2035,
        "cvc": "737",
        "holder_name": "Ada",
    }

    declined = api.post(
        "/api/v1/checkout", {"method": "new_card", "card": card}, HTTP_IDEMPOTENCY_KEY="pay-4"
    )

    assert declined.status_code == 402
    assert declined.json()["checkout_id"] == Checkout.objects.get(status="failed").pk
    assert BasketLine.objects.count() == 1
