"""The demo's calls: a carrier's rate deck per currency, auto top-up for Acme and a fortnight
of Acme's calls from its reception (extension 10) rated into call charges, recorded through
rating's own services. Running again changes nothing: a deck is imported once per currency,
the calls keep their switch ids (a CDR sent again is a duplicate), the settings are saved as
they are."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.rating.cdrs import CallRecord, Disposition
from billtone.rating.models import AutoTopUp, RateDeck
from billtone.rating.services import cdrs_ingest, rate_deck_import
from billtone.rating.services.topup import (
    AutoTopUpInput,
    auto_top_up_check,
    auto_top_up_settings_save,
)

# As carriers publish them: prefix, destination, price per minute, connection fee, increments.
DECK = b"""Prefix,Destination,Rate,Connection Fee,Increments
1,United States,0.0100,0,6/6
31,Netherlands,0.0200,0,60/60
316,Netherlands - Mobile,0.1000,0.0100,30/6
33,France,0.0250,0,60/60
336,France - Mobile,0.1200,0.0100,30/6
44,United Kingdom,0.0200,0,60/60
447,United Kingdom - Mobile,0.0800,0.0100,30/6
49,Germany,0.0150,0,60/60
4930,Germany - Berlin,0.0120,0,60/60
4915,Germany - Mobile,0.0900,0.0100,30/6
4916,Germany - Mobile,0.0900,0.0100,30/6
4917,Germany - Mobile,0.0900,0.0100,30/6
"""

# Days ago, hour, dialled as the reception dialled it, disposition, billed seconds.
CALLS = [
    (13, 9, "030 12345678", Disposition.ANSWERED, 185),
    (12, 11, "0151 23456789", Disposition.ANSWERED, 47),
    (10, 14, "+44 20 7946 0958", Disposition.ANSWERED, 600),
    (9, 10, "0031 20 555 0100", Disposition.ANSWERED, 95),
    (8, 16, "0170 1234567", Disposition.NO_ANSWER, 0),
    (7, 9, "0176 98765432", Disposition.BUSY, 0),
    (6, 13, "101", Disposition.ANSWERED, 30),  # another extension: not a phone call
    (5, 15, "*97", Disposition.ANSWERED, 20),  # voicemail
    (4, 12, "+1 212 555 0188", Disposition.ANSWERED, 1260),
    (3, 10, "0221 4567890", Disposition.ANSWERED, 342),
    (2, 17, "0033 6 12 34 56 78", Disposition.ANSWERED, 128),
    (1, 9, "030 98765432", Disposition.ANSWERED, 75),
]


def demo_rate_decks(actor: Actor) -> None:
    """The carrier's deck in EUR and in GBP, in force from the start of last month."""
    first = clock.now().date().replace(day=1)
    start = datetime.combine((first - timedelta(days=1)).replace(day=1), time(), ZoneInfo("UTC"))
    for currency in ("EUR", "GBP"):
        if not RateDeck.objects.filter(currency=currency).exists():
            rate_deck_import(
                data=DECK,
                name=f"Carrier A-Z ({currency})",
                currency=currency,
                effective_from=start,
                source_name=f"carrier-a-z-{currency.lower()}.csv",
                actor=actor,
            )


def demo_calls(account: Account, actor: Actor) -> None:
    """Auto top-up on (20.00 whenever credit falls below 25.00: one top-up at once), then
    the reception's calls of the last fortnight, rated."""
    currency = account.billing_profile.currency
    if not AutoTopUp.objects.filter(account=account).exists():  # set once, as a customer would
        auto_top_up_settings_save(
            account=account,
            data=AutoTopUpInput(
                enabled=True,
                value=Money("20", currency),
                threshold=Money("25", currency),
                low_credit_level=Money("10", currency),
            ),
            actor=actor,
        )
        auto_top_up_check(account_id=account.pk)  # as saving does after commit
    zone = ZoneInfo(account.billing_profile.timezone)
    today = clock.now().astimezone(zone).date()
    records = []
    for n, (days_ago, hour, dialled, disposition, billsec) in enumerate(CALLS, start=1):
        started = datetime.combine(today - timedelta(days=days_ago), time(hour), zone)
        answered = disposition == Disposition.ANSWERED
        records.append(
            CallRecord(
                call_id=f"demo-{account.pk}-{n}",
                account_code=str(account.pk),
                source="10",
                destination=dialled,
                started_at=started,
                answered_at=started + timedelta(seconds=8) if answered else None,
                billsec=billsec,
                disposition=disposition,
            )
        )
    cdrs_ingest(records=records, source="demo switch", actor=actor)
