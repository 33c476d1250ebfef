"""Bytes to numbered lines of text, and a line to its fields, as switches write them.

Switches write whatever bytes their callers' names arrive in: a caller id name in
Windows-1252 or Latin-1 among UTF-8 lines is common. Each line is decoded on its own
(UTF-8, else Windows-1252, else Latin-1, which decodes any byte), so one odd name never
spoils the file. A UTF-8 byte-order mark and CRLF line ends are dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from billtone.rating.cdrs.values import CSV, LineError

_BOM = b"\xef\xbb\xbf"


def line_decode(raw: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def lines_read(data: bytes) -> Iterator[tuple[int, str]]:
    """(line number from 1, text without its line end) of each line that is not blank."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        text = line_decode(raw.rstrip(b"\r"))
        if text.strip():
            yield number, text


def fields_split(text: str, delimiter: str = ",") -> list[str]:
    """The fields of one line: quoted ("..." with "" for a quote) or bare, values stripped.

    Skipping blanks after a comma reads FreeSWITCH templates written `, "${accountcode}"`.
    """
    try:
        rows = list(csv.reader([text], delimiter=delimiter, skipinitialspace=True, strict=True))
    except csv.Error as error:
        raise LineError(CSV, f"the line is not valid CSV ({error})") from None
    if len(rows) != 1:
        raise LineError(CSV, "the line is not valid CSV")
    return [field.strip() for field in rows[0]]


def delimiter_guess(header: str) -> str:
    """A generic export's separator, from its header: the most frequent of , ; tab |."""
    return max((",", ";", "\t", "|"), key=header.count)
