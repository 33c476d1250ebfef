import pytest

from billtone.accounts.models import Account
from billtone.core.rows import ModelColumns


def test_only_some_columns_give_a_deferred_instance_that_cannot_insert(account):
    part = ModelColumns(Account, "a", only=["created_at"])
    assert part.names == ["id", "created_at"]
    (found,) = part.fetch(f"SELECT {part.select} FROM {part.table} WHERE a.id = %s", [account.pk])
    assert (found.pk, found.created_at) == (account.pk, account.created_at)
    assert found.get_deferred_fields() == {"name"}
    with pytest.raises(TypeError):
        part.insert(Account(name="x", created_at=account.created_at))
