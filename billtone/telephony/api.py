from ninja import Router
from ninja.pagination import paginate

from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem
from billtone.telephony import selectors
from billtone.telephony.schemas import PhoneNumberOut, PhoneUserOut

router = Router(tags=["users and numbers"])

ERRORS = {401: Problem, 403: Problem}


@router.get("/phone-users", response={200: list[PhoneUserOut], **ERRORS})
@paginate(PagePagination)
def phone_user_list(request, include_cancelled: bool = False):
    """The account's phone users by extension; cancelled ones with `include_cancelled`. New
    users are added through the basket (`/api/v1/basket`)."""
    return selectors.phone_users_list(
        account=request.auth.account, include_cancelled=include_cancelled
    )


@router.get("/phone-numbers", response={200: list[PhoneNumberOut], **ERRORS})
@paginate(PagePagination)
def phone_number_list(request):
    """The numbers the account has (assigned) or holds in its basket (held)."""
    return selectors.phone_numbers_list(account=request.auth.account)
