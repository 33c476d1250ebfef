"""Write a hostile camt.053: a valid document whose bulk is millions of small elements where
no entry is, to check that the importer reads any file in bounded memory.

The padding goes where the reader keeps nothing: in the group header (`grphdr`, the file of
issue 14: 10 million elements, ~200 MB), in a statement's header before its entries (`stmt`),
after the statement (`trailer`, in the document's supplementary data), or in the SWIFT
envelope's application header before the Document (`envelope`). The statement then holds
`--entries` ordinary credits (none by default, as in issue 14). The file is written in
pieces, so its size needs no memory.

    python bench/gen_hostile_camt053.py hostile.xml                       # 10,000,000 in GrpHdr
    python bench/gen_hostile_camt053.py small.xml --elements 500000 --where stmt --entries 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
PLACES = ("grphdr", "stmt", "trailer", "envelope")
# Small elements of names the schema has near each place (free text of the group header and
# of the statement, supplementary data, the envelope's related header).
PAD = {
    "grphdr": "<AddtlInf>x</AddtlInf>",
    "stmt": "<AddtlStmtInf>x</AddtlStmtInf>",
    "trailer": "<Envlp>x</Envlp>",
    "envelope": "<h:Rltd>x</h:Rltd>",
}


def _padding(out, place: str, elements: int) -> None:
    piece = PAD[place] * 10_000
    for _ in range(elements // 10_000):
        out.write(piece)
    out.write(PAD[place] * (elements % 10_000))


def _entry(number: int) -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">{number}.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>H{number}</AcctSvcrRef>"
        "<NtryDtls><TxDtls><RmtInf><Ustrd>no reference</Ustrd></RmtInf></TxDtls></NtryDtls>"
        "</Ntry>"
    )


def write_hostile_camt053(
    path: Path, *, elements: int = 10_000_000, where: str = "grphdr", entries: int = 0
) -> Path:
    """Write the file; returns its path."""
    if where not in PLACES:
        raise ValueError(f"where: one of {', '.join(PLACES)}")
    total = sum(range(1, entries + 1))
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        if where == "envelope":
            out.write(
                '<Envelope xmlns="urn:swift:xsd:envelope" '
                'xmlns:h="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><h:AppHdr>'
            )
            _padding(out, where, elements)
            out.write("</h:AppHdr>")
        out.write(f'<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>')
        out.write("<GrpHdr><MsgId>HOSTILE-1</MsgId><CreDtTm>2026-03-02T18:00:00</CreDtTm>")
        if where == "grphdr":
            _padding(out, where, elements)
        out.write("</GrpHdr>")
        out.write(
            "<Stmt><Id>HOSTILE-1</Id><CreDtTm>2026-03-02T18:00:00</CreDtTm>"
            "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>"
            f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{total}.00</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>"
        )
        if where == "stmt":
            _padding(out, where, elements)
        for number in range(1, entries + 1):
            out.write(_entry(number))
        out.write("</Stmt>")
        if where == "trailer":
            out.write("<SplmtryData>")
            _padding(out, where, elements)
            out.write("</SplmtryData>")
        out.write("</BkToCstmrStmt></Document>")
        if where == "envelope":
            out.write("</Envelope>")
        out.write("\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--elements", type=int, default=10_000_000)
    parser.add_argument("--where", choices=PLACES, default="grphdr")
    parser.add_argument("--entries", type=int, default=0)
    options = parser.parse_args()
    path = write_hostile_camt053(
        options.path, elements=options.elements, where=options.where, entries=options.entries
    )
    print(f"{path}: {path.stat().st_size / 2**20:,.0f} MiB, {options.elements:,} elements")


if __name__ == "__main__":
    main()
