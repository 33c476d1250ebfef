from django.db.models import QuerySet

from billtone.core.models import AuditEntry


def audit_entry_list(*, account_id: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(account_id=account_id).select_related("actor")
