"""The Manual Topup amounts the operator offers ("10,20,50,100"): read with core.money's
rules, the same in every currency the operator accepts."""

from billtone.core.money import AmountError, Money, amount_parse

MAX_VALUES = 8


def quick_add_parse(text: str, *, currency: str) -> list[Money]:
    """The amounts in `text`, in `currency`, ascending; AmountError says what is wrong."""
    parts = [part.strip() for part in (text or "").split(",")]
    if not any(parts):
        raise AmountError("Enter at least one amount, such as 10,20,50,100.")
    if not all(parts):
        raise AmountError("Separate the amounts by single commas, such as 10,20,50,100.")
    if len(parts) > MAX_VALUES:
        raise AmountError(f"Offer at most {MAX_VALUES} amounts.")
    amounts = []
    for part in parts:
        try:
            amount = amount_parse(part, currency)
        except AmountError as error:
            raise AmountError(f"“{part}”: {error}") from None
        if amount.amount <= 0:
            raise AmountError(f"“{part}”: each amount is more than zero.")
        amounts.append(amount)
    if len(set(amounts)) != len(amounts):
        raise AmountError("Each amount once, please.")
    return sorted(amounts)
