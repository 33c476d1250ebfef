from dataclasses import dataclass
from typing import Any

from billtone.core import clock
from billtone.core.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token, or the system itself."""

    label: str
    user_id: int | None = None

    @classmethod
    def system(cls, what: str = "system") -> "Actor":
        return cls(label=what)


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: Any,
    changes: dict[str, list[Any]] | None = None,
    account_id: int | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        account_id=account_id,
        actor_id=actor.user_id,
        actor_label=actor.label[:200],
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        changes=changes or {},
        created_at=clock.now(),
    )


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [_plain(before.get(name)), _plain(value)]
        for name, value in after.items()
        if before.get(name) != value
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool | float):
        return value
    return str(value)
