"""A store item's stock, taken when it is sold. Other apps never write `Product.stock`
themselves: checkout calls `product_stock_take` inside its own transaction, so that a refusal
there rolls the sale back with everything else."""

from django.db.models import F, Q

from billtone.catalog.models import Product
from billtone.core.errors import NotFound, ValidationFailed


def product_stock_take(*, product_id: int, quantity: int) -> bool:
    """Take `quantity` of the product from its stock: True if taken, False if fewer are left
    (nothing taken). A product whose stock is not counted (null) is always taken, its stock
    left null. One conditional UPDATE (`stock >= quantity`), so concurrent sales never take
    the stock below 0, with or without locks; run it inside the sale's transaction."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationFailed({"quantity": ["Take at least one."]})
    # NULL - quantity stays NULL: a stock not counted is left as it is.
    taken = (
        Product.objects.filter(pk=product_id)
        .filter(Q(stock__isnull=True) | Q(stock__gte=quantity))
        .update(stock=F("stock") - quantity)
    )
    if taken:
        return True
    if not Product.objects.filter(pk=product_id).exists():
        raise NotFound("No such product.")
    return False
