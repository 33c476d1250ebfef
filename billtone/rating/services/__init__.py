"""Writes of the rating app, split by sub-domain; import them from here."""

from billtone.rating.services.decks import rate_deck_import, rate_deck_save

__all__ = [
    "rate_deck_import",
    "rate_deck_save",
]
