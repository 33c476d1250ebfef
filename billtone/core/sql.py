"""Lists as one PostgreSQL parameter, for the bulk paths' raw SQL.

A list goes to PostgreSQL as one text parameter split there (`SPLIT`, string_to_array): psycopg
adapts a Python list element by element, which cost more than the query, and a list of
thousands of constants (IN) costs more to plan than to run. US (0x1f) cannot occur in the
identities, references or numbers joined here.
"""

from collections.abc import Sequence

_US = "\x1f"
SPLIT = "string_to_array(%s, chr(31))"


def joined(values: Sequence) -> str:
    """The parameter for one `SPLIT` placeholder."""
    text = _US.join(map(str, values))
    assert text.count(_US) == max(len(values) - 1, 0), "a value holds the separator"
    return text
