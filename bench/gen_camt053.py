"""Write a camt.053.001.08 statement of N credit entries, for import benchmarks and tests.

A share of the entries carries one of the given creditor references, written the ways
customers do: as a structured reference, or in the free text formatted, in lower case,
inside other words, or split across two lines. The rest carries none, or one whose check
digits are wrong. The file is written entry by entry, so 100,000 entries need no memory.

    python bench/gen_camt053.py statement.xml --entries 100000 --matched 0.9 \\
        --references refs.txt          # one RF reference a line
    python bench/gen_camt053.py statement.xml --entries 1000 --random-references 50
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from stdnum import iban
from stdnum.iso7064 import mod_97_10

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
PLACEMENTS = ("structured", "formatted", "lower", "embedded", "split")


@dataclass
class GeneratedStatement:
    path: Path
    entries: int
    total: Decimal
    with_reference: int = 0
    with_invalid_reference: int = 0
    without_reference: int = 0
    expected: list[str] = field(default_factory=list)  # per entry: its reference, or ""


def _amounts(seed: int, entries: int):
    rng = random.Random(f"amounts-{seed}")
    for _ in range(entries):
        yield Decimal(rng.randrange(1000, 50000)) / 100


def _balance(code: str, amount: Decimal, currency: str, day: date) -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{amount}'
        f"</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def _iban(rng: random.Random) -> str:
    bban = f"{rng.randrange(10**8):08d}{rng.randrange(10**10):010d}"
    return "DE" + iban.calc_check_digits("DE00" + bban) + bban


def _grouped(reference: str) -> str:
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def _broken(reference: str) -> str:
    """The same reference with check digits that do not hold."""
    digits = int(reference[2:4])
    return f"RF{(digits + 1) % 100:02d}{reference[4:]}"


def _remittance(rng: random.Random, reference: str, placement: str) -> tuple[str, list[str]]:
    """(structured reference, free-text lines) for one entry."""
    invoice = f"invoice {rng.randrange(10**5):05d}"
    if placement == "structured":
        return reference, [f"Payment {invoice}"]
    if placement == "formatted":
        return "", [f"Top-up {_grouped(reference)} {invoice}"]
    if placement == "lower":
        return "", [f"{invoice} ref {reference.lower()} thanks"]
    if placement == "embedded":
        return "", [f"ACME-{reference}/{invoice}"]
    cut = rng.randrange(5, len(reference) - 1)
    return "", [f"funds {reference[:cut]}", f"{reference[cut:]} {invoice}"]


def _entry_xml(
    number: int,
    amount: Decimal,
    currency: str,
    booked: date,
    payer: str,
    payer_iban: str,
    structured: str,
    lines: list[str],
) -> str:
    strd = (
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        f"<Ref>{escape(structured)}</Ref></CdtrRefInf></Strd>"
        if structured
        else ""
    )
    ustrd = "".join(f"<Ustrd>{escape(line)}</Ustrd>" for line in lines)
    day = booked.isoformat()
    return (
        f'<Ntry><NtryRef>{number}</NtryRef><Amt Ccy="{currency}">{amount}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>GEN{booked:%Y%m%d}{number:09d}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>{escape(payer)}</Nm></Pty></Dbtr>"
        f"<DbtrAcct><Id><IBAN>{payer_iban}</IBAN></Id></DbtrAcct></RltdPties>"
        f"<RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )


def write_camt053(
    path: str | Path,
    *,
    entries: int,
    references: Sequence[str] = (),
    matched_share: float = 0.9,
    invalid_share: float = 0.5,
    seed: int = 0,
    account_iban: str = "DE89370400440532013000",
    currency: str = "EUR",
    first_day: date = date(2025, 1, 6),
) -> GeneratedStatement:
    """Write the file; `matched_share` of the entries (when references are given) carry one,
    `invalid_share` of the others one with wrong check digits, the rest none."""
    rng = random.Random(seed)
    path = Path(path)
    # Balances come before the entries in camt.053, so the amounts are drawn twice from
    # one seed: once for the closing balance, once for the entries.
    total = sum(_amounts(seed, entries), Decimal(0))
    result = GeneratedStatement(path=path, entries=entries, total=total)
    body: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt><GrpHdr>'
            f"<MsgId>GEN-{seed}-{entries}</MsgId><CreDtTm>{first_day}T06:00:00</CreDtTm>"
            f"</GrpHdr><Stmt><Id>GEN-{seed}-{entries}</Id>"
            f"<Acct><Id><IBAN>{account_iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
            f"{_balance('OPBD', Decimal('0.00'), currency, first_day)}"
            f"{_balance('CLBD', total, currency, first_day)}"
            "<TxsSummry><TtlCdtNtries>"
            f"<NbOfNtries>{entries}</NbOfNtries><Sum>{total}</Sum></TtlCdtNtries>"
            "<TtlDbtNtries><NbOfNtries>0</NbOfNtries><Sum>0</Sum></TtlDbtNtries></TxsSummry>\n"
        )
        for number, amount in enumerate(_amounts(seed, entries), start=1):
            booked = first_day + timedelta(days=number * 7 // max(entries, 1))
            payer = f"Customer {rng.randrange(10**6)} GmbH"
            if references and rng.random() < matched_share:
                reference = rng.choice(references)
                structured, lines = _remittance(rng, reference, rng.choice(PLACEMENTS))
                result.with_reference += 1
                result.expected.append(reference)
            elif rng.random() < invalid_share and references:
                structured, lines = _remittance(rng, _broken(rng.choice(references)), "formatted")
                result.with_invalid_reference += 1
                result.expected.append("")
            else:
                structured, lines = "", [f"Payment invoice {rng.randrange(10**5):05d}"]
                result.without_reference += 1
                result.expected.append("")
            body.append(
                _entry_xml(number, amount, currency, booked, payer, _iban(rng), structured, lines)
            )
            if len(body) >= 1000:
                out.write("".join(body))
                body.clear()
        out.write("".join(body))
        out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--references", type=Path, help="file with one RF reference a line")
    parser.add_argument("--random-references", type=int, default=0, metavar="K")
    parser.add_argument("--matched", type=float, default=0.9, help="share with a reference")
    parser.add_argument("--invalid", type=float, default=0.5, help="share of the rest mistyped")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    references: list[str] = []
    if args.references:
        references = [r.strip() for r in args.references.read_text().splitlines() if r.strip()]
    if args.random_references:
        rng = random.Random(args.seed)
        references += [_reference(rng) for _ in range(args.random_references)]
    result = write_camt053(
        args.out,
        entries=args.entries,
        references=references,
        matched_share=args.matched,
        invalid_share=args.invalid,
        seed=args.seed,
    )
    print(
        f"{result.path}: {result.entries} credit entries, {result.total} in total; "
        f"{result.with_reference} with a reference, {result.with_invalid_reference} with a "
        f"mistyped one, {result.without_reference} without",
        file=sys.stderr,
    )
    return 0


def _reference(rng: random.Random) -> str:
    body = f"{rng.randrange(10**12):012d}"
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


if __name__ == "__main__":
    raise SystemExit(main())
