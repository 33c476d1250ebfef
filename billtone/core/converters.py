"""`<id:…>` in the panel's and back office's URLs: a row id, or no match (a 404).

Django's `<int:…>` takes any number of digits, and a written query hands the number to the
database as it is (SQLite cannot compare one beyond 64 bits: a 500). The API's paths bound
their ids with `core.schemas.RowId`; these URLs with this converter.
"""

from billtone.core.rows import is_row_id


class RowIdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not is_row_id(number):
            raise ValueError(value)  # the URL does not match: a 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))
