"""The rating core alone: CDRs priced per second on one core (issue 19: 200,000/s or more).

For each CDR, `PrefixTable.lookup` (longest prefix of the dialled E.164 number) and
`call_cost` (increments applied, connection fee, rounded once by money.round_rated), the
costs summed as a checksum. No database, no Django: the core as the CDR ingestion and the
authorization call it.

The deck: 50,000 prefixes as A-Z wholesale decks hold them: every country code of the
numbering plan (phonenumbers' list), then longer prefixes inside them (area codes, mobile
ranges, operators: 1 to 6 more digits), more of them in the large countries, at prices of
0.0010 to 0.9000 per minute, with 60/60, 30/6, 1/1 and 6/6 increments and some connection
fees. The CDRs: E.164 numbers of 8 to 15 digits drawn from the deck's countries (weighted as
traffic is: most calls to a few countries), 3 % to country codes no deck has (no match),
billsec 0 for 5 %, else exponential around 2 minutes. Seeded: every run rates the same CDRs.

    .venv/bin/python bench/rating_core.py [--cdrs 1000000] [--prefixes 50000] [--runs 5]
    .venv/bin/python bench/rating_core.py --profile          # pyinstrument, one run

Reports each run's CDRs per second of CPU time (time.process_time: this process only, which
on a shared machine says more than wall time; wall time is printed too) and the median.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402

from billtone.rating.core import PrefixTable, Tariff, call_cost  # noqa: E402

INCREMENTS = [(60, 60), (30, 6), (1, 1), (6, 6)]
UNKNOWN_CODES = ["28", "83", "89", "801", "999", "969", "292"]  # no country has them


def deck_make(size: int, rng: random.Random) -> list[Tariff]:
    codes = sorted(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    big = {"1", "7", "33", "34", "39", "44", "49", "52", "55", "61", "62", "86", "91", "234"}
    weights = [40 if code in big else 1 for code in codes]
    prefixes = set(codes)
    while len(prefixes) < size:
        code = rng.choices(codes, weights)[0]
        prefixes.add(code + "".join(rng.choices("0123456789", k=rng.randint(1, 6))))
    tariffs = []
    for prefix in sorted(prefixes):
        per_minute = Decimal(rng.randint(10, 9000)).scaleb(-4)
        fee = Decimal(rng.choice([0, 0, 0, 0, 50, 100])).scaleb(-4)
        initial, subsequent = rng.choice(INCREMENTS)
        tariffs.append(
            Tariff(prefix, f"Destination {prefix}", per_minute, fee, initial, subsequent)
        )
    return tariffs


def cdrs_make(count: int, tariffs: list[Tariff], rng: random.Random) -> list[tuple[str, int]]:
    codes = [t.prefix for t in tariffs if t.prefix in _country_codes()]
    traffic = [rng.paretovariate(1.2) for _ in codes]  # a few countries take most calls
    longer = [t.prefix for t in tariffs if t.prefix not in _country_codes()]
    cdrs = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.03:
            start = rng.choice(UNKNOWN_CODES)
        elif draw < 0.55:
            start = rng.choice(longer)  # a number inside a deck's area or mobile range
        else:
            start = rng.choices(codes, traffic)[0]
        length = max(len(start) + 2, rng.randint(8, 15))
        number = start + "".join(rng.choices("0123456789", k=length - len(start)))
        billsec = 0 if rng.random() < 0.05 else int(rng.expovariate(1 / 120)) + 1
        cdrs.append((number[:15], billsec))
    return cdrs


def _country_codes() -> set[str]:
    return {str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


def rate_all(table: PrefixTable, cdrs: list[tuple[str, int]]) -> tuple[int, Decimal]:
    """The loop measured: lookup and cost for every CDR; (rated, total cost)."""
    lookup = table.lookup
    rated = 0
    total = Decimal(0)
    for number, billsec in cdrs:
        tariff = lookup(number)
        if tariff is not None:
            rated += 1
            total += call_cost(tariff, billsec)
    return rated, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--profile", action="store_true", help="pyinstrument, one run")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    tariffs = deck_make(args.prefixes, rng)
    table = PrefixTable(tariffs)
    cdrs = cdrs_make(args.cdrs, tariffs, rng)
    lengths = sorted({len(t.prefix) for t in tariffs})
    print(
        f"deck: {len(table):,} prefixes of {lengths[0]}-{lengths[-1]} digits; CDRs: {len(cdrs):,}"
    )
    if args.profile:
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as profiler:
            rate_all(table, cdrs)
        profiler.print(show_all=False)
        return

    speeds, walls = [], []
    for run in range(1, args.runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        rated, total = rate_all(table, cdrs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        speeds.append(len(cdrs) / cpu)
        walls.append(len(cdrs) / wall)
        print(
            f"run {run}: {len(cdrs) / cpu:,.0f} CDRs/s of CPU ({cpu:.2f} s CPU, {wall:.2f} s "
            f"wall); rated {rated:,}, no match {len(cdrs) - rated:,}, total {total}"
        )
    print(
        f"median of {args.runs} runs: {statistics.median(speeds):,.0f} CDRs/s of CPU "
        f"(one core); {statistics.median(walls):,.0f} CDRs/s of wall time"
    )


if __name__ == "__main__":
    main()
