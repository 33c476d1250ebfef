from django import template

from billtone.core.money import Money

register = template.Library()


@register.simple_tag
def money(value: Money, locale: str = "en") -> str:
    """Format Money with Babel in the account's locale."""
    return value.format(locale)
