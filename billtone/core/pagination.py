"""Page pagination for every list in the API (?page=1&page_size=50), and the one rule for
pages that people and clients ask for: from 1 to the last page of the result set.

MAX_PAGE bounds the number where it is parsed (so no offset can overflow a 64-bit integer
before the list is counted); page_check then refuses a page past the last one, with a 422 that
says how many pages there are, rather than an empty page that looks like the end of a list.
"""

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from billtone.core.errors import ValidationFailed

MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000


def page_count(*, count: int, page_size: int) -> int:
    """How many pages `count` items fill; an empty list still has its page 1."""
    return max(1, -(-count // page_size))


def page_check(*, page: int, page_size: int, count: int) -> None:
    """ValidationFailed on `page` unless it is a page of the result set."""
    last = page_count(count=count, page_size=page_size)
    if not 1 <= page <= last:
        pages = "1 page" if last == 1 else f"{last} pages"
        raise ValidationFailed(
            {"page": [f"There is no page {page}: this list has {pages} of {page_size}."]}
        )


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="from 1 to the last page")
        page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    class Output(Schema):
        items: list[Any]
        count: int
        page: int
        page_size: int
        has_next: bool

    items_attribute = "items"

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, **params: Any) -> dict:
        count = queryset.count()
        page_check(page=pagination.page, page_size=pagination.page_size, count=count)
        offset = (pagination.page - 1) * pagination.page_size
        items = list(queryset[offset : offset + pagination.page_size])
        return {
            "items": items,
            "count": count,
            "page": pagination.page,
            "page_size": pagination.page_size,
            "has_next": offset + len(items) < count,
        }
