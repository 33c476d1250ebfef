"""The :86: details of an MT940 entry, read in the two common structured dialects: German GVC
subfields (051?00Gutschrift?20...?32name?31IBAN) with their SEPA keywords (EREF+, SVWZ+),
and Dutch /KEY/ fields (/EREF/ /CNTP/ /NAME/ /REMI/). Anything else is free text, unwrapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billtone.reconciliation.statements.entries import iban_like

LINE_WIDTH = 65  # SWIFT lines are 65 characters; a full line was wrapped mid-word


@dataclass(frozen=True, slots=True)
class Details:
    name: str = ""
    iban: str = ""
    free_text: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""


_GVC_RE = re.compile(r"^\d{3}\?\d\d")
_GVC_FIELD_RE = re.compile(r"\?(\d\d)")
_SEPA_KEY_RE = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|PURP|COAM|OAMT|SQTP)\+"
)
_DUTCH_KEYS = (
    "EREF|ORDP|BENM|NAME|ADDR|REMI|ISDT|CNTP|RTRN|PREF|MARF|CSID|BUSP|ULTC|ULTD|ULTB|PURP|IBAN|"
    "BIC|TRCD|SUM|CDTRREF|CDTRREFTP|CODE|ISSR"
)
_DUTCH_RE = re.compile(rf"/({_DUTCH_KEYS})/")
GVC_FIELD_WIDTH = 27


def parse_details(raw: str) -> Details:
    """Read the :86: text in the German GVC or the Dutch /KEY/ dialect, else as free text."""
    if not raw:
        return Details()
    lines = raw.split("\n")
    if _GVC_RE.match(raw):
        return _gvc_details("".join(lines))
    text = unwrap(lines, first_line_offset=len(":86:"))
    if len(_DUTCH_RE.findall(text)) >= 2 or text.startswith(("/EREF/", "/REMI/", "/ORDP/")):
        return _dutch_details(text)
    return Details(free_text=text)


def unwrap(lines: list[str], *, width: int = LINE_WIDTH, first_line_offset: int = 0) -> str:
    """Lines hard-wrapped at `width` joined back: a full line continues on the next one."""
    result = ""
    for index, line in enumerate(lines):
        line = line.rstrip()
        if not line:
            continue
        if result:
            previous = len(lines[index - 1].rstrip()) + (first_line_offset if index == 1 else 0)
            result += "" if previous >= width else " "
        result += line
    return result


def _join_fields(parts: list[str], width: int = GVC_FIELD_WIDTH) -> str:
    """GVC subfields joined: a full subfield was cut mid-word, a shorter one ended a word."""
    result = previous = ""
    for part in parts:
        if result:
            result += "" if len(previous) >= width else " "
        result += part
        previous = part
    return result.strip()


def _gvc_details(text: str) -> Details:
    pieces = _GVC_FIELD_RE.split(text)
    fields: dict[str, list[str]] = {}
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        fields.setdefault(code, []).append(value)
    purpose = [
        v
        for code in sorted(fields)
        if "20" <= code <= "29" or "60" <= code <= "63"
        for v in fields[code]
    ]
    name = _join_fields(fields.get("32", []) + fields.get("33", []))
    iban = iban_like(" ".join(fields.get("31", [])))
    free_text = _join_fields(purpose)
    end_to_end = ""
    keys = list(_SEPA_KEY_RE.finditer(free_text))
    if keys:
        values: dict[str, str] = {}
        for k, match in enumerate(keys):
            stop = keys[k + 1].start() if k + 1 < len(keys) else len(free_text)
            values.setdefault(match.group(1), free_text[match.end() : stop].strip())
        end_to_end = values.get("EREF", "")
        iban = iban or iban_like(values.get("IBAN", ""))
        free_text = values.get("SVWZ", "") or free_text[: keys[0].start()].strip() or free_text
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    return Details(name=name, iban=iban, free_text=free_text, end_to_end_id=end_to_end)


def _dutch_details(text: str) -> Details:
    pieces = _DUTCH_RE.split(text)
    values: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        values.setdefault(key, value.strip())
    counterparty = values.get("CNTP", "").split("/")  # IBAN/BIC/name/city
    name = values.get("NAME", "").strip("/ ") or (
        counterparty[2].strip() if len(counterparty) > 2 else ""
    )
    iban = iban_like(counterparty[0]) or iban_like(values.get("IBAN", "").strip("/"))
    remittance = values.get("REMI", "")
    structured = ""
    if remittance.startswith("USTD/"):
        remittance = remittance.removeprefix("USTD/").lstrip("/")
    elif remittance.startswith("STRD/"):
        # "STRD/CUR/9001123412341234/" or "STRD/ISO/RF18539007547034/": issuer, reference
        parts = remittance.split("/")
        structured = parts[2].strip() if len(parts) > 2 else ""
        remittance = ""
    structured = structured or values.get("CDTRREF", "").strip("/ ")
    end_to_end = values.get("EREF", "").strip("/ ")
    return Details(
        name=name,
        iban=iban,
        free_text=remittance.rstrip("/ ").strip(),
        structured_reference=structured,
        end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
    )
