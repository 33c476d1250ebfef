from ninja import Router
from ninja.pagination import paginate

from billtone.core import selectors
from billtone.core.pagination import PagePagination
from billtone.core.schemas import AuditEntryOut, Problem

router = Router(tags=["audit"])


@router.get("/audit-log", response={200: list[AuditEntryOut], 401: Problem, 403: Problem})
@paginate(PagePagination)
def audit_log(request):
    """The account's audit log, newest first: who changed what, and when."""
    return selectors.audit_entry_list(account_id=request.auth.account.pk)
