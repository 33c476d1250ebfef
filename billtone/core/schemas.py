from ninja import Schema


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: dict[str, list[str]] | None = None


class AuditEntryOut(Schema):
    id: int
    created_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict

    @staticmethod
    def resolve_created_at(obj) -> str:
        return obj.created_at.isoformat()

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label
